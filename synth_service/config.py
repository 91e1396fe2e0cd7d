"""Settings of the synthesis service (`LBI_SYNTH_*` and the common `LBI_*` variables)."""

from __future__ import annotations

from pydantic import Field

from lbi.config import RunnerSettings


class SynthSettings(RunnerSettings):
    """Includes the runner settings, used for the local runner a job gets when it names no endpoints."""

    synth_host: str = Field("127.0.0.1", description="Address the synthesis service binds.")
    synth_port: int = Field(50053, ge=0, le=65535, description="Port of the synthesis gRPC server.")
    synth_store_wait_s: float = Field(600.0, ge=0, description="How long ingest retries writes to an unavailable vector store before the job fails (resumable).")

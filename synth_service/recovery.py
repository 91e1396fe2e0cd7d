"""At a synthesis service's start: the jobs a previous process left RUNNING are resumed from their journal (a
SIGTERM, a rolling update, a crash), their runner pods adopted and every other runner pod deleted."""

from __future__ import annotations

import logging

from synth_service.engine import Engine

log = logging.getLogger(__name__)


async def recover(engine: Engine) -> list[str]:
    """Resumes the interrupted jobs; returns their ids."""
    running: set[str] = set(engine.running())
    interrupted = [j["id"] for j in engine.journal.jobs() if j["state"] == "RUNNING" and j["id"] not in running]
    await engine.runners.reconcile(set(interrupted))
    for job_id in interrupted:
        log.info("resuming job %s", job_id)
        engine.start(job_id)
    return interrupted

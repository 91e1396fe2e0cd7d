"""At a synthesis service's start: the jobs a previous process left RUNNING are resumed from their journal (a
SIGTERM, a rolling update, a crash), their runner pods adopted and every other runner pod deleted. A job whose
spec this service would not admit now (admission.py: its runners, pod template or models are no longer the
operator's, or its id is an online episode's) fails with the reason instead of resuming."""

from __future__ import annotations

import logging

from lbi.errors import InvalidArgument
from synth_service.admission import check_spec, is_batch_job
from synth_service.engine import Engine
from synth_service.spec import spec_from_dict

log = logging.getLogger(__name__)


def _admitted(engine: Engine, job: dict) -> bool:
    try:
        if not is_batch_job(job["id"]):
            raise InvalidArgument("job_id", "is an online episode's")
        check_spec(spec_from_dict(job["spec"]), engine.settings)
    except InvalidArgument as exc:
        log.warning("not resuming job %s: %s", job["id"], exc)
        engine.journal.set_job(job["id"], state="FAILED", error=f"not resumed: {exc}")
        return False
    return True


async def recover(engine: Engine) -> list[str]:
    """Resumes the interrupted jobs; returns their ids."""
    running: set[str] = set(engine.running())
    interrupted = [
        j["id"]
        for j in engine.journal.jobs()
        if j["state"] == "RUNNING" and j["id"] not in running and _admitted(engine, j)
    ]
    await engine.runners.reconcile(set(interrupted))
    for job_id in interrupted:
        log.info("resuming job %s", job_id)
        engine.start(job_id)
    return interrupted

"""What a job request may choose on this service: the places the service connects to, the pods it makes, the job id.

Some fields of a job spec decide where the synthesis service connects with its own credentials or what its service
account creates: `runner_endpoints` (the service calls them with its client token), `runners.template` (the pod the
service makes: containers, volumes, service account), `models` (litellm sends the job's prompts, and the service's
LLM API key, where a model's name says: another provider, or a URL for some providers). A request may choose only
what the operator configured (synth_service/config.py):

- `runner_endpoints`: `host:port`, matching `LBI_SYNTH_ALLOWED_RUNNER_ENDPOINTS` (glob patterns, e.g. the chart's
  standing pool); a job that names none runs on the service's own runners (its pods, its local runner);
- `runners.template`: only with `LBI_SYNTH_JOB_POD_TEMPLATES=true`; else pods come from the operator's template;
- `models`: the models the LLM settings configure, the offline backend, and `LBI_SYNTH_ALLOWED_MODELS` patterns.

Unset, each follows auth as lbi/paths.py does: with auth off (one user on their own machine, who is the operator)
a request names anything; with auth on, only what the operator listed. Every token is held to the same rules.

Job ids are the server's namespace: a request names an existing job (to resume it, if its token may write the job's
dataset) or a new id of its own, 1-100 letters, digits, '.', '_', '-'; never an id under which the journal holds rows
no job owns (an online episode's `online/<dataset>/<episode id>`), nor `job-...`, the server's id of another spec.
"""

from __future__ import annotations

import fnmatch
import re

from lbi.errors import InvalidArgument
from lbi.llm.litellm_setup import reads_inputs
from synth_service.config import SynthSettings
from synth_service.journal import Journal
from synth_service.online.learner import job_prefix
from synth_service.spec import JobSpec

_ENDPOINT = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):[0-9]{1,5}")
_JOB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
SERVER_IDS = "job-"  # JobSpec.job_id(): the server's id of a spec's content
ONLINE_IDS = job_prefix("")  # the online jobs' and their episodes' rows


def _auth_on(settings: SynthSettings) -> bool:
    return bool(settings.auth_tokens.strip())


def _matches(value: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(value.lower(), p.strip().lower()) for p in patterns if p.strip())


def check_runner_endpoints(spec: JobSpec, settings: SynthSettings) -> None:
    allowed = settings.synth_allowed_runner_endpoints
    if allowed is None and not _auth_on(settings):
        return
    for i, endpoint in enumerate(spec.runner_endpoints):
        field = f"spec.runner_endpoints[{i}]"
        if not _ENDPOINT.fullmatch(endpoint):
            raise InvalidArgument(field, "must be host:port")
        if not _matches(endpoint, allowed or []):
            raise InvalidArgument(
                field,
                "not a runner this service's operator allows (LBI_SYNTH_ALLOWED_RUNNER_ENDPOINTS); name none to use "
                "the service's own runners",
            )


def check_pod_template(spec: JobSpec, settings: SynthSettings) -> None:
    allowed = settings.synth_job_pod_templates
    if allowed is None:
        allowed = not _auth_on(settings)
    if spec.runners.template and not allowed:
        raise InvalidArgument(
            "spec.runners.template",
            "this service makes runner pods from its operator's template only (LBI_SYNTH_JOB_POD_TEMPLATES); "
            "leave it empty",
        )


def configured_models(settings: SynthSettings) -> set[str]:
    """The models the LLM settings name: the default, its fallbacks, the roles' and the Router model list's."""
    roles = {r.model for r in settings.llm_roles.values() if r.model}
    listed = {str(d.get("model_name", "")) for d in settings.llm_model_list}
    return {settings.llm_model, *settings.llm_fallbacks, *roles, *listed} - {""}


def check_models(spec: JobSpec, settings: SynthSettings) -> None:
    patterns = settings.synth_allowed_models
    if patterns is None and not _auth_on(settings):
        return
    known = configured_models(settings)
    m = spec.models
    named = [("instructor", m.instructor), ("policy", m.policy), ("labeller", m.labeller)]
    named += [(f"committee[{i}]", model) for i, model in enumerate(m.committee)]
    for field, model in named:
        if not model or model in known or reads_inputs(model) or _matches(model, patterns or []):
            continue
        raise InvalidArgument(
            f"spec.models.{field}",
            "not a model this service's operator configured (LBI_LLM_MODEL, LBI_LLM_FALLBACKS, LBI_LLM_ROLES, "
            "LBI_LLM_MODEL_LIST, LBI_SYNTH_ALLOWED_MODELS)",
        )


def check_spec(spec: JobSpec, settings: SynthSettings) -> None:
    """INVALID_ARGUMENT naming the first field of `spec` that chooses what this service's operator did not allow."""
    check_runner_endpoints(spec, settings)
    check_pod_template(spec, settings)
    check_models(spec, settings)


def check_new_job_id(job_id: str, spec: JobSpec, journal: Journal) -> None:
    """A job id a request names for a new job: its own name, not another's (INVALID_ARGUMENT `job_id` otherwise)."""
    if not _JOB_ID.fullmatch(job_id):
        raise InvalidArgument(
            "job_id", "must be 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    if job_id.startswith(SERVER_IDS) and job_id != spec.job_id():
        raise InvalidArgument("job_id", f"ids starting with {SERVER_IDS!r} are the server's; name the job otherwise")
    if journal.has_rows(job_id):
        raise InvalidArgument("job_id", "is taken; name the job otherwise")


def is_batch_job(job_id: str) -> bool:
    """False for ids in the online namespace: a job row there (made before ids were checked) is served to no one."""
    return not job_id.startswith(ONLINE_IDS)

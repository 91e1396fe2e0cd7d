"""The litellm Routers that carry every LLM call, one per model and settings, shared by the whole process.

A model's Router holds its deployment and its fallbacks' (`LBI_LLM_FALLBACKS`), each from `LBI_LLM_MODEL_LIST`
when an entry names it there (the entry's `litellm_params` merged over the defaults: timeout, `drop_params`, the
limits), else built from the settings. `LBI_LLM_API_BASE` and `LBI_LLM_API_KEY` belong to the default model's
deployment only: a fallback on another provider keeps its own base and key. Because Routers are shared, the
limits the Router enforces (`max_parallel_requests`, `rpm`, `tpm` per deployment) hold across every job, online
dataset and the retrieval query writer of one process.

Only transient errors are retried (litellm's rule: timeouts, 408, 409, 429, 5xx, connection errors); a bad
request, an authentication error or an exception inside a custom provider fails at once
(lbi.llm.litellm_setup guards custom providers).
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import weakref
from typing import Any

from lbi.config import CommonSettings
from lbi.llm.litellm_setup import get_litellm, reads_inputs
from lbi.secrets import resolve_references

_lock = threading.Lock()
# per event loop (a Router's HTTP clients belong to the loop that made them); a service runs one loop
_routers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, tuple[Any, bool]]] = (
    weakref.WeakKeyDictionary()
)
API_KEY_FIELD = "LBI_LLM_API_KEY"


def _defaults(s: CommonSettings) -> dict[str, Any]:
    params: dict[str, Any] = {"timeout": s.llm_timeout_s, "drop_params": s.llm_drop_params}
    if s.llm_max_parallel_requests:
        params["max_parallel_requests"] = s.llm_max_parallel_requests
    if s.llm_rpm:
        params["rpm"] = s.llm_rpm
    if s.llm_tpm:
        params["tpm"] = s.llm_tpm
    return params


def _primary_credentials(s: CommonSettings, model: str) -> dict[str, Any]:
    """The default model's api base and key (a key given as ${NAME} is read from the secrets)."""
    if reads_inputs(model):  # the offline backend and stand-ins built on it: no credentials
        return {}
    params: dict[str, Any] = {}
    if s.llm_api_base:
        params["api_base"] = s.llm_api_base
    if s.llm_api_key:
        params["api_key"] = resolve_references(s.llm_api_key, s.secrets_dir, API_KEY_FIELD)
    elif s.llm_api_base and not os.environ.get("OPENAI_API_KEY"):
        params["api_key"] = "none"  # an OpenAI-compatible server without auth: the client insists on some key
    return params


def deployments(s: CommonSettings, model: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The Router's model list for `model` and the names of its fallbacks, in order."""
    names = [model, *[f for f in s.llm_fallbacks if f != model]]
    listed = {str(d.get("model_name")): d for d in s.llm_model_list}
    defaults = _defaults(s)
    out = []
    for index, name in enumerate(names):
        entry = listed.get(name)
        if entry is not None:
            params = {**defaults, **dict(entry.get("litellm_params") or {})}
            out.append({**entry, "model_name": name, "litellm_params": params})
            continue
        params = {"model": name, **defaults, **(_primary_credentials(s, name) if index == 0 else {})}
        out.append({"model_name": name, "litellm_params": params})
    # entries the chosen names do not use stay reachable by their own name (a role's model may name one)
    out += [
        {**d, "litellm_params": {**defaults, **dict(d.get("litellm_params") or {})}}
        for name, d in listed.items()
        if name not in names
    ]
    return out, names[1:]


def _fingerprint(s: CommonSettings, model: str) -> str:
    fields = (
        "llm_fallbacks",
        "llm_model_list",
        "llm_api_base",
        "llm_api_key",
        "llm_timeout_s",
        "llm_retries",
        "llm_drop_params",
        "llm_max_parallel_requests",
        "llm_rpm",
        "llm_tpm",
        "secrets_dir",
    )
    return json.dumps([model, *[getattr(s, f) for f in fields]], default=str, sort_keys=True)


def router_for(s: CommonSettings, model: str) -> tuple[Any, bool]:
    """The Router for `model` under these settings, and whether it may call a provider that reads the role's inputs
    (the offline backend, a stand-in built on it)."""
    key = _fingerprint(s, model)
    loop = asyncio.get_running_loop()
    with _lock:
        known = _routers.setdefault(loop, {}).get(key)
    if known is not None:
        return known
    litellm = get_litellm()
    model_list, fallbacks = deployments(s, model)
    offline = any(reads_inputs(str(d["litellm_params"].get("model", ""))) for d in model_list)
    router = litellm.Router(
        model_list=model_list,
        fallbacks=[{model: fallbacks}] if fallbacks else [],
        num_retries=s.llm_retries,
        timeout=s.llm_timeout_s,
        retry_after=0,
        routing_strategy="usage-based-routing-v2" if s.llm_rpm or s.llm_tpm else "simple-shuffle",
    )
    with _lock:
        return _routers[loop].setdefault(key, (router, offline))

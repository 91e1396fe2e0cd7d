"""Imports litellm the way lbi needs it: offline cost map, no debug banner, the offline provider registered.

litellm's import costs seconds of CPU and, without LITELLM_LOCAL_MODEL_COST_MAP, tries the network; so
it is imported here, lazily, once, and never on a hot path. Custom providers (the offline backend, a test's
stand-in model) are added with `register_provider`, by name: nobody swaps litellm's provider map.
"""

from __future__ import annotations

import os
import threading
from typing import Any

_lock = threading.Lock()
_litellm: Any = None


def get_litellm() -> Any:
    """The configured litellm module."""
    global _litellm
    with _lock:
        if _litellm is None:
            os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            os.environ.setdefault("LITELLM_LOG", "ERROR")
            import litellm

            from lbi.llm.offline.handler import OfflineLLM

            litellm.suppress_debug_info = True
            litellm.telemetry = False
            _litellm = litellm
            _register(litellm, "offline", OfflineLLM())
        return _litellm


def _register(litellm: Any, name: str, handler: Any) -> None:
    from litellm.utils import custom_llm_setup

    others = [p for p in litellm.custom_provider_map if p.get("provider") != name]
    litellm.custom_provider_map = [*others, {"provider": name, "custom_handler": handler}]
    custom_llm_setup()


def register_provider(name: str, handler: Any) -> None:
    """Serves `model="<name>/..."` with a litellm CustomLLM (a later registration of the same name replaces it)."""
    litellm = get_litellm()
    with _lock:
        _register(litellm, name, handler)

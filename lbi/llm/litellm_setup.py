"""Imports litellm the way lbi needs it: offline cost map, no debug banner, the offline provider registered.

litellm's import costs seconds of CPU and, without LITELLM_LOCAL_MODEL_COST_MAP, tries the network; so
it is imported here, lazily, once, and never on a hot path.
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
            providers = [p for p in litellm.custom_provider_map if p.get("provider") != "offline"]
            litellm.custom_provider_map = [*providers, {"provider": "offline", "custom_handler": OfflineLLM()}]
            _litellm = litellm
        return _litellm

"""Imports litellm the way lbi needs it: offline cost map, no debug banner, the offline provider registered.

litellm's import costs seconds of CPU and, without LITELLM_LOCAL_MODEL_COST_MAP, tries the network; so
it is imported here, lazily, once, and never on a hot path. Custom providers (the offline backend, a test's
stand-in model) are added with `register_provider`, by name: nobody swaps litellm's provider map.
"""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

_lock = threading.Lock()
_litellm: Any = None
_input_readers: set[str] = set()  # providers that answer from the role's inputs in the call's metadata


def get_litellm() -> Any:
    """The configured litellm module."""
    global _litellm
    with _lock:
        if _litellm is None:
            os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            os.environ.setdefault("LITELLM_LOG", "ERROR")
            import litellm

            from lbi.llm.noisy import NoisyLLM
            from lbi.llm.offline.handler import OfflineLLM

            litellm.suppress_debug_info = True
            litellm.telemetry = False
            _litellm = litellm
            _register(litellm, "offline", OfflineLLM())
            _register(litellm, "noisy", NoisyLLM())  # a test instrument: lbi.llm.noisy
            _input_readers.update({"offline", "noisy"})
        return _litellm


async def litellm_loaded() -> None:
    """Imports litellm in a worker thread the first time, so its seconds of import (tens under load) never hold the
    event loop: a resumed job's first new call came after its rollouts had started, and stalled them all."""
    if _litellm is None:
        await asyncio.to_thread(get_litellm)


def _provider_guard(litellm: Any, name: str, handler: Any) -> Any:
    """`handler` behind a guard: an exception raised inside it that is not one of litellm's own (a bug, a bad input)
    becomes a BadRequestError carrying its message, which the Router does not retry; litellm would wrap it as a
    connection error and retry it with back-off. litellm's own errors (429, 500, a context window) pass as raised."""

    import openai

    class Guarded(litellm.CustomLLM):  # type: ignore[misc]
        def completion(self, model: str, messages: list[Any], *args: Any, **kwargs: Any) -> Any:
            try:
                return handler.completion(model, messages, *args, **kwargs)
            except openai.OpenAIError:
                raise
            except Exception as exc:
                raise litellm.BadRequestError(f"{type(exc).__name__}: {exc}", model=model, llm_provider=name) from exc

        async def acompletion(self, model: str, messages: list[Any], *args: Any, **kwargs: Any) -> Any:
            try:
                return await handler.acompletion(model, messages, *args, **kwargs)
            except openai.OpenAIError:
                raise
            except Exception as exc:
                raise litellm.BadRequestError(f"{type(exc).__name__}: {exc}", model=model, llm_provider=name) from exc

    guarded = Guarded()
    guarded.inner = handler
    return guarded


def _register(litellm: Any, name: str, handler: Any) -> None:
    from litellm.utils import custom_llm_setup

    others = [p for p in litellm.custom_provider_map if p.get("provider") != name]
    guarded = _provider_guard(litellm, name, handler)
    litellm.custom_provider_map = [*others, {"provider": name, "custom_handler": guarded}]
    custom_llm_setup()


def register_provider(name: str, handler: Any, reads_inputs: bool = False) -> None:
    """Serves `model="<name>/..."` with a litellm CustomLLM (a later registration of the same name replaces it).
    `reads_inputs`: it answers from the role's inputs in the call's metadata, as the offline backend does (a stand-in
    built on it); only such providers are sent them."""
    litellm = get_litellm()
    with _lock:
        _register(litellm, name, handler)
        (_input_readers.add if reads_inputs else _input_readers.discard)(name)


def reads_inputs(model: str) -> bool:
    """Whether the provider of `model` ("provider/name") answers from the role's inputs in the call's metadata."""
    get_litellm()
    return model.split("/", 1)[0] in _input_readers

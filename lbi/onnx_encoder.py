"""A sentence-transformers model run by ONNX Runtime: the same vectors as torch, in a third of the time per query.

Models made of a transformer, mean pooling and (optionally) normalisation — all-MiniLM-L6-v2 and most
sentence-transformers models — are exported once from their local folder with `torch.onnx.export` into a
cache (`LBI_MODEL_CACHE_DIR`, default `~/.cache/lbi`), then run with onnxruntime and the model's own fast
tokenizer (`tokenizers`); neither torch nor transformers is imported after that. Anything else (CLS or max
pooling, dense layers) is refused with `Unsupported`, and the caller keeps torch. Nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

_MODULES = ("sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling")


class Unsupported(Exception):
    """The model cannot run on this backend (its reason says why)."""


def cache_dir() -> Path:
    root = (
        os.environ.get("LBI_MODEL_CACHE_DIR")
        or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lbi"
    )
    return Path(root) / "onnx"


def _read(folder: Path, name: str) -> dict[str, Any]:
    path = folder / name
    return json.loads(path.read_text()) if path.exists() else {}


def check_supported(folder: Path) -> tuple[int, bool]:
    """(max sequence length, normalise) of a model this backend runs the same as sentence-transformers."""
    modules = json.loads((folder / "modules.json").read_text()) if (folder / "modules.json").exists() else []
    types = [m["type"] for m in modules]
    if types[:2] != list(_MODULES) or any(t != "sentence_transformers.models.Normalize" for t in types[2:]):
        raise Unsupported(f"modules {types} (only Transformer, mean Pooling and Normalize)")
    pooling = _read(folder / modules[1]["path"], "config.json")
    modes = [k for k, v in pooling.items() if k.startswith("pooling_mode") and v]
    if modes != ["pooling_mode_mean_tokens"]:
        raise Unsupported(f"pooling {modes} (only mean pooling)")
    if not (folder / "tokenizer.json").exists():
        raise Unsupported("no tokenizer.json (a fast tokenizer is needed)")
    return int(_read(folder, "sentence_bert_config.json").get("max_seq_length", 512)), len(types) == 3


def _fingerprint(folder: Path) -> str:
    digest = hashlib.sha256()
    for name in sorted(p.name for p in folder.iterdir() if p.is_file()):
        stat = (folder / name).stat()
        digest.update(f"{name}:{stat.st_size}:{int(stat.st_mtime)}".encode())
    return digest.hexdigest()[:16]


def export(folder: Path) -> Path:
    """The model's ONNX file, exported on first use (atomically: concurrent processes agree on one file)."""
    target = cache_dir() / _fingerprint(folder) / "model.onnx"
    if target.exists():
        return target
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(folder), local_files_only=True).eval()

    class Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    target.parent.mkdir(parents=True, exist_ok=True)
    ids = torch.ones(1, 8, dtype=torch.long)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    with tempfile.NamedTemporaryFile(dir=target.parent, suffix=".onnx", delete=False) as tmp:
        try:
            with warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    Hidden(),
                    (ids, torch.ones_like(ids), torch.zeros_like(ids)),
                    tmp.name,
                    input_names=names,
                    output_names=["hidden"],
                    opset_version=17,
                    dynamo=False,
                    dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "hidden"]},
                )
            os.replace(tmp.name, target)
        finally:
            if os.path.exists(tmp.name):
                os.unlink(tmp.name)
    return target


class OnnxEncoder:
    """Encodes texts like SentenceTransformer.encode(normalize_embeddings=True), on onnxruntime."""

    def __init__(self, folder: str | Path, batch_size: int = 64):
        import onnxruntime
        from tokenizers import Tokenizer

        folder = Path(folder)
        max_length, self.normalise = check_supported(folder)
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length)
        self.tokenizer.no_padding()
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        # onnxruntime's pool threads spin-wait after every run by default: in a service sharing its cores with an
        # event loop and other threads (a synthesis job) they burned 3 s of CPU of 15 s per 1,000 LLM calls
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        self.session = onnxruntime.InferenceSession(str(export(folder)), options, providers=["CPUExecutionProvider"])
        self.batch_size = batch_size
        self.dim = int(
            _read(folder / "1_Pooling", "config.json").get("word_embedding_dimension")
            or _read(folder, "config.json")["hidden_size"]
        )

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(list(texts))
        order = np.argsort([-len(e.ids) for e in encodings], kind="stable")  # similar lengths share a batch
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            chosen = order[start : start + self.batch_size]
            width = max(len(encodings[i].ids) for i in chosen)
            ids = np.zeros((len(chosen), width), dtype=np.int64)
            mask = np.zeros((len(chosen), width), dtype=np.int64)
            for row, i in enumerate(chosen):
                ids[row, : len(encodings[i].ids)] = encodings[i].ids
                mask[row, : len(encodings[i].ids)] = 1
            hidden = self.session.run(
                None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            )[0]
            pooled = (hidden * mask[..., None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1)
            vectors[chosen] = pooled
        if self.normalise:
            vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors

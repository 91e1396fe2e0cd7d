"""The committed stubs in lbi/v1 are what scripts/generate_protos.py makes from proto/ today."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_stubs_are_fresh(tmp_path):
    spec = importlib.util.spec_from_file_location("generate_protos", ROOT / "scripts" / "generate_protos.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.generate(tmp_path)
    generated = sorted(p.relative_to(tmp_path) for p in (tmp_path / "lbi" / "v1").glob("*_pb2*"))
    committed = sorted(p.relative_to(ROOT) for p in (ROOT / "lbi" / "v1").glob("*_pb2*"))
    assert generated == committed, "stub files differ: run `make protos`"
    stale = [str(p) for p in generated if (tmp_path / p).read_bytes() != (ROOT / p).read_bytes()]
    assert not stale, f"stale stubs {stale}: run `make protos`"
    assert len(generated) == 15  # common, env_runner, episodes, synthesis, retrieval x (pb2, pyi, grpc)


def test_enums_follow_style():
    from lbi.v1 import common_pb2, retrieval_pb2, synthesis_pb2

    for enum in (
        common_pb2.Origin,
        common_pb2.Outcome,
        synthesis_pb2.JobState,
        synthesis_pb2.BackwardMode,
        synthesis_pb2.FilterPolicy,
        synthesis_pb2.Stage,
        retrieval_pb2.RetrievalMode,
    ):
        assert enum.Name(0).endswith("_UNSPECIFIED")

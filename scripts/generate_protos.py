"""Regenerates the Python gRPC stubs in lbi/v1/ from proto/lbi/v1/*.proto.

Usage: python scripts/generate_protos.py [OUT_DIR]
Without OUT_DIR the stubs are written into the repository (committed, as qdrant-client does);
tests/unit/lbi/test_stubs_fresh.py regenerates into a temporary folder and compares.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"


def proto_files() -> list[Path]:
    """The contract files, in a stable order."""
    return sorted((PROTO_DIR / "lbi" / "v1").glob("*.proto"))


def generate(out_dir: Path) -> None:
    """Runs protoc for every contract file, writing lbi/v1/*_pb2*.py(i) under out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    include = str(resources.files("grpc_tools") / "_proto")
    for proto in proto_files():
        args = [
            "protoc",
            f"-I{PROTO_DIR}",
            f"-I{include}",
            f"--python_out={out_dir}",
            f"--pyi_out={out_dir}",
            f"--grpc_python_out={out_dir}",
            str(proto.relative_to(PROTO_DIR)),
        ]
        if protoc.main(args) != 0:
            raise SystemExit(f"protoc failed on {proto}")


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT)

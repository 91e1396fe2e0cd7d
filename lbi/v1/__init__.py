"""Generated protobuf and gRPC stubs of the lbi.v1 contracts (regenerate: scripts/generate_protos.py)."""

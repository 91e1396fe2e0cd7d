"""Python clients of the lbi gRPC services."""

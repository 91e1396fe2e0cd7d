"""Environment runners: the EnvRunner gRPC service and the environments it hosts (plugins)."""

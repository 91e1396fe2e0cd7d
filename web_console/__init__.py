"""The lbi console: a web application over the services' gRPC APIs for watching jobs, reading what was learned and
why, searching datasets, trying retrieval, and reading evaluations and online episodes."""

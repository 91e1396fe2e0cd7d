"""Judging desktop tasks as OSWorld and Spider2-V publish them: their evaluator functions over the files and values
the getters read from a session, one module per application family, and the registry that names them
(`lbi.judging.registry`). Pure functions: nothing here reaches a service, an environment or the network."""

"""The pipeline stages (Algorithm 1), one module each; each reads the journal of the one before."""

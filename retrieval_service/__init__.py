"""The retrieval service: demonstrations for production agents at every step (Algorithm 2, issue 4)."""

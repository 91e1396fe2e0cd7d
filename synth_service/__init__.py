"""The synthesis service: Learn-by-interact data synthesis (Algorithm 1) as durable jobs (issue 3)."""

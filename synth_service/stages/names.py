"""Journal stage names: what each stage writes (and the next one reads)."""

RESOURCES = "resources"  # Resource
TASKS = "tasks"  # per resource: the tasks the LLM wrote (or why it failed)
INSTRUCTIONS = "instructions"  # Instruction, after near-duplicate removal
ADMITTED = "admitted"  # per resource, in resource order: the keys of the instructions it added
TRAJECTORIES = "trajectories"  # per instruction: Trajectory (or why the rollout failed)
LABEL_FAILURES = "label_failures"
CANDIDATES = "candidates"  # Example (forward and backward), keyed by example id
BACKWARD_DONE = "backward_done"  # per trajectory: all its candidates are written
FILTERED = "filtered"  # Example with verdicts; ok = kept
INGESTED = "ingested"  # example ids written to Qdrant
STAGES_DONE = "stages_done"  # per pipeline stage: finished

# The pipeline stages, in order (their names in stats, progress events and STAGES_DONE).
PIPELINE = ("resources", "self_instruct", "rollout", "backward", "filter", "ingest")

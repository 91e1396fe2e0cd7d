"""The evaluation harness: agents with and without retrieved demonstrations on tasks with checks."""

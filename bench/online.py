"""Online adaptation benchmark: the agent runs a task set twice with retrieval; between the rounds its own
round-1 episodes are reported and learned by the dataset's online job.

The dataset is first synthesized from the environment's documentation (a synthesis job on the local stack);
the task set is the environment's evaluation tasks, separate from that documentation. Every service runs in
this process on 127.0.0.1 (runner, retrieval with the EpisodeService, the synthesis engine and its online
job) over the embedded store in a fresh data directory. Prints per round the success rate, then the episodes
reported, the examples learned from them and the delay from an episode's end until its examples were
searchable. With the offline backend (no LBI_LLM_MODEL) the figures measure its documented deterministic
policy, not a model. Last line of output: one JSON object.

    python bench/online.py [--env sql] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def main(args: argparse.Namespace) -> dict:
    import yaml

    from env_runners.registry import builtin_tasks
    from lbi.cli.local_stack import local_stack
    from lbi.evaluation.online_rounds import online_rounds
    from synth_service.spec import spec_from_dict

    policy = Path(os.environ["LBI_DATA_DIR"]) / "online-policy.yaml"
    policy.parent.mkdir(parents=True, exist_ok=True)
    policy.write_text(yaml.safe_dump({"datasets": {args.dataset: {"accept_episodes": True, "env": args.env}}}))
    tasks = Path(args.tasks) if args.tasks else builtin_tasks(args.env)
    async with local_stack(str(policy)) as stack:
        started = time.monotonic()
        job = await stack.engine.run(stack.engine.create(spec_from_dict({"env": args.env, "dataset": args.dataset})))
        if job["state"] != "SUCCEEDED":
            raise SystemExit(f"synthesis {job['state']}: {job['error']}")
        log(f"synthesized {job['stats'].kept} examples from the docs in {time.monotonic() - started:.0f}s")
        started = time.monotonic()
        result = await online_rounds(
            stack.runner_target,
            stack.retrieval_target,
            args.env,
            args.dataset,
            tasks,
            rounds=args.rounds,
            max_steps=args.max_steps,
        )
    model = os.environ.get("LBI_LLM_MODEL", "")
    return {
        **result,
        "env": args.env,
        "offline_kept_examples": job["stats"].kept,
        "wall_s": round(time.monotonic() - started, 1),
        "model": model or "offline policy (deterministic, not a model)",
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", default="sql")
    parser.add_argument("--dataset", default="online-bench")
    parser.add_argument("--tasks", default="", help="A task file (default: the environment's evaluation tasks).")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--max-steps", type=int, default=10)
    parser.add_argument("--data-dir", default="", help="Data directory (default: a fresh temporary one).")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ["LBI_DATA_DIR"] = args.data_dir or tempfile.mkdtemp(prefix="lbi-online-bench-")
    result = asyncio.run(main(args))
    for number, round_ in enumerate(result["rounds"], 1):
        log(f"round {number}: {round_['success']:.1%} of {round_['tasks']} tasks")
    print(json.dumps(result))

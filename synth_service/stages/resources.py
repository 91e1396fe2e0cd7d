"""Stage 1, resources: the environment's documentation from the runner, or the files the job names."""

from __future__ import annotations

import asyncio

from lbi.docs import doc_files, resources_from_files
from lbi.errors import InvalidArgument
from synth_service.context import JobContext
from synth_service.stages.names import RESOURCES


async def run(ctx: JobContext) -> None:
    spec = ctx.spec
    if spec.resource_paths:
        try:
            files = doc_files(spec.resource_paths)
        except FileNotFoundError as exc:
            raise InvalidArgument("spec.resource_paths", f"no such file or folder: {exc}") from None
        resources = await asyncio.to_thread(resources_from_files, spec.env, files)
    else:
        resources = await ctx.pool.first.resources(spec.env, spec.env_config)
    if spec.resource_filter:
        wanted = [w.lower() for w in spec.resource_filter]
        resources = [r for r in resources if any(w in r.title.lower() or r.id.startswith(w) for w in wanted)]
    ctx.journal.put(ctx.job_id, RESOURCES, [(r.id, {"env": r.env, "title": r.title, "text": r.text, "uri": r.uri}, True, "")
                                            for r in resources])
    ctx.publish({"stage": "resources", "done": len(resources), "total": len(resources)})

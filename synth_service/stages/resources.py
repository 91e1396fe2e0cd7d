"""Stage 1, resources: what the environment discovers about itself (on the runner), with the environment's
documentation, or instead of it the documentation the job names (files, folders, URLs)."""

from __future__ import annotations

import asyncio

from lbi.errors import InvalidArgument
from lbi.ingest import SourceError, ingest, resources_for_job
from lbi.paths import PathRules
from synth_service.context import JobContext
from synth_service.stages.names import RESOURCES


async def run(ctx: JobContext) -> None:
    spec = ctx.spec
    given = []
    if spec.resource_paths:
        settings = ctx.gateway.settings
        try:
            given = await asyncio.to_thread(
                ingest,
                spec.resource_paths,
                spec.env,
                settings.docs_allowed_hosts,
                paths=PathRules.from_settings(settings),  # a path of this service: only where requests may reach
                field="spec.resource_paths",
            )
        except SourceError as exc:
            raise InvalidArgument("spec.resource_paths", str(exc)) from None
    resources = resources_for_job(await ctx.pool.first.resources(spec.env, spec.env_config), given)
    if spec.resource_filter:
        wanted = [w.lower() for w in spec.resource_filter]
        resources = [r for r in resources if any(w in r.title.lower() or r.id.startswith(w) for w in wanted)]
    ctx.journal.put(
        ctx.job_id,
        RESOURCES,
        [
            (r.id, {"env": r.env, "title": r.title, "text": r.text, "uri": r.uri, "kind": r.kind}, True, "")
            for r in resources
        ],
    )
    ctx.publish({"stage": "resources", "done": len(resources), "total": len(resources)})

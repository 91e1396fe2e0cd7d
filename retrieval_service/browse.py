"""Reading a dataset page by page, reading examples whole, and deleting them: ListExamples, GetExamples and
DeleteExamples of the RetrievalService (what the console and `lbi export` need beyond retrieval).

Pages follow the store's own order (a page token is the id of the next page's first point), so a page of a
100k-example dataset costs one scroll of the page's size, never a read of everything before it.
"""

from __future__ import annotations

import uuid
from typing import Any

from lbi.dataset import EXAMPLES, DatasetStore, collection, example_from_payload
from lbi.errors import InvalidArgument
from lbi.records import Origin, point_uuid
from lbi.v1 import retrieval_pb2 as pb

DEFAULT_PAGE, MAX_PAGE, MAX_IDS = 50, 500, 500


def page_size(value: int) -> int:
    if not 0 <= value <= MAX_PAGE:
        raise InvalidArgument("page_size", f"must be between 0 (the default, {DEFAULT_PAGE}) and {MAX_PAGE}")
    return value or DEFAULT_PAGE


def example_ids(ids: Any, field: str = "ids") -> list[str]:
    if not ids:
        raise InvalidArgument(field, "must name at least one example")
    if len(ids) > MAX_IDS:
        raise InvalidArgument(field, f"at most {MAX_IDS} ids per request")
    for i, value in enumerate(ids):
        if not value or len(value) > 128:
            raise InvalidArgument(f"{field}[{i}]", "must be an example id (1-128 characters)")
    return list(ids)


def filters(msg: pb.RetrievalFilters) -> dict[str, Any] | None:
    flt: dict[str, Any] = {}
    if msg.envs:
        flt["env"] = list(msg.envs)
    if msg.origins:
        try:
            flt["origin"] = [Origin.from_proto(o).value for o in msg.origins]
        except ValueError as exc:
            raise InvalidArgument("filters.origins", str(exc)) from None
    return flt or None


def listed(payload: dict[str, Any], full: bool) -> pb.ListedExample:
    example = example_from_payload(payload).to_proto()
    if not full:
        del example.steps[:]
        example.final_observation = ""
    return pb.ListedExample(example=example, step_count=len(payload.get("steps", [])), job_id=payload.get("job_id", ""))


async def list_examples(datasets: DatasetStore, msg: pb.ListExamplesRequest) -> pb.ListExamplesResponse:
    size = page_size(msg.page_size)
    flt = filters(msg.filters)
    name = collection(msg.dataset, EXAMPLES)
    if msg.page_token:
        try:
            uuid.UUID(msg.page_token)
        except ValueError:
            raise InvalidArgument("page_token", "is not a token this service returned") from None
    hits, offset = await datasets.store.scroll(name, size, msg.page_token or None, flt)
    return pb.ListExamplesResponse(
        examples=[listed(h.payload, msg.full) for h in hits],
        next_page_token=offset or "",
        total=await datasets.store.count(name, flt),
    )


async def get_examples(datasets: DatasetStore, msg: pb.GetExamplesRequest) -> pb.GetExamplesResponse:
    ids = example_ids(msg.ids)
    hits = await datasets.store.retrieve(collection(msg.dataset, EXAMPLES), [point_uuid(i) for i in ids])
    by_id = {h.payload["id"]: h.payload for h in hits}
    return pb.GetExamplesResponse(
        examples=[listed(by_id[i], True) for i in ids if i in by_id], missing=[i for i in ids if i not in by_id]
    )

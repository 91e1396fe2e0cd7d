"""What a job wrote, a page at a time, for ListJobRecords: its resources, tasks, trajectories and candidates, each
with the resource it came from, and the candidates with their committee verdicts and why they were kept or dropped.

Pages follow the journal's write order (a page token is the last sequence number read). Filters the journal can
answer (kept or dropped, the reason's text) are SQL; the others (origin, resource) are applied to the rows read,
reading on until the page is full or `SCAN_LIMIT` rows were looked at, so a page never costs a whole job's decode.
A job's lineage (candidate -> task -> resource) comes from its small `backward_done` and `instructions` rows and is
kept per job until those change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from lbi.errors import InvalidArgument, NotFound
from synth_service.journal import Journal
from synth_service.stages.names import BACKWARD_DONE, CANDIDATES, FILTERED, INSTRUCTIONS, RESOURCES, TRAJECTORIES

DEFAULT_PAGE, MAX_PAGE = 50, 500
SCAN_LIMIT = 5000  # rows looked at per page when filters apply in Python
LINEAGES = 16  # jobs whose lineage is kept (the most recently read)
KINDS = ("resource", "task", "trajectory", "candidate")
_STAGE = {"resource": RESOURCES, "task": INSTRUCTIONS, "trajectory": TRAJECTORIES}
ORIGINS = ("forward", "backward-task", "backward-summary")
T = TypeVar("T")


@dataclass
class RecordQuery:
    job_id: str
    kind: str
    page_size: int = DEFAULT_PAGE
    after: int = 0
    kept: bool | None = None
    reason_contains: str = ""
    origin: str = ""
    resource_id: str = ""
    keys: tuple[str, ...] = ()


@dataclass
class Record:
    key: str
    kind: str
    ok: bool
    reason: str
    payload: dict[str, Any]
    resource_id: str = ""
    task_key: str = ""


@dataclass
class Lineage:
    """Where a job's candidates and tasks come from."""

    task_of: dict[str, str]  # candidate key -> task key
    resource_of: dict[str, str]  # task key -> resource id
    version: tuple[int, int]


def parse_page(page_size: int, token: str) -> tuple[int, int]:
    if not 0 <= page_size <= MAX_PAGE:
        raise InvalidArgument("page_size", f"must be between 0 (the default, {DEFAULT_PAGE}) and {MAX_PAGE}")
    try:
        after = int(token) if token else 0
    except ValueError:
        raise InvalidArgument("page_token", "is not a token this service returned") from None
    if after < 0:
        raise InvalidArgument("page_token", "is not a token this service returned")
    return page_size or DEFAULT_PAGE, after


def scan(
    journal: Journal,
    job_id: str,
    stage: str,
    after: int,
    size: int,
    keep: Callable[[str, Any, bool, str], T | None],
    ok: bool | None = None,
    reason_like: str = "",
) -> tuple[list[T], int | None]:
    """The rows of a stage after sequence number `after` that `keep` turns into items (None: left out), until `size`
    items or `SCAN_LIMIT` rows were looked at; and the sequence number the next page starts after (None at the end)."""
    found: list[T] = []
    scanned, exhausted = 0, False
    while len(found) < size and scanned < SCAN_LIMIT and not exhausted:
        rows = journal.page(job_id, stage, after, min(SCAN_LIMIT, 4 * size), ok, reason_like)
        exhausted = not rows
        for seq, key, payload, row_ok, reason in rows:
            after, scanned = seq, scanned + 1
            item = keep(key, payload, row_ok, reason)
            if item is not None:
                found.append(item)
                if len(found) == size:
                    break
    more = not exhausted and journal.page(job_id, stage, after, 1, ok, reason_like)
    return found, after if more else None


class JobRecords:
    def __init__(self, journal: Journal):
        self.journal = journal
        self._lineage: dict[str, Lineage] = {}

    def lineage(self, job_id: str) -> Lineage:
        version = (self.journal.count(job_id, BACKWARD_DONE), self.journal.count(job_id, INSTRUCTIONS))
        cached = self._lineage.get(job_id)
        if cached is not None and cached.version == version:
            self._lineage[job_id] = self._lineage.pop(job_id)  # most recently read last
            return cached
        task_of = {
            candidate: task
            for task, payload, _, _ in self.journal.records(job_id, BACKWARD_DONE)
            for candidate in payload.get("keys", [])
        }
        resource_of = {
            task: payload["resource_id"] for task, payload, _, _ in self.journal.records(job_id, INSTRUCTIONS)
        }
        self._lineage.pop(job_id, None)
        while len(self._lineage) >= LINEAGES:
            self._lineage.pop(next(iter(self._lineage)))  # the one read longest ago
        self._lineage[job_id] = Lineage(task_of, resource_of, version)
        return self._lineage[job_id]

    def total(self, job_id: str, kind: str) -> int:
        return self.journal.count(job_id, CANDIDATES if kind == "candidate" else _STAGE[kind])

    def page(self, query: RecordQuery) -> tuple[list[Record], int | None]:
        """A page of records and the sequence number the next page starts after (None at the end)."""
        if self.journal.job(query.job_id) is None:
            raise NotFound(f"no job {query.job_id!r} in this synthesis service's journal")
        if query.kind not in KINDS:
            raise InvalidArgument("kind", "must be a resource, task, trajectory or candidate")
        if query.origin and query.origin not in ORIGINS:
            raise InvalidArgument("origin", f"must be one of {', '.join(ORIGINS)}")
        lineage = self.lineage(query.job_id) if query.kind != "resource" else Lineage({}, {}, (0, 0))
        if query.keys:
            return self._by_keys(query, lineage), None
        judged = query.kind == "candidate" and (query.kept is not None or query.reason_contains)
        stage = FILTERED if judged else CANDIDATES if query.kind == "candidate" else _STAGE[query.kind]

        def keep(key: str, payload: Any, ok: bool, reason: str) -> Record | None:
            record = self._record(query.kind, key, payload, ok, reason, lineage)
            return record if self._matches(query, record) else None

        found, next_after = scan(
            self.journal, query.job_id, stage, query.after, query.page_size, keep, query.kept, query.reason_contains
        )
        if query.kind == "candidate" and not judged:
            self._judge(query.job_id, found)
        return found, next_after

    def _by_keys(self, query: RecordQuery, lineage: Lineage) -> list[Record]:
        stage = CANDIDATES if query.kind == "candidate" else _STAGE[query.kind]
        rows = self.journal.get(query.job_id, stage, list(query.keys))
        found = [self._record(query.kind, key, *rows[key], lineage) for key in query.keys if key in rows]
        if query.kind == "candidate":
            self._judge(query.job_id, found)
        return found

    def _judge(self, job_id: str, records: list[Record]) -> None:
        """Candidates read from the candidates stage get their verdicts from the filter stage (or stay pending)."""
        verdicts = self.journal.get(job_id, FILTERED, [r.key for r in records])
        for record in records:
            if record.key in verdicts:
                record.payload, record.ok, record.reason = verdicts[record.key]
            else:
                record.ok, record.reason = False, "pending"

    @staticmethod
    def _record(kind: str, key: str, payload: Any, ok: bool, reason: str, lineage: Lineage) -> Record:
        record = Record(key, kind, ok, reason, payload if isinstance(payload, dict) else {"value": payload})
        if kind == "task":
            record.resource_id = record.payload.get("resource_id", "")
        elif kind == "trajectory":
            record.task_key, record.resource_id = key, lineage.resource_of.get(key, "")
        elif kind == "candidate":
            record.task_key = lineage.task_of.get(key, "")
            record.resource_id = lineage.resource_of.get(record.task_key, "")
        return record

    @staticmethod
    def _matches(query: RecordQuery, record: Record) -> bool:
        if query.origin and record.payload.get("origin") != query.origin:
            return False
        return not query.resource_id or (record.key if record.kind == "resource" else record.resource_id) == (
            query.resource_id
        )

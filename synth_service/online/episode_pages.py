"""A dataset's reported episodes a page at a time, each with what its online job learned from it (ListEpisodes).

Pages follow the journal's write order (the token is the last sequence number read). A token limited to datasets
sees only its own tenant's episodes, as it may delete only those.
"""

from __future__ import annotations

from lbi.clients.episodes import OUTCOMES
from lbi.records import Step, to_timestamp
from lbi.v1 import episodes_pb2 as pb
from synth_service.job_records import parse_page, scan
from synth_service.journal import Journal
from synth_service.online.learner import EPISODES, LEARNED, find_episodes, job_prefix


def episode_record(payload: dict, learned: dict | None, full: bool) -> pb.EpisodeRecord:
    record = pb.EpisodeRecord(
        episode_id=payload["episode_id"],
        tenant=payload["tenant"],
        task=payload["task"],
        env=payload["env"],
        outcome=OUTCOMES.get(payload["outcome"], pb.EPISODE_OUTCOME_UNSPECIFIED),
        feedback=payload.get("feedback", ""),
        step_count=len(payload["steps"]),
        ended_at=to_timestamp(payload.get("ended_at") or payload.get("received_at") or 0.0),
        learned=learned is not None,
    )
    if payload.get("reward") is not None:
        record.reward = payload["reward"]
    if full:
        record.steps.extend(Step.from_dict(s).to_proto() for s in payload["steps"])
        record.final_observation = payload["final_observation"]
    if learned is not None:
        record.candidates = learned.get("candidates", 0)
        record.stored = learned.get("stored", 0)
        record.delay_s = learned.get("delay_s", 0.0)
        record.example_ids.extend(learned.get("examples", []))
        for reason, n in learned.get("dropped", {}).items():
            record.dropped[reason] = n
    return record


def list_episodes(journal: Journal, dataset: str, msg: pb.ListEpisodesRequest, tenant: str) -> pb.ListEpisodesResponse:
    """`tenant` non-empty: only that tenant's episodes."""
    size, after = parse_page(msg.page_size, msg.page_token)
    job_id = job_prefix(dataset)

    def mine(payload: dict) -> bool:
        return not tenant or payload["tenant"] == tenant

    if msg.episode_ids:
        rows = [(k, p) for k, p in find_episodes(journal, job_id, list(msg.episode_ids), tenant).items() if mine(p)]
        next_after = None
    else:
        rows, next_after = scan(
            journal,
            job_id,
            EPISODES,
            after,
            size,
            lambda key, payload, _ok, _why: (key, payload) if mine(payload) else None,
        )
    learned = journal.get(job_id, LEARNED, [key for key, _ in rows])
    return pb.ListEpisodesResponse(
        episodes=[episode_record(p, learned[k][0] if k in learned else None, msg.full) for k, p in rows],
        next_page_token=str(next_after) if next_after is not None else "",
        total=journal.count(job_id, EPISODES),
    )

"""Batched labels outgrow a reply's budget on long trajectories: a reply cut at max_tokens (even after the larger
budget and a request to answer shorter) is asked again as two batches of half the spans each, so the spans are
labelled instead of lost. Measured with the noisy stand-in with every habit off: only its cut at max_tokens."""

import json

from lbi.llm.noisy import DEFAULT_RATES
from lbi.store.edge import EdgeStore
from synth_service.config import SynthSettings
from synth_service.engine import Engine
from synth_service.spec import spec_from_dict

SPEC = {
    "env": "sql",
    "backward_mode": "batched",
    "resource_filter": ["Filtering rows with WHERE", "Counting rows"],
}


async def _labelled(tmp_path, embedder, name: str, roles: dict) -> tuple[int, dict]:
    from lbi.cli.local_runner import launch_runner

    store = EdgeStore(tmp_path / name / "qdrant")
    settings = SynthSettings(data_dir=tmp_path / name, llm_model="noisy/heuristic", llm_roles=roles)
    engine = Engine(settings, store, embedder, launch_runner=launch_runner)
    try:
        job = await engine.run(engine.create(spec_from_dict({**SPEC, "dataset": name})))
        assert job["state"] == "SUCCEEDED", job["error"]
        stats = job["stats"]
        calls = engine.journal.llm_totals(job["id"]).get("backward", (0, 0, 0.0))[0]
        return stats.candidates["backward-task"] + stats.candidates["backward-summary"], {
            "calls": calls,
            "stats": stats,
        }
    finally:
        await engine.close()
        await store.close()


async def test_a_cut_batch_is_split_and_its_spans_still_labelled(tmp_path, embedder, monkeypatch):
    monkeypatch.setenv("LBI_NOISY_RATES", json.dumps(dict.fromkeys(DEFAULT_RATES, 0)))
    whole, plain = await _labelled(tmp_path, embedder, "roomy", {})
    split, tight = await _labelled(tmp_path, embedder, "tight", {"label_batch": {"max_tokens": 60}})
    print(json.dumps({"roomy": [whole, plain["calls"]], "tight": [split, tight["calls"]]}))
    assert tight["calls"] > plain["calls"]  # cut batches were asked again, as smaller ones
    assert split >= 0.9 * whole, (split, whole)
    cut = [f for f in tight["stats"].llm_failures if f.kind == "truncated"]
    assert all(f.role == "label_batch" for f in cut)

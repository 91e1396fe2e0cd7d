"""Uploaded evaluation runs: kept per session, gone when the session ends, bounded for the whole console."""

from __future__ import annotations

import pytest

from web_console import uploads
from web_console.uploads import UploadRefused, Uploads

RUN = {"modes": [], "tasks": [{"task_id": "t"}], "dataset": "ds1"}


def test_a_run_belongs_to_its_session_and_ends_with_it():
    live = {"s1", "s2"}
    store = Uploads(lambda session: session in live)
    kept = store.add("s1", "alice", b'{"a": 1}', RUN, 1.0)
    assert store.get("s1", kept.id) is kept and store.get("s2", kept.id) is None
    assert "tasks" not in kept.summary  # the list shows the summary; the tasks stay in the sent bytes
    live.discard("s1")
    store.prune()
    assert store.get("s1", kept.id) is None and store.total_bytes == 0


def test_a_token_and_the_whole_console_are_bounded_and_the_refusal_names_the_limits(monkeypatch):
    monkeypatch.setattr(uploads, "MAX_TENANT_BYTES", 10)
    monkeypatch.setattr(uploads, "MAX_TOTAL_BYTES", 16)
    store = Uploads(lambda session: True)
    store.add("s1", "alice", b"123456", RUN, 1.0)
    with pytest.raises(UploadRefused, match="over its sessions"):  # the same token signed in again
        store.add("s2", "alice", b"abcdef", RUN, 1.0)
    store.add("s3", "bob", b"abcdef", RUN, 1.0)
    with pytest.raises(UploadRefused, match="MiB of runs in all"):
        store.add("s4", "carol", b"ghijkl", RUN, 1.0)
    store.drop("s1")
    store.add("s4", "carol", b"ghijkl", RUN, 1.0)

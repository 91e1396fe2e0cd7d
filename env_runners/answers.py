"""The `answer_match` check environments share: the agent's answer (its stop message, or the argument of its
`stop`/`done` action) against `exact` (normalised: case, spaces, end punctuation) and/or every phrase of
`must_include`."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from env_runners.base import Check, Verdict


class AnswerCheck(Check):
    kind: Literal["answer_match"] = "answer_match"
    exact: str = Field("", description="The answer, compared normalised.")
    must_include: list[str] = Field(default_factory=list, description="Phrases the answer must contain (normalised).")

    @model_validator(mode="after")
    def _something(self) -> AnswerCheck:
        if not self.exact and not self.must_include:
            raise ValueError("give exact or must_include")
        return self


def normalise(text: str) -> str:
    return " ".join(text.lower().split()).strip(" .!?;:'\"")


def answer_verdict(check: AnswerCheck, answer: str) -> Verdict:
    got = normalise(answer)
    if not got:
        return Verdict(False, "the agent gave no answer")
    if check.exact and got != normalise(check.exact):
        return Verdict(False, f"the answer {answer.strip()[:120]!r} is not {check.exact!r}")
    missing = [phrase for phrase in check.must_include if normalise(phrase) not in got]
    if missing:
        return Verdict(False, f"the answer does not include {missing[0]!r}")
    return Verdict(True, "the answer matches")


def answer_of(turns, answer: str) -> str:
    """The agent's answer: the one it stopped with, else the argument of a `stop [...]` (web) or `done [...]`
    (desktop) action it sent."""
    if answer.strip():
        return answer
    for turn in reversed(turns):
        if re.match(r"\s*(stop|done)\b", turn.action, re.I):
            return str(turn.result.info.get("answer", ""))
    return ""

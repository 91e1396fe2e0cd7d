"""The web environment's checks (as WebArena judges): the page the agent ends on, its answer, the site's state.

- `url_match`: the final page's URL against `url` (a path is taken relative to the start URL): `exact` compares
  path (trailing slash ignored) and query parameters (order ignored); `prefix` and `contains` compare text.
- `answer_match`: the agent's answer (its stop message) against `exact` (normalised: case, spaces, end
  punctuation) and/or every phrase of `must_include`.
- `program`: a SQL query run on the session's own Trac database after the episode; passes when it returns
  a row (default site only).
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import parse_qs, urljoin, urlsplit

from pydantic import Field

from env_runners.answers import AnswerCheck, answer_of, answer_verdict, normalise  # shared with the desktop
from env_runners.base import Check, Verdict


class UrlCheck(Check):
    kind: Literal["url_match"] = "url_match"
    url: str = Field(min_length=1, description="The URL (or path from the start URL) the agent must end on.")
    match: Literal["exact", "prefix", "contains"] = Field("exact", description="How the final URL is compared.")


class ProgramCheck(Check):
    kind: Literal["program"] = "program"
    sql: str = Field(min_length=1, description="Query on the session's Trac database; passes when it returns a row.")


def url_verdict(check: UrlCheck, final_url: str, start_url: str) -> Verdict:
    want = (
        urljoin(start_url.rstrip("/") + "/", check.url)
        if not check.url.startswith(("http://", "https://"))
        else check.url
    )
    if check.match == "contains":
        ok = check.url in final_url
    elif check.match == "prefix":
        ok = final_url.startswith(want)
    else:
        a, b = urlsplit(final_url), urlsplit(want)
        ok = (
            a.netloc == b.netloc
            and (a.path.rstrip("/") or "/") == (b.path.rstrip("/") or "/")
            and parse_qs(a.query) == parse_qs(b.query)
        )
    return Verdict(ok, f"the agent ended on {final_url}" + ("" if ok else f", expected ({check.match}) {want}"))


__all__ = ["AnswerCheck", "answer_of", "answer_verdict", "normalise"]

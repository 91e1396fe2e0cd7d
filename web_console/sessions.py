"""Who is signed in to the console: server-side sessions keyed by a random cookie, each holding the bearer token the
user signed in with (forwarded to the services), what that token may do, and the session's CSRF token.

With `LBI_AUTH_TOKENS` set, a session starts only by signing in with one of those tokens; the cookie is `HttpOnly`
and `SameSite=Strict`. Without tokens (a local stack) every browser gets a session of its own at once, so forms
still carry a CSRF token. Sessions live in this process (a restart signs everyone out) and end after `IDLE_S`.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass, field

from lbi.auth import OPEN_GRANT, Grant, TokenTable

COOKIE = "lbi_console"
IDLE_S = 12 * 3600.0
MAX_SESSIONS = 10_000


@dataclass
class Session:
    id: str
    token: str
    grant: Grant
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    seen: float = field(default_factory=time.monotonic)

    def may_write(self, dataset: str) -> bool:
        return self.grant.allows(dataset) and self.grant.may_write(dataset)

    @property
    def writes_any(self) -> bool:
        """Whether the token may write some dataset (then the job form is shown)."""
        return self.grant.writes is None or bool(self.grant.writes)

    def csrf_ok(self, given: str) -> bool:
        return hmac.compare_digest(given.encode(), self.csrf.encode())


class Sessions:
    def __init__(self, tokens: TokenTable):
        self.tokens = tokens
        self._sessions: dict[str, Session] = {}

    @property
    def login_required(self) -> bool:
        return bool(self.tokens)

    def sign_in(self, token: str) -> Session | None:
        """A new session for a valid token (None for an unknown one); an open session when auth is off."""
        if self.tokens:
            grant = self.tokens.grant([("authorization", f"Bearer {token.strip()}")])
            if grant is None:
                return None
        else:
            grant, token = OPEN_GRANT, ""
        self._expire()
        session = Session(secrets.token_urlsafe(32), token.strip(), grant)
        self._sessions[session.id] = session
        return session

    def get(self, cookie: str | None) -> Session | None:
        session = self._sessions.get(cookie or "")
        if session is None:
            return None
        now = time.monotonic()
        if now - session.seen > IDLE_S:
            self._sessions.pop(session.id, None)
            return None
        session.seen = now
        return session

    def alive(self, session_id: str) -> bool:
        """Whether the session exists and has not been idle past `IDLE_S` (what belongs to it ends with it)."""
        session = self._sessions.get(session_id)
        return session is not None and time.monotonic() - session.seen <= IDLE_S

    def sign_out(self, cookie: str | None) -> None:
        self._sessions.pop(cookie or "", None)

    def _expire(self) -> None:
        now = time.monotonic()
        for key in [k for k, s in self._sessions.items() if now - s.seen > IDLE_S]:
            del self._sessions[key]
        while len(self._sessions) >= MAX_SESSIONS:  # the longest idle go first
            del self._sessions[min(self._sessions, key=lambda k: self._sessions[k].seen)]

"""Bearer-token authentication for every lbi service, with rotation and per-token dataset tenancy.

`LBI_AUTH_TOKENS` lists the accepted tokens, comma-separated; several may be valid at once, so a token
is rotated by adding the new one, moving clients over, then removing the old one. A token may be
limited to datasets: `token=shop|sql-demo` reads those two; `token=shop:rw|sql-demo` may also write `shop`
(report episodes to it, create, cancel or resume its synthesis jobs, delete its examples). A token without a
dataset list reads and writes every dataset. Opening a runner session (which runs the caller's actions) needs a token
that writes some dataset. A token may name its tenant, `checkout-agent@token=shop:rw`:
episodes it reports are recorded under that name (and can be deleted by it); an unnamed token's tenant is
`token-` and the first 8 hex digits of its SHA-256.
Health checks and reflection stay open; every other RPC needs `authorization: Bearer <token>`
(UNAUTHENTICATED otherwise). Tokens are compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import grpc

from lbi.errors import PermissionDenied
from lbi.grpc_handlers import Context, Continuation, Handler

OPEN_PREFIXES = (
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/grpc.reflection.v1.ServerReflection/",
)


@dataclass(frozen=True)
class Grant:
    token: bytes
    datasets: frozenset[str] | None  # None: every dataset
    writes: frozenset[str] | None = None  # datasets it may write; None: every dataset (only with datasets None)
    tenant: str = ""

    def allows(self, dataset: str) -> bool:
        return self.datasets is None or dataset in self.datasets

    def may_write(self, dataset: str) -> bool:
        return self.writes is None or dataset in self.writes

    @property
    def runs_sessions(self) -> bool:
        """Whether it may open environment sessions (and run discovery): a token that writes some dataset, or every
        dataset (an admin's, the synthesis service's client token). A read-only token only reads."""
        return self.writes is None or bool(self.writes)


# The grant of every caller when auth is off (a local stack): all datasets, tenant "local".
OPEN_GRANT = Grant(b"", None, None, "local")


def _grant(entry: str) -> Grant:
    token, _, datasets = entry.partition("=")
    tenant, _, secret = token.strip().rpartition("@")
    secret = secret.strip()
    tenant = tenant.strip() or f"token-{hashlib.sha256(secret.encode()).hexdigest()[:8]}"
    if not datasets:
        return Grant(f"Bearer {secret}".encode(), None, None, tenant)
    names = [d.strip() for d in datasets.split("|") if d.strip()]
    reads = frozenset(n.removesuffix(":rw") for n in names)
    writes = frozenset(n.removesuffix(":rw") for n in names if n.endswith(":rw"))
    return Grant(f"Bearer {secret}".encode(), reads, writes, tenant)


class TokenTable:
    def __init__(self, spec: str | Sequence[str]):
        entries = spec.split(",") if isinstance(spec, str) else list(spec)
        self.grants: list[Grant] = [_grant(e.strip()) for e in entries if e.strip()]

    def __bool__(self) -> bool:
        return bool(self.grants)

    def grant(self, metadata: Sequence[tuple[str, str | bytes]] | None) -> Grant | None:
        """The grant of the request's bearer token; every token is compared, in constant time."""
        given = dict(metadata or ()).get("authorization", "")
        given_bytes = given.encode() if isinstance(given, str) else given
        found = None
        for grant in self.grants:
            if hmac.compare_digest(given_bytes, grant.token):
                found = grant
        return found

    def caller(self, metadata: Sequence[tuple[str, str | bytes]] | None) -> Grant | None:
        """The caller's grant: OPEN_GRANT when auth is off, None for an unknown token."""
        return self.grant(metadata) if self.grants else OPEN_GRANT

    def require(self, metadata: Sequence[tuple[str, str | bytes]] | None) -> Grant:
        """The caller's grant; PERMISSION_DENIED for an unknown token (the auth interceptor refuses those before a
        servicer runs: this is the servicers' guard)."""
        grant = self.caller(metadata)
        if grant is None:
            raise PermissionDenied("unknown bearer token")
        return grant


class BearerTokenInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, table: TokenTable):
        self.table = table

    async def intercept_service(self, continuation: Continuation, details: grpc.HandlerCallDetails) -> Handler | None:
        if details.method.startswith(OPEN_PREFIXES) or self.table.grant(details.invocation_metadata) is not None:
            return await continuation(details)

        async def deny(request: Any, context: Context) -> None:
            await context.abort(
                grpc.StatusCode.UNAUTHENTICATED,
                "missing or unknown bearer token (send metadata 'authorization: Bearer <token>')",
            )

        handler = await continuation(details)
        if handler is not None and handler.unary_stream:

            async def deny_stream(request: Any, context: Context) -> AsyncIterator[None]:
                await deny(request, context)
                yield  # pragma: no cover - never reached

            return grpc.unary_stream_rpc_method_handler(
                deny_stream, handler.request_deserializer, handler.response_serializer
            )
        return grpc.unary_unary_rpc_method_handler(
            deny, handler.request_deserializer if handler else None, handler.response_serializer if handler else None
        )


def interceptors(spec: str) -> list[grpc.aio.ServerInterceptor]:
    """The auth interceptor for a token spec, or none when auth is off (empty spec)."""
    table = TokenTable(spec)
    return [BearerTokenInterceptor(table)] if table else []

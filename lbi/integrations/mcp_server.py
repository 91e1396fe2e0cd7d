"""An MCP server over the retrieval service: any MCP-speaking agent gets per-step demonstrations.

Tools (built with the official `mcp` SDK's MCPServer):
- `get_demonstrations`: demonstrations for the current step (task, observation, optional history and
  queries), within a character and/or token budget and above a minimum score; the result's text is the ready
  prompt block, its structured content the examples (ids, instructions, scores, provenance);
- `list_datasets`, `describe_dataset`;
- `report_episode`: the agent's finished episode, for online adaptation.

The server is a client of a retrieval service (`AsyncRetrievalClient`): it reaches one by address, or one
this process started (`lbi mcp serve --local`). On the streamable HTTP transport, every request needs a bearer
token the services accept (LBI_AUTH_TOKENS; 401 otherwise, and for a request with more than one Authorization
header), and that token, the one the door checked, is what the tool calls present to the retrieval service, so
tenancy holds as for gRPC clients. The configured token (`--token`, LBI_TOKEN) is the stdio transport's alone: an
HTTP caller never borrows it (without a token of its own it reaches the service with none).
Trace context: the SDK's OpenTelemetry middleware continues the client's W3C trace from the request's `_meta`,
and the gRPC call carries it on, so one trace runs from the agent's step to the store query.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

import grpc
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel, Field

from lbi.auth import TokenTable
from lbi.clients.retrieval import AsyncRetrievalClient
from lbi.records import Step

INSTRUCTIONS = (
    "Demonstrations learned from this environment: call get_demonstrations at each step with your task and "
    "current observation, and put the returned text in your context as reference examples."
)


class HistoryStep(BaseModel):
    observation: str = Field(description="What the agent saw before the action.")
    action: str = Field(description="The action it took.")


class Demonstration(BaseModel):
    id: str
    instruction: str
    env: str
    origin: str
    score: float
    mode: str
    matched_step: int
    source_trajectory_id: str
    span: tuple[int, int]
    steps: int = Field(description="Steps in the example (0 in metadata-only answers).")


class Demonstrations(BaseModel):
    prompt_block: str = Field(description="The examples as reference text for the agent's context, within the budget.")
    examples: list[Demonstration]
    queries: list[str] = Field(default_factory=list, description="The queries used in query mode.")


class DatasetSummary(BaseModel):
    name: str
    examples: int
    online_examples: int
    steps: int
    envs: list[str]
    embedding_model: str


class EpisodeReport(BaseModel):
    accepted: bool
    duplicate: bool
    reason: str
    tenant: str


def _tool_error(exc: grpc.aio.AioRpcError) -> ToolError:
    return ToolError(f"{exc.code().name}: {exc.details()}")


MAX_KEPT_CLIENTS = 64


class Clients:
    """One retrieval client per bearer token (HTTP callers bring theirs; stdio uses the configured one)."""

    def __init__(self, target: str, token: str | None, episodes_target: str | None = None):
        self.target, self.token, self.episodes_target = target, token, episodes_target
        self._clients: dict[str | None, AsyncRetrievalClient] = {}

    def _new(self, token: str | None) -> AsyncRetrievalClient:
        return AsyncRetrievalClient(self.target, token=token, timeout_s=30, episodes_target=self.episodes_target)

    @contextlib.asynccontextmanager
    async def use(self, ctx: Context) -> AsyncIterator[AsyncRetrievalClient]:
        """The client presenting the caller's token: over HTTP the one `BearerAuth` let in (or none), never this
        process's own; on stdio the configured one. Clients are kept for MAX_KEPT_CLIENTS tokens; past that (tokens
        this process does not check, with auth off here) a call gets a client of its own, closed after it."""
        request = getattr(ctx.request_context, "request", None) if ctx is not None else None
        token = self.token if request is None else request.scope.get(BEARER_SCOPE_KEY)
        kept = self._clients.get(token)
        if kept is None and len(self._clients) < MAX_KEPT_CLIENTS:
            kept = self._clients[token] = self._new(token)
        if kept is not None:
            yield kept
            return
        client = self._new(token)
        try:
            yield client
        finally:
            await client.close()

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()


def build_server(clients: Clients) -> MCPServer:
    server = MCPServer("lbi", instructions=INSTRUCTIONS)

    @server.tool(
        description="Demonstrations for the agent's current step: examples of this environment's tasks whose "
        "states are like the current observation or whose instructions match the task. The text is "
        "ready for the agent's context; budgets keep it small."
    )
    async def get_demonstrations(
        dataset: str,
        observation: str,
        task: str = "",
        history: list[HistoryStep] | None = None,
        queries: list[str] | None = None,
        mode: str = "agentic",
        k: int = 0,
        max_chars: int = 4000,
        max_tokens: int = 0,
        tokenizer: str = "",
        min_score: float = 0.0,
        metadata_only: bool = False,
        episode_id: str = "",
        ctx: Context = None,  # type: ignore[assignment]
    ) -> Annotated[CallToolResult, Demonstrations]:
        steps = [Step(h.observation, h.action) for h in history or []]
        try:
            async with clients.use(ctx) as client:
                result = await client.retrieve(
                    dataset,
                    observation=observation,
                    instruction=task,
                    history=steps[-5:],
                    queries=queries or [],
                    mode=mode,
                    k=k,
                    prompt_budget_chars=max_chars,
                    max_tokens=max_tokens,
                    tokenizer=tokenizer,
                    min_score=min_score,
                    metadata_only=metadata_only,
                    episode_id=episode_id,
                )
        except grpc.aio.AioRpcError as exc:
            raise _tool_error(exc) from None
        except ValueError as exc:  # a mode the SDK does not know
            raise ToolError(str(exc)) from None
        answer = Demonstrations(
            prompt_block=result.prompt_block,
            queries=result.queries,
            examples=[
                Demonstration(
                    id=e.id,
                    instruction=e.instruction,
                    env=e.env,
                    origin=e.origin,
                    score=e.score,
                    mode=e.mode,
                    matched_step=e.matched_step,
                    source_trajectory_id=e.source_trajectory_id,
                    span=e.span,
                    steps=len(e.steps),
                )
                for e in result.examples
            ],
        )
        text = result.prompt_block or "\n".join(
            f"- {e.instruction} (score {e.score:.3f}, {e.mode})" for e in answer.examples
        )
        return CallToolResult(
            content=[TextContent(text=text or "no demonstrations found")],
            structured_content=answer.model_dump(mode="json"),
        )

    @server.tool(description="The datasets this token may read, with their sizes.")
    async def list_datasets(ctx: Context = None) -> list[DatasetSummary]:  # type: ignore[assignment]
        try:
            async with clients.use(ctx) as client:
                infos = await client.list_datasets()
        except grpc.aio.AioRpcError as exc:
            raise _tool_error(exc) from None
        return [_summary(i) for i in infos]

    @server.tool(description="One dataset's sizes, environments and embedding model.")
    async def describe_dataset(dataset: str, ctx: Context = None) -> DatasetSummary:  # type: ignore[assignment]
        try:
            async with clients.use(ctx) as client:
                return _summary(await client.describe_dataset(dataset))
        except grpc.aio.AioRpcError as exc:
            raise _tool_error(exc) from None

    @server.tool(
        description="Report a finished episode (task, steps, final observation, outcome) so the dataset learns "
        "from it; the same episode_id again is a no-op."
    )
    async def report_episode(
        dataset: str,
        episode_id: str,
        task: str,
        steps: list[HistoryStep],
        final_observation: str,
        outcome: str = "unknown",
        reward: float | None = None,
        feedback: str = "",
        env: str = "",
        ctx: Context = None,  # type: ignore[assignment]
    ) -> EpisodeReport:
        try:
            async with clients.use(ctx) as client:
                answer = await client.report_episode(
                    dataset,
                    episode_id,
                    task,
                    [Step(s.observation, s.action) for s in steps],
                    final_observation,
                    outcome,
                    reward=reward,
                    feedback=feedback,
                    env=env,
                )
        except grpc.aio.AioRpcError as exc:
            raise _tool_error(exc) from None
        except ValueError as exc:
            raise ToolError(str(exc)) from None
        return EpisodeReport(
            accepted=answer.accepted, duplicate=answer.duplicate, reason=answer.reason, tenant=answer.tenant
        )

    return server


def _summary(info: Any) -> DatasetSummary:
    return DatasetSummary(
        name=info.name,
        examples=info.examples,
        online_examples=info.online_examples,
        steps=info.steps,
        envs=list(info.envs),
        embedding_model=info.embedding_model,
    )


BEARER_SCOPE_KEY = "lbi.bearer_token"  # the ASGI scope's entry holding the token the tool calls present


def _bearer(scope: dict) -> tuple[list[str], str | None]:
    """The request's Authorization headers, and its bearer token when it sent exactly one such header."""
    given = [v.decode("latin-1") for k, v in scope.get("headers", []) if k.decode("latin-1").lower() == "authorization"]
    token = given[0][7:].strip() if len(given) == 1 and given[0][:7].lower() == "bearer " else None
    return given, token or None


class BearerAuth:
    """ASGI middleware: every HTTP request needs one `Authorization: Bearer <token>` of the table (401 otherwise);
    the token it let in goes into the scope, where `Clients.use` takes it. With no table (auth off in this
    process) a caller's own bearer token is passed on as it is, for the retrieval service to judge."""

    def __init__(self, app: Callable, table: TokenTable):
        self.app, self.table = app, table

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "http":
            given, token = _bearer(scope)
            refused = len(given) > 1 or (
                bool(self.table) and self.table.grant([("authorization", f"Bearer {token}")] if token else []) is None
            )
            if refused:
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")],
                    }
                )
                await send(
                    {
                        "type": "http.response.body",
                        "body": b'{"error": "missing or unknown bearer token '
                        b'(send one Authorization: Bearer <token>)"}',
                    }
                )
                return
            scope = {**scope, BEARER_SCOPE_KEY: token}
        await self.app(scope, receive, send)


def http_app(server: MCPServer, tokens: TokenTable, host: str = "127.0.0.1") -> Any:
    """The streamable HTTP app (at /mcp), behind bearer-token auth when tokens are configured; always behind
    `BearerAuth`, which hands the tools each caller's own token."""
    return BearerAuth(server.streamable_http_app(host=host), tokens)


@contextlib.asynccontextmanager
async def serving(clients: Clients) -> AsyncIterator[MCPServer]:
    try:
        yield build_server(clients)
    finally:
        await clients.close()

"""The console's Starlette application: the pages of each kind, sign-in, static files, security headers, errors."""

from __future__ import annotations

import contextlib
import hmac
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lbi.auth import TokenTable
from web_console import dataset_pages, eval_pages, job_pages, online_pages, playground_page
from web_console.clients import Channels, ServiceFailure, Targets
from web_console.sessions import Sessions
from web_console.web import (
    BadForm,
    ConsoleState,
    NeedLogin,
    checked_form,
    field,
    on_bad_form,
    on_need_login,
    on_not_found,
    on_service_failure,
    render,
    set_cookie,
    state,
)

# Pages show only what they render themselves: no inline script, no foreign origin, no framing.
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
        b"base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeaders:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, sending)


def _safe_next(target: str) -> str:
    """Where to go after signing in: a path of this console only (never another site)."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/jobs"


LOGIN_NONCE = "lbi_console_login"


def _login_form(request: Request, target: str, failed: bool) -> Response:
    """The sign-in page, with a fresh nonce in a cookie and in the form (a sign-in posted from elsewhere lacks it)."""
    nonce = secrets.token_urlsafe(24)
    response = render(request, "login.html", status=401 if failed else 200, next=target, failed=failed, nonce=nonce)
    response.set_cookie(
        LOGIN_NONCE, nonce, httponly=True, samesite="strict", secure=state(request).secure_cookies, path="/login"
    )
    return response


async def login_page(request: Request) -> Response:
    request.state.anonymous = True
    return _login_form(request, _safe_next(request.query_params.get("next", "/jobs")), failed=False)


async def login(request: Request) -> Response:
    request.state.anonymous = True
    form = await request.form()
    token, target = field(form, "token"), _safe_next(field(form, "next", "/jobs"))
    cookie = request.cookies.get(LOGIN_NONCE, "")
    if not cookie or not hmac.compare_digest(cookie.encode(), field(form, "nonce").encode()):
        raise BadForm("the sign-in form is stale or was not sent from this console: open the sign-in page again", 403)
    session = state(request).sessions.sign_in(token) if token.strip() else None
    if session is None:
        return _login_form(request, target, failed=True)
    response = RedirectResponse(target, status_code=303)
    set_cookie(request, response, session)
    response.delete_cookie(LOGIN_NONCE, path="/login")
    return response


async def logout(request: Request) -> Response:
    await checked_form(request)
    from web_console.sessions import COOKIE

    cookie = request.cookies.get(COOKIE)
    state(request).sessions.sign_out(cookie)
    state(request).uploads.drop(cookie or "")  # the session's uploads end with it
    response = RedirectResponse("/login" if state(request).sessions.login_required else "/jobs", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


async def home(request: Request) -> Response:
    return RedirectResponse("/jobs", status_code=303)


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


def create_app(
    targets: Targets, auth_tokens: str = "", eval_dirs: tuple[Path, ...] = (), secure_cookies: bool = False
) -> Starlette:
    """The console over these service targets; with `auth_tokens` (LBI_AUTH_TOKENS) every page needs a sign-in."""
    channels = Channels(targets)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await channels.close()

    app = Starlette(
        routes=[
            Route("/", home),
            Route("/healthz", healthz),
            Route("/login", login_page, methods=["GET"]),
            Route("/login", login, methods=["POST"]),
            Route("/logout", logout, methods=["POST"]),
            *job_pages.routes,
            *dataset_pages.routes,
            *playground_page.routes,
            *eval_pages.routes,
            *online_pages.routes,
            Mount("/static", StaticFiles(packages=[("web_console", "static")]), name="static"),
        ],
        exception_handlers={
            ServiceFailure: on_service_failure,
            NeedLogin: on_need_login,
            BadForm: on_bad_form,
            HTTPException: on_not_found,
        },
        lifespan=lifespan,
    )
    app.state.console = ConsoleState(channels, Sessions(TokenTable(auth_tokens)), tuple(eval_dirs), secure_cookies)
    app.add_middleware(SecurityHeaders)
    return app

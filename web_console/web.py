"""The console's request plumbing: the signed-in session of a request, its service clients, CSRF-checked forms,
rendering a template (autoescaped: everything an environment or agent wrote is shown as text), and the error pages.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from web_console.clients import Channels, ServiceFailure, Services
from web_console.sessions import COOKIE, Session, Sessions
from web_console.uploads import Uploads

MAX_FORM_BYTES = 8 << 20  # one form field (a file is spooled to disk; an uploaded run has its own cap, uploads.py)


@dataclass
class ConsoleState:
    channels: Channels
    sessions: Sessions
    eval_dirs: tuple[Path, ...]
    secure_cookies: bool = False
    uploads: Uploads = dataclasses.field(init=False)  # evaluation runs uploaded to this console, by session

    def __post_init__(self) -> None:
        self.uploads = Uploads(self.sessions.alive)


class NeedLogin(Exception):
    """The request has no signed-in session (and the console requires one)."""


class BadForm(Exception):
    """A form without a valid CSRF token, or a field that is not what it should be."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def _age(seconds: float | str | None) -> str:
    if not seconds:
        return ""
    if isinstance(seconds, str):  # an RFC 3339 time from MessageToDict
        try:
            moment = datetime.datetime.fromisoformat(seconds.replace("Z", "+00:00"))
        except ValueError:
            return seconds
        seconds = moment.timestamp()
    delta = max(0.0, datetime.datetime.now(datetime.UTC).timestamp() - float(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if delta >= size:
            return f"{delta / size:.0f} {unit} ago"
    return f"{delta:.0f} s ago"


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


templates = Environment(
    loader=PackageLoader("web_console", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters["age"] = _age
templates.filters["pretty"] = _pretty
templates.filters["q"] = lambda value: quote(str(value), safe="")


def state(request: Request) -> ConsoleState:
    return request.app.state.console


def session_of(request: Request) -> Session:
    """The request's session; without login required a new one is made (and its cookie set when rendering)."""
    console = state(request)
    session = console.sessions.get(request.cookies.get(COOKIE))
    if session is None:
        if console.sessions.login_required:
            raise NeedLogin()
        session = console.sessions.sign_in("")
        assert session is not None
        request.state.new_session = session
    return session


def services(request: Request) -> Services:
    return state(request).channels.for_token(session_of(request).token)


async def checked_form(request: Request) -> FormData:
    """The posted form, if it carries the session's CSRF token."""
    session = session_of(request)
    form = await request.form(max_part_size=MAX_FORM_BYTES)
    given = form.get("csrf")
    if not isinstance(given, str) or not session.csrf_ok(given):
        raise BadForm("the form's CSRF token is missing or stale: reload the page and send it again", 403)
    return form


def field(form: FormData, name: str, default: str = "") -> str:
    value = form.get(name, default)
    if not isinstance(value, str):
        raise BadForm(f"{name}: expected text")
    return value


def set_cookie(request: Request, response: Response, session: Session) -> None:
    response.set_cookie(
        COOKIE,
        session.id,
        httponly=True,
        samesite="strict",
        secure=state(request).secure_cookies,
        path="/",
    )


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    session = session_of(request) if not getattr(request.state, "anonymous", False) else None
    body = templates.get_template(name).render(
        request=request,
        session=session,
        login_required=state(request).sessions.login_required,
        path=request.url.path,
        **context,
    )
    response = HTMLResponse(body, status_code=status)
    new = getattr(request.state, "new_session", None)
    if new is not None:
        set_cookie(request, response, new)
    return response


def redirect(request: Request, url: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    new = getattr(request.state, "new_session", None)
    if new is not None:
        set_cookie(request, response, new)
    return response


def error_page(request: Request, status: int, title: str, message: str) -> Response:
    if request.url.path.endswith("/events") or request.headers.get("accept", "").startswith("application/json"):
        return JSONResponse({"error": title, "message": message}, status_code=status)
    request.state.anonymous = True  # an error page never starts a session
    return render(request, "error.html", status=status, title=title, message=message)


async def on_service_failure(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceFailure)
    return error_page(request, exc.http_status, f"{exc.service} service: {exc.code.name}", exc.message)


async def on_need_login(request: Request, exc: Exception) -> Response:
    if request.url.path.endswith("/events") or request.method != "GET":
        return JSONResponse({"error": "UNAUTHENTICATED", "message": "sign in first"}, status_code=401)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


async def on_bad_form(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BadForm)
    return error_page(request, exc.status, "The request was refused", str(exc))


async def on_not_found(request: Request, exc: Exception) -> Response:
    return error_page(request, getattr(exc, "status_code", 404), "Not found", getattr(exc, "detail", "no such page"))

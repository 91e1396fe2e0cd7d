"""The `web` environment (WebArena-like): Chromium driven by Playwright on a real web application.

One browser per runner, one browser context per session; by default each session gets its own fresh
Trac project. Observations are the page's accessibility-style tree with element ids plus URL and title;
actions follow WebArena. The browser reaches only http(s) pages of the session's allowed origins, never the
runner's files, its own or the services' addresses or cloud metadata (`reach.py`), checked on the config, on
`goto`, on every request the browser routes and on every connection it opens (its proxy, `proxy.py`, sees redirects
too). All browser work runs on one dedicated thread, as Playwright's synchronous API requires.
"""

from __future__ import annotations

import concurrent.futures
import json
import re
import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urljoin

from pydantic import Field

from env_runners.base import Check, EnvConfig, Environment, Session, StepResult, Turn, Verdict
from env_runners.web.checks import AnswerCheck, ProgramCheck, UrlCheck, answer_of, answer_verdict, url_verdict
from env_runners.web.crawl import READ_PAGE, candidate_examples, crawl, run_examples, site_resources
from env_runners.web.page_text import RENDER
from env_runners.web.proxy import FilteringProxy
from env_runners.web.reach import Reach, config_refusal, origin
from env_runners.web.trac_site import TracSite, wiki_guide_pages
from lbi.errors import InvalidArgument
from lbi.ingest import resources_from_files
from lbi.records import Resource

DOCS_DIR = Path(__file__).parent / "docs"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",  # WebRTC only through the proxy: no UDP around it
]
ACTION = re.compile(r"^\s*(?P<verb>\w+)\s*(?P<rest>.*?)\s*$", re.S)
ARG = re.compile(r"\[(.*?)\]", re.S)


class WebConfig(EnvConfig):
    url: str = Field(
        "", description="Start URL of an existing site; empty starts a fresh Trac project for the session."
    )
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="http(s) origins the browser may reach (default: the start URL's origin); loopback, link-local "
        "and metadata addresses only where the runner's operator allows them (LBI_WEB_ALLOWED_HOSTS).",
    )
    observation_cap: int = Field(
        6000, ge=500, le=200_000, description="Characters of the page tree kept per observation."
    )
    check_sql: str = Field(
        "", description="SQL run on the session's Trac database at `stop`; reward 1 when it returns a row."
    )
    action_timeout_ms: int = Field(5000, ge=100, le=60_000, description="Longest one browser action may take.")
    crawl_pages: int = Field(
        20,
        ge=1,
        le=500,
        description="Pages the site's discovery reads (breadth first within the allowed origins, nothing submitted).",
    )


class BrowserHost:
    """The runner's browser, owned by one thread; every call goes through run()."""

    def __init__(self) -> None:
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="lbi-browser")
        self._browser: Any = None
        self._playwright: Any = None

    def run(self, fn: Callable[[], Any]) -> Any:
        return self._executor.submit(fn).result()

    def close(self) -> None:
        def stop() -> None:
            if self._browser is not None:
                self._browser.close()
                self._playwright.stop()
                self._browser = self._playwright = None

        self.run(stop)
        self._executor.shutdown(wait=True)

    def browser(self) -> Any:
        if self._browser is None:
            from playwright.sync_api import sync_playwright

            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        return self._browser


def merge_text(tree: str) -> str:
    """Joins runs of StaticText lines at the same depth (inline markup splits one sentence into many)."""
    lines: list[str] = []
    for line in tree.splitlines():
        text = line.lstrip()
        if (
            lines
            and text.startswith("StaticText '")
            and lines[-1].lstrip().startswith("StaticText '")
            and len(line) - len(text) == len(lines[-1]) - len(lines[-1].lstrip())
            and len(lines[-1]) < 300
        ):
            lines[-1] = lines[-1][:-1] + " " + text[len("StaticText '") :]
        else:
            lines.append(line)
    return "\n".join(lines)


class WebSession(Session):
    def __init__(self, host: BrowserHost, config: WebConfig, operator_hosts: tuple[str, ...] = ()):
        self.host = host
        self.config = config
        self.site = TracSite() if not config.url else None
        self.start_url = config.url or (self.site.url if self.site else "")
        self.allowed = {origin(o) for o in config.allowed_origins} or {origin(self.start_url)}
        own = frozenset({origin(self.site.url)} if self.site else ())
        self.reach = Reach(frozenset(self.allowed), operator_hosts, own)
        self.proxy = FilteringProxy(self.reach.allows_connection)
        self.done = False
        try:
            self.host.run(self._open)
        except BaseException:
            self.proxy.close()
            if self.site:
                self.site.close()
            raise

    def _open(self) -> None:
        # the session's own Trac site (the runner's tracd, which redirects only within itself) is reached directly
        proxy = {"server": self.proxy.server, "bypass": ",".join(o.split("://", 1)[1] for o in self.reach.own)}
        self.context = self.host.browser().new_context(proxy=proxy, service_workers="block")
        self.context.set_default_timeout(self.config.action_timeout_ms)
        self.context.route("**/*", self._route)
        self.pages = [self.context.new_page()]
        self.active = 0
        self.pages[0].goto(self.start_url)

    def _route(self, route: Any) -> None:
        url = route.request.url
        if url.startswith(("data:", "about:", "blob:")) or self.reach.refusal(url) is None:
            route.continue_()
        else:
            route.abort("blockedbyclient")

    @property
    def page(self) -> Any:
        return self.pages[self.active]

    def _render(self) -> str:
        from playwright.sync_api import Error as PlaywrightError

        page = self.page
        try:
            rendered = page.evaluate(RENDER, None)
        except PlaywrightError:  # the page navigated while it was read: read the new one once it has loaded
            page.wait_for_load_state()
            rendered = page.evaluate(RENDER, None)
        tree = merge_text(rendered)
        cap = self.config.observation_cap
        if len(tree) > cap:
            tree = tree[:cap] + f"\n[... page truncated: {len(tree) - cap} more characters]"
        tabs = f" (tab {self.active + 1} of {len(self.pages)})" if len(self.pages) > 1 else ""
        return f"URL: {page.url}\nTitle: {page.title()}{tabs}\n{tree}"

    def first_observation(self) -> str:
        return self.host.run(self._render)

    def read_page(self, url: str) -> dict[str, Any] | None:
        """Loads a page (for discovery) and returns what is on it (crawl.READ_PAGE); None when it does not load."""

        def work() -> dict[str, Any] | None:
            try:
                response = self.page.goto(url)
                if response is not None and response.status >= 400:
                    return None
                self.page.wait_for_load_state()
                return self.page.evaluate(READ_PAGE)
            except Exception:
                return None

        return self.host.run(work)

    def _element(self, ref: str) -> Any:
        ref = ref.strip()
        if ref.isdigit():
            locator = self.page.locator(f"[data-lbi-id='{ref}']")
            if locator.count() == 0:
                raise ValueError(f"no element with id [{ref}] on this page")
            return locator.first
        shown = self.page.locator(f"[data-lbi-name={json.dumps(ref)}]")  # the name the page tree shows
        for candidate in (
            self.page.get_by_label(ref, exact=True),
            self.page.get_by_role("button", name=ref, exact=True),
            self.page.get_by_role("link", name=ref, exact=True),
            shown,
            self.page.get_by_text(ref, exact=True),
        ):
            if candidate.count():
                return candidate.first
        raise ValueError(f"no element named [{ref}] on this page")

    def _act(self, action: str) -> StepResult:
        match = ACTION.match(action)
        if not match:
            raise ValueError("empty action")
        verb, args = match.group("verb").lower(), ARG.findall(match.group("rest"))
        page = self.page
        if verb == "click" and args:
            self._element(args[0]).click()
        elif verb == "type" and len(args) >= 2:
            element = self._element(args[0])
            if element.evaluate("e => e.tagName") == "SELECT":  # a combobox: choose the option with that label or value
                options = element.evaluate("e => Array.from(e.options).map(o => [o.label, o.value])")
                match = next((value for label, value in options if args[1] in (label, value)), None)
                if match is None:
                    raise ValueError(
                        f"[{args[0]}] has no option {args[1]!r}; options: "
                        f"{', '.join(label for label, _ in options[:20])}"
                    )
                element.select_option(value=match)
            else:
                element.fill(args[1])
            if len(args) > 2 and args[2].strip() == "1":
                element.press("Enter")
        elif verb == "hover" and args:
            self._element(args[0]).hover()
        elif verb == "press" and args:
            page.keyboard.press(args[0])
        elif verb == "scroll" and args and args[0] in ("up", "down"):
            page.mouse.wheel(0, -600 if args[0] == "up" else 600)
        elif verb == "goto" and args:
            url = urljoin(self.start_url, args[0].strip())
            refused = self.reach.refusal(url)
            if refused:
                raise ValueError(refused)
            page.goto(url)
        elif verb == "go_back":
            page.go_back()
        elif verb == "go_forward":
            page.go_forward()
        elif verb == "new_tab":
            self.pages.append(self.context.new_page())
            self.active = len(self.pages) - 1
        elif verb == "tab_focus" and args and args[0].strip().isdigit():
            index = int(args[0])
            if not 0 <= index < len(self.pages):
                raise ValueError(f"no tab {index}")
            self.active = index
        elif verb == "close_tab":
            if len(self.pages) == 1:
                raise ValueError("cannot close the last tab")
            self.pages.pop(self.active).close()
            self.active = max(0, self.active - 1)
        elif verb == "stop":
            self.done = True
            return StepResult(
                f"Stopped with answer: {args[0] if args else ''}",
                done=True,
                reward=self._reward(),
                info={"answer": args[0] if args else ""},
            )
        else:
            raise ValueError(f"unknown or malformed action {action.strip()!r}")
        self.page.wait_for_load_state()
        return StepResult(self._render())

    def _reward(self) -> float | None:
        if not self.config.check_sql or self.site is None:
            return None
        return 1.0 if self.run_program(self.config.check_sql).ok else 0.0

    def run_program(self, sql: str) -> Verdict:
        """A query on the session's Trac database: passes when it returns a row."""
        assert self.site is not None
        conn = sqlite3.connect(f"file:{self.site.database}?mode=ro", uri=True)
        try:
            row = conn.execute(sql).fetchone()
        except sqlite3.Error as exc:
            return Verdict(False, f"the check's query fails: {exc}", check_error=True)
        finally:
            conn.close()
        return Verdict(
            row is not None, "the site's state satisfies the check" if row else "the check's query returns no row"
        )

    def step(self, action: str) -> StepResult:
        def work() -> StepResult:
            try:
                return self._act(action)
            except ValueError as exc:
                return StepResult(f"Error: {exc}\n{self._render()}", error=True)
            except Exception as exc:
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                return StepResult(f"Error: {first}\n{self._render()}", error=True)

        return self.host.run(work)

    def close(self) -> None:
        try:
            self.host.run(self.context.close)
        finally:
            self.proxy.close()
            if self.site:
                self.site.close()


def _trac_markdown(text: str) -> str:
    """Trac wiki headings (= Title =) as Markdown headings, so the guide splits into sections."""
    return re.sub(r"^(=+)\s*(.*?)\s*=*\s*$", lambda m: "#" * len(m.group(1)) + " " + m.group(2), text, flags=re.M)


class WebEnvironment(Environment[WebConfig, WebSession]):
    name = "web"
    description = (
        "A real web browser (Chromium) on a real web application. By default each session gets a fresh Trac "
        "project: an issue tracker with tickets, reports, a roadmap and a wiki."
    )
    action_space = (
        "Each action is one browser command; elements are referred to by the [id] shown in the page tree (or by "
        "their exact label in brackets). Commands: click [id], type [id] [text] [press_enter 0|1], hover [id], "
        "press [key combo], scroll [up|down], goto [url], go_back, go_forward, new_tab, tab_focus [index], "
        "close_tab, stop [answer]. The observation is the URL, the title and the page's accessibility tree."
    )
    config_model = WebConfig
    checks: ClassVar[dict[str, type[Check]]] = {
        "url_match": UrlCheck,
        "answer_match": AnswerCheck,
        "program": ProgramCheck,
    }

    def __init__(self, settings):
        super().__init__(settings)
        self.host = BrowserHost()

    def close(self) -> None:
        self.host.close()

    def notes(self) -> list[str]:
        return [
            f"browser: {CHROMIUM} (headless, one context per session); default site: a fresh Trac project per session"
        ]

    def resources(self, config: WebConfig) -> Iterable[Resource]:
        """For the default Trac project its guide and wiki help, then what a crawl of the site shows (crawl.py)."""
        resources = []
        if not config.url:
            resources = resources_from_files(self.name, sorted(DOCS_DIR.glob("*.md")))
            for name, text in wiki_guide_pages().items():
                resources.append(
                    Resource(env=self.name, title=name, text=_trac_markdown(text)[:12000], uri=f"trac:wiki/{name}")
                )
        return resources + self.discover(config)

    def discover(self, config: WebConfig) -> list[Resource]:
        session = self.open(config.model_copy(update={"action_timeout_ms": min(config.action_timeout_ms, 2000)}))
        try:
            site = crawl(session.read_page, session.start_url, session.allowed, config.crawl_pages)

            def step(action: str) -> tuple[bool, str]:
                result = session.step(action)
                return not result.error, " ".join(result.observation.splitlines()[:2])

            return site_resources(self.name, site, session.allowed, run_examples(step, candidate_examples(site)))
        finally:
            session.close()

    def judge(self, session: WebSession, check: Check, turns: list[Turn], answer: str) -> Verdict:
        if isinstance(check, UrlCheck):
            return url_verdict(check, self.host.run(lambda: session.page.url), session.start_url)
        if isinstance(check, AnswerCheck):
            return answer_verdict(check, answer_of(turns, answer))
        assert isinstance(check, ProgramCheck)
        if session.site is None:
            raise InvalidArgument(
                "check.kind", "program checks need the session's own Trac site (leave config.url empty)"
            )
        return session.run_program(check.sql)

    def open(self, config: WebConfig) -> WebSession:
        operator_hosts = tuple(self.settings.web_allowed_hosts)
        if config.url and not config.url.startswith(("http://", "https://")):
            raise InvalidArgument("config.url", "must be an http(s) URL")
        for name, urls in (
            ("config.url", [config.url] if config.url else []),
            ("config.allowed_origins", config.allowed_origins),
        ):
            refused = config_refusal(urls, operator_hosts)
            if refused:
                raise InvalidArgument(name, refused)
        if config.check_sql and config.url:
            raise InvalidArgument("config.check_sql", "checks need the session's own Trac database (leave url empty)")
        return WebSession(self.host, config, operator_hosts)

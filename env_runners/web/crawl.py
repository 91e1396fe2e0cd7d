"""Resources read from a web site itself: a bounded crawl of its pages, and worked examples that were run.

When a user brings a site and no documentation, this is what self-instruct reads. The crawl runs in a real
session of the environment (the runner's browser, the session's allowed origins): breadth first from the
start URL, at most `crawl_pages` pages, following only links within the allowed origins, **never submitting
a form** and never following a link that reads like a destructive action (log out, delete, remove, ...).
Per page it records the title, URL, headings, forms with their fields, the main links and a text excerpt;
pages that read like the site's own help (help, FAQ, guide, docs, about) also give their full text.
Worked examples (open a page, follow a link, search with a GET form, fill in a form's field without sending
it) are **run in the session before they are written down**, with the page each one ends on; one that
errors is left out. Resources are Markdown of kind `crawl`.
"""

from __future__ import annotations

import collections
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urldefrag, urlsplit

from env_runners.web.reach import origin
from lbi.records import Resource

EXAMPLES_PER_RESOURCE = 3
MAX_EXAMPLES = 60
HELP = re.compile(r"\b(help|faq|guide|docs?|documentation|manual|about|how[- ]?to|tutorial)\b", re.I)
DESTRUCTIVE = re.compile(
    r"(log ?out|sign ?out|delete|remove|destroy|unsubscribe|reset|drop|purge|\.(zip|gz|tar|pdf|exe|dmg)$)", re.I
)
_WORD = re.compile(r"[A-Za-z][a-z]{4,}")

# Run in the page: what a reader of the page sees, as data (no element is changed, nothing is submitted).
READ_PAGE = r"""
() => {
  const clean = (s) => (s || '').replace(/\s+/g, ' ').trim();
  const label = (el) => clean((el.labels && el.labels[0] && el.labels[0].innerText) || el.getAttribute('aria-label')
      || el.getAttribute('placeholder') || '');
  const forms = Array.from(document.forms).map((form) => ({
    method: (form.getAttribute('method') || 'get').toLowerCase(),
    // not form.action: a field named action hides it
    action: new URL(form.getAttribute('action') || '', location.href).href,
    heading: clean((form.closest('section,fieldset,div') || form).querySelector('h1,h2,h3,legend')?.innerText || ''),
    fields: Array.from(form.elements)
      .filter((el) => !['hidden', 'submit', 'button', 'reset', 'image'].includes((el.type || '').toLowerCase())
                      && el.tagName !== 'BUTTON' && el.tagName !== 'FIELDSET')
      .map((el) => ({
        label: label(el), name: el.name || '',
        type: el.tagName === 'SELECT' ? 'select' : (el.type || el.tagName).toLowerCase(),
        options: el.tagName === 'SELECT'
          ? Array.from(el.options).map((o) => clean(o.text)).filter(Boolean).slice(0, 15) : [],
      })),
    buttons: Array.from(form.querySelectorAll('button,input[type=submit]'))
      .map((b) => clean(b.innerText || b.value)).filter(Boolean),
  }));
  const main = document.querySelector('main,[role=main],#content,#main,article') || document.body;
  return {
    title: document.title, url: location.href,
    headings: Array.from(document.querySelectorAll('h1,h2,h3')).map((h) => clean(h.innerText)).filter(Boolean)
      .slice(0, 30),
    // textContent: the accessible name, not CSS-transformed
    links: Array.from(document.querySelectorAll('a[href]')).map((a) => ({text: clean(a.textContent), href: a.href}))
      .filter((l) => l.text && l.href.startsWith('http')).slice(0, 300),
    forms, text: (main.innerText || '').slice(0, 20000),
  };
}
"""


@dataclass
class Page:
    url: str
    title: str
    headings: list[str]
    links: list[dict[str, str]]
    forms: list[dict[str, Any]]
    text: str
    found_on: str = ""  # the page whose link led here
    link_text: str = ""

    @property
    def name(self) -> str:
        return self.title or self.path

    @property
    def path(self) -> str:
        parts = urlsplit(self.url)
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    @property
    def is_help(self) -> bool:
        return bool(HELP.search(self.title) or HELP.search(urlsplit(self.url).path))


@dataclass
class Example:
    page: str  # the URL it is about (resources group by it)
    lead: str
    actions: list[str]
    result: str = ""


@dataclass
class Site:
    start: str
    pages: list[Page] = field(default_factory=list)

    @functools.cached_property
    def common(self) -> tuple[set[tuple], set[tuple[str, str]]]:
        """Forms and links found on at least half of the pages (read once the crawl is done)."""
        return site_wide(self)


def crawl(goto: Callable[[str], dict[str, Any] | None], start: str, allowed: set[str], max_pages: int) -> Site:
    """Breadth first from `start`: `goto(url)` loads a page and returns READ_PAGE's data (None when it fails)."""
    site = Site(start)
    queue: collections.deque[tuple[str, str, str]] = collections.deque([(start, "", "")])
    seen = {urldefrag(start)[0]}
    while queue and len(site.pages) < max_pages:
        url, found_on, link_text = queue.popleft()
        data = goto(url)
        if not data or origin(data["url"]) not in allowed:
            continue
        if any(p.url == data["url"] for p in site.pages):  # a redirect or an alias of a page already read
            continue
        page = Page(
            data["url"],
            data["title"],
            data["headings"],
            data["links"],
            data["forms"],
            data["text"],
            found_on,
            link_text,
        )
        site.pages.append(page)
        links = [
            link
            for link in page.links
            if origin(link["href"]) in allowed
            and not DESTRUCTIVE.search(link["text"])
            and not DESTRUCTIVE.search(urlsplit(link["href"]).path)
        ]
        links.sort(key=lambda link: not (HELP.search(link["text"]) or HELP.search(link["href"])))  # help pages first
        for link in links:
            target = urldefrag(link["href"])[0]
            if target not in seen:
                seen.add(target)
                queue.append((target, page.url, link["text"]))
    shorten_titles(site)
    return site


_TITLE_PARTS = re.compile(r"\s+[·|\u2013\u2014-]\s+")  # middle dot, bar, en and em dash, hyphen


def shorten_titles(site: Site) -> None:
    """Drops the site's name from page titles when most pages end (or start) with the same part: 'Orbital sander ·
    Elm Street Tool Library' becomes 'Orbital sander'."""
    parts = [_TITLE_PARTS.split(p.title) for p in site.pages if p.title]
    for index in (-1, 0):
        common = collections.Counter(p[index] for p in parts if len(p) > 1).most_common(1)
        if common and common[0][1] >= max(2, len(site.pages) / 2):
            for page in site.pages:
                split = _TITLE_PARTS.split(page.title)
                if len(split) > 1 and split[index] == common[0][0]:
                    page.title = " · ".join(split[:-1] if index == -1 else split[1:])
            return


def _words(site: Site) -> list[str]:
    """Words the site is about: from its page names and link texts (what a search on it would find)."""
    _, common = site.common
    text = " ".join(
        [p.title for p in site.pages]
        + [link["text"] for p in site.pages for link in p.links if _link_key(link) not in common]
    )
    counts = collections.Counter(w.lower() for w in _WORD.findall(text))
    return [w for w, _ in counts.most_common(20)] or ["project"]


def _form_key(form: dict[str, Any]) -> tuple:
    return (form["method"], urlsplit(form["action"]).path, tuple(f["label"] or f["name"] for f in form["fields"]))


def _link_key(link: dict[str, str]) -> tuple[str, str]:
    return (link["text"], urldefrag(link["href"])[0])


def site_wide(site: Site) -> tuple[set[tuple], set[tuple[str, str]]]:
    """Forms and links found on at least half of the pages (a header's search box, the navigation bar)."""
    if len(site.pages) < 3:
        return set(), set()
    forms = collections.Counter(k for p in site.pages for k in {_form_key(f) for f in p.forms})
    links = collections.Counter(k for p in site.pages for k in {_link_key(link) for link in p.links})
    half = len(site.pages) / 2
    return {k for k, n in forms.items() if n >= half}, {k for k, n in links.items() if n >= half}


def candidate_examples(site: Site) -> list[Example]:
    by_url = {page.url: page for page in site.pages}
    words = _words(site)
    examples: list[Example] = []
    _common_forms, _ = site.common
    done_forms: set[tuple] = set()
    for index, page in enumerate(site.pages):
        examples.append(Example(page.url, f"Open the page '{page.name}'.", [f"goto [{page.path}]"]))
        parent = by_url.get(page.found_on)
        if parent and page.link_text:
            examples.append(
                Example(
                    page.url,
                    f"Starting from the page '{parent.name}', follow the link '{page.link_text}'.",
                    [f"goto [{parent.path}]", f"click [{page.link_text}]"],
                )
            )
        for form in page.forms:
            if _form_key(form) in done_forms:  # a site-wide form is shown once, on the first page that has it
                continue
            done_forms.add(_form_key(form))
            texts = [
                f
                for f in form["fields"]
                if f["label"] and f["type"] in ("text", "search", "textarea", "email", "number", "")
            ]
            if not texts:
                continue
            word = words[index % len(words)]
            field_label = texts[0]["label"]
            if form["method"] == "get":
                examples.append(
                    Example(
                        page.url,
                        f"Use the form on the page '{page.name}' to look up '{word}'.",
                        [f"goto [{page.path}]", f"type [{field_label}] [{word}] [1]"],
                    )
                )
            else:
                value = f"{word.capitalize()} {index + 1}" if texts[0]["type"] != "number" else str(index + 1)
                what = form["heading"] or page.name
                examples.append(
                    Example(
                        page.url,
                        f"On the page '{page.name}', fill in the {field_label.rstrip(':')} field "
                        f"of the '{what}' form with '{value}', without sending it.",
                        [f"goto [{page.path}]", f"type [{field_label}] [{value}]"],
                    )
                )
    return examples[:MAX_EXAMPLES]


def run_examples(step: Callable[[str], tuple[bool, str]], candidates: list[Example]) -> list[Example]:
    """Each candidate's actions run in order; kept, with the page it ends on, when none of them errs."""
    kept = []
    for example in candidates:
        result = ""
        for action in example.actions:
            ok, result = step(action)
            if not ok:
                break
        else:
            kept.append(Example(example.page, example.lead, example.actions, result))
    return kept


def _fields(form: dict[str, Any]) -> str:
    rows = []
    for f in form["fields"]:
        name = f["label"] or f["name"] or "(unlabelled)"
        options = f" (one of: {', '.join(f['options'])})" if f["options"] else ""
        rows.append(f"  - {name} [{f['type']}]{options}")
    buttons = f"; buttons: {', '.join(form['buttons'])}" if form["buttons"] else ""
    return (
        f"- a form ({form['method'].upper()}{', ' + form['heading'] if form['heading'] else ''}){buttons}:\n"
        + "\n".join(rows)
    )


def _links(links: list[dict[str, str]]) -> str:
    return ", ".join(dict.fromkeys(f"[{link['text'][:60]}]({urlsplit(link['href']).path or '/'})" for link in links))


def _page_text(page: Page, allowed: set[str], common_forms: set[tuple], common_links: set[tuple[str, str]]) -> str:
    lines = [f"URL: {page.url}", f"Path: `{page.path}`", ""]
    if page.headings:
        lines += ["Headings: " + " / ".join(page.headings[:15]), ""]
    forms = [form for form in page.forms if _form_key(form) not in common_forms]
    if forms:
        lines += ["Forms:", *[_fields(form) for form in forms], ""]
    links = [link for link in page.links if origin(link["href"]) in allowed and _link_key(link) not in common_links]
    if links:
        lines += ["Main links: " + _links(links[:30]), ""]
    excerpt = " ".join(page.text.split())[:600]
    if excerpt:
        lines += ["It reads: " + excerpt]
    return "\n".join(lines).strip()


def site_resources(env: str, site: Site, allowed: set[str], examples: list[Example]) -> list[Resource]:
    def resource(title: str, text: str, uri: str) -> Resource:
        return Resource(env=env, title=title, text=text, uri=uri, kind="crawl")

    common_forms, common_links = site.common
    navigation = [link for link in (site.pages[0].links if site.pages else []) if _link_key(link) in common_links]
    shared = [form for form in (next(iter(p.forms)) for p in site.pages if p.forms) if _form_key(form) in common_forms][
        :1
    ]
    overview = (
        f"The site at {site.start} (origins: {', '.join(sorted(allowed))}); {len(site.pages)} pages read.\n\n"
        + "\n".join(f"- `{p.path}`: {p.name}" for p in site.pages)
        + (f"\n\nOn every page, the navigation: {_links(navigation)}" if navigation else "")
        + ("\n\nOn every page, " + _fields(shared[0]) if shared else "")
    )
    resources = [resource("Overview of the site", overview, f"{site.start}#overview")]
    resources += [
        resource(f"Page {p.name}", _page_text(p, allowed, common_forms, common_links), p.url) for p in site.pages
    ]
    for page in (p for p in site.pages if p.is_help and len(p.text) > 200):
        resources.append(resource(f"Help: {page.name}", page.text[:12000], page.url + "#text"))
    by_page: dict[str, list[Example]] = collections.defaultdict(list)
    for example in examples:
        by_page[example.page].append(example)
    names = {p.url: p.name for p in site.pages}
    for url, own in by_page.items():
        for start in range(0, len(own), EXAMPLES_PER_RESOURCE):
            group = own[start : start + EXAMPLES_PER_RESOURCE]
            part = start // EXAMPLES_PER_RESOURCE + 1
            text = "\n\n".join(
                f"{e.lead}\n\n```web\n" + "\n".join(e.actions) + f"\n```\n\nIt ends on: {e.result}" for e in group
            )
            resources.append(
                resource(f"Worked examples on {names.get(url, url)} ({part})", text, f"{url}#examples/{part}")
            )
    return resources

"""Every documentation format as Markdown: the one form the section splitter reads.

Markdown and plain text pass through; HTML keeps its main content (BeautifulSoup drops scripts, styles,
navigation, headers and footers) and becomes Markdown with markdownify (headings as `#`, <pre> as fenced
blocks with their language); reStructuredText is rendered to HTML by docutils first; a PDF's text comes from
pypdf, one `## Page N` section per page.
"""

from __future__ import annotations

import io
import re
from pathlib import PurePosixPath

FORMATS = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".html": "html",
    ".htm": "html",
    ".rst": "rst",
    ".rest": "rst",
    ".pdf": "pdf",
}
CONTENT_TYPES = {
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
    "text/plain": "text",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "text/x-rst": "rst",
    "text/prs.fallenstein.rst": "rst",
    "application/pdf": "pdf",
}


class UnreadableDocument(ValueError):
    """The bytes are not a document of the format they claim (a broken PDF, binary data)."""


def format_of(name: str, content_type: str = "") -> str | None:
    """The format by content type (for URLs), else by file extension; None when it is none of ours."""
    kind = CONTENT_TYPES.get(content_type.split(";")[0].strip().lower())
    if kind and not (kind == "text" and PurePosixPath(name).suffix.lower() in FORMATS):
        return kind
    return FORMATS.get(PurePosixPath(name).suffix.lower(), kind)


def _decode(data: bytes) -> str:
    if b"\x00" in data[:4096]:
        raise UnreadableDocument("binary data, not text")
    return data.decode("utf-8", errors="replace")


def _code_language(element) -> str:
    """A <pre>'s language from its class or its <code>'s (`language-bash`, docutils' `code bash`)."""
    inner = element.find("code")
    classes = list(element.get("class") or []) + list((inner.get("class") if inner else None) or [])
    for cls in classes:
        if cls.startswith("language-"):
            return cls.removeprefix("language-")
        if cls not in ("code", "literal-block", "highlight", "sourceCode", "doctest"):
            return cls
    return ""


def html_to_markdown(html: str) -> str:
    """The page's main content as Markdown (markdownify over BeautifulSoup)."""
    from bs4 import BeautifulSoup
    from markdownify import MarkdownConverter

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "nav", "header", "footer", "aside", "noscript", "form", "template"]):
        tag.decompose()
    main = soup.find("main") or soup.find("article") or soup.select_one('[role="main"]') or soup.body or soup
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    converter = MarkdownConverter(heading_style="ATX", code_language_callback=_code_language, bullets="-")
    text = converter.convert_soup(main)
    if title and not re.search(r"^# ", text, re.M):
        text = f"# {title}\n\n{text}"
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def rst_to_markdown(rst: str) -> str:
    """reStructuredText rendered by docutils (sections as headings, literal and code blocks as <pre>)."""
    from docutils.core import publish_parts

    parts = publish_parts(
        rst,
        writer="html5",
        settings_overrides={
            "report_level": 5,
            "halt_level": 5,
            "file_insertion_enabled": False,
            "raw_enabled": False,
            "initial_header_level": 2,
            "doctitle_xform": True,
            "syntax_highlight": "none",
        },
    )
    title = parts.get("title", "")
    return ((f"# {title}\n\n" if title else "") + html_to_markdown(f"<main>{parts['body']}</main>")).strip()


def pdf_to_markdown(data: bytes, name: str) -> str:
    """A PDF's text per page (pypdf), each page a `## Page N` section under the document's title."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        title = (reader.metadata.title if reader.metadata and reader.metadata.title else "") or PurePosixPath(name).stem
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise UnreadableDocument(f"not a readable PDF ({exc})") from None
    body = "\n\n".join(f"## Page {i}\n\n{text.strip()}" for i, text in enumerate(pages, start=1) if text.strip())
    return f"# {title}\n\n{body}".strip()


def to_markdown(data: bytes, name: str, kind: str) -> str:
    if kind == "pdf":
        return pdf_to_markdown(data, name)
    text = _decode(data)
    if kind == "html":
        return html_to_markdown(text)
    if kind == "rst":
        return rst_to_markdown(text)
    return text

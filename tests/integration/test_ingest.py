"""Documentation ingestion with real files of every format (a PDF made here, HTML, reStructuredText, Markdown,
plain text) and real URLs served on 127.0.0.1: sections by headings, provenance, near-duplicates dropped,
bounded and allow-listed fetching, clear errors."""

import http.server
import threading
from pathlib import Path

import pytest
from fpdf import FPDF

from lbi.ingest import SourceError, ingest

MARKDOWN = """# Hive inspections

How the Riverside Beekeepers inspect a hive, step by step.

## Before opening

Light the smoker with dry pine needles and wait until it gives cool, white smoke. Check the weather: never open a
hive below 14 degrees or in rain.

## Reading the frames

Lift each frame straight up. Look for eggs, open brood and capped brood; note queen cells on the record card.
"""

RST = """Swarm control
=============

Colonies swarm in May and June.

Artificial swarm
----------------

Move the old hive one metre away and put a new box with the queen in its place::

    date >> swarm-log.txt

Checking queen cells
--------------------

Remove all but one open queen cell after seven days.
"""

HTML = """<!doctype html><html><head><title>Honey extraction</title><style>body{color:red}</style></head><body>
<nav><a href="/">Home</a> <a href="/shop">Shop</a></nav>
<main><h1>Honey extraction</h1><p>Extract only capped frames; uncapped honey ferments.</p>
<h2>Uncapping</h2><p>Warm the knife in hot water and slice the cappings off both faces.</p>
<h2>Spinning</h2><p>Balance the extractor with frames of equal weight.</p>
<pre><code class="language-bash">sha256sum batch-12.csv</code></pre></main>
<footer>Copyright Riverside Beekeepers</footer><script>alert(1)</script></body></html>"""


def make_pdf(path: Path) -> None:
    pdf = FPDF()
    pdf.set_title("Varroa treatment calendar")
    pdf.set_font("helvetica", size=12)
    for month, text in [
        ("August", "Count mites with a sugar roll on 300 bees; treat above three mites per hundred."),
        ("December", "Oxalic acid trickle when the colony is broodless, 5 ml per seam of bees."),
    ]:
        pdf.add_page()
        pdf.multi_cell(0, 8, f"{month}\n{text}")
    pdf.output(str(path))


@pytest.fixture
def manual(tmp_path):
    folder = tmp_path / "manual"
    (folder / "extra").mkdir(parents=True)
    (folder / "inspections.md").write_text(MARKDOWN)
    (folder / "swarms.rst").write_text(RST)
    (folder / "extraction.html").write_text(HTML)
    make_pdf(folder / "varroa.pdf")
    (folder / "notes.txt").write_text("Order new frames before March. The supplier closes in February.")
    (folder / "extra" / "inspections-copy.md").write_text(MARKDOWN)  # the same manual saved twice
    (folder / ".hidden.md").write_text("# Secret\n\n## Not docs\n\nThis is a hidden file.\n")
    (folder / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    return folder


def test_every_format_becomes_sections_with_provenance(manual):
    resources = ingest([str(manual)], "shell")
    by_title = {r.title: r for r in resources}
    assert {"Before opening", "Reading the frames"} <= set(by_title)  # Markdown by headings
    assert by_title["Before opening"].uri.endswith("inspections.md#Hive inspections/Before opening")
    assert {"Artificial swarm", "Checking queen cells"} <= set(by_title)  # reStructuredText through docutils
    assert "```\ndate >> swarm-log.txt\n```" in by_title["Artificial swarm"].text  # a literal block stays code
    assert {"Uncapping", "Spinning"} <= set(by_title)  # HTML: main content only
    spinning = by_title["Spinning"].text
    assert "```bash\nsha256sum batch-12.csv\n```" in spinning
    assert not any("alert(1)" in r.text or "Copyright" in r.text or "color:red" in r.text for r in resources)
    pages = [r for r in resources if r.uri.startswith((manual / "varroa.pdf").as_uri())]
    assert [r.title for r in pages] == ["Page 1", "Page 2"] and "sugar roll" in pages[0].text  # pypdf text
    assert pages[0].uri.endswith("#Varroa treatment calendar/Page 1")
    assert any("Order new frames" in r.text for r in resources)  # plain text
    assert all(r.kind == "docs" for r in resources)
    # the copy in extra/ is a near-duplicate of every section: dropped; hidden files and images are not read
    assert sum(r.title == "Before opening" for r in resources) == 1
    assert not any("hidden" in r.text for r in resources)


def test_bad_sources_fail_with_the_reason(manual, tmp_path):
    with pytest.raises(SourceError, match="no such file or folder"):
        ingest([str(tmp_path / "missing.md")], "sql")
    with pytest.raises(SourceError, match="not a documentation file"):
        ingest([str(manual / "logo.png")], "sql")
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 nonsense")
    with pytest.raises(SourceError, match="not a readable PDF"):
        ingest([str(broken)], "sql")
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(SourceError, match="binary data"):
        ingest([str(binary)], "sql")


@pytest.fixture
def docs_site(manual):
    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(manual), **kwargs)

        def do_GET(self):
            if self.path == "/moved":
                self.send_response(302)
                self.send_header("Location", "/extraction.html")
                self.end_headers()
                return
            if self.path == "/away":
                self.send_response(302)
                self.send_header("Location", "http://169.254.169.254/latest/meta-data")
                self.end_headers()
                return
            super().do_GET()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_urls_are_fetched_only_from_allowed_hosts(docs_site):
    resources = ingest(
        [f"{docs_site}/extraction.html", f"{docs_site}/varroa.pdf", f"{docs_site}/moved"],
        "web",
        allowed_hosts=["127.0.0.1"],
    )
    titles = [r.title for r in resources]
    assert titles.count("Uncapping") == 1 and "Page 2" in titles  # the redirect's copy is a near-duplicate
    assert any(r.uri == f"{docs_site}/extraction.html#Honey extraction/Spinning" for r in resources)
    with pytest.raises(SourceError, match="not in LBI_DOCS_ALLOWED_HOSTS"):
        ingest([f"{docs_site}/extraction.html"], "web")
    with pytest.raises(SourceError, match=r"169\.254\.169\.254"):  # a redirect off the allow-list is refused too
        ingest([f"{docs_site}/away"], "web", allowed_hosts=["127.0.0.1"])
    with pytest.raises(SourceError, match="HTTP 404"):
        ingest([f"{docs_site}/nothing.md"], "web", allowed_hosts=["127.0.0.*"])

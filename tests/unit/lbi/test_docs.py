"""Markdown sections (lbi.ingest.sections) and worked examples (lbi.docs)."""

from lbi.docs import worked_examples
from lbi.ingest.sections import split_sections

DOC = """# Guide
Intro text.

## First
Find the customers in Berlin.

```sql
SELECT * FROM customers WHERE city = 'Berlin';
```

### Detail
Still part of First.

## Second
Count them.
```sql
SELECT COUNT(*) FROM customers;
```
"""


def test_sections_keep_headings_and_subsections():
    sections = split_sections(DOC)
    assert [s.title for s in sections] == ["First", "Second"]
    assert sections[0].text.startswith("## First") and "Still part of First" in sections[0].text
    assert sections[0].path == ("Guide", "First")


def test_heading_inside_code_is_not_a_section():
    doc = "## A\n```bash\n## not a heading\n```\n"
    assert [s.title for s in split_sections(doc)] == ["A"]


def test_document_without_sections_is_one_resource():
    assert split_sections("just text")[0].text == "just text"


def test_several_top_level_headings_are_the_sections():
    assert [s.title for s in split_sections("# One\ntext\n# Two\nmore\n")] == ["One", "Two"]


def test_a_long_section_is_cut_between_blocks_never_inside_code():
    code = "```bash\n" + "\n".join(f"echo {i}" for i in range(200)) + "\n```"
    body = "\n\n".join(f"Paragraph {i} " + "word " * 60 for i in range(30))
    sections = split_sections(f"## Long\n\n{body}\n\n{code}\n", max_chars=2000)
    assert len(sections) > 3 and all(s.title.startswith("Long (part ") for s in sections)
    assert sum(s.text.count("```") for s in sections) == 2  # the code block stays whole, in one part
    assert all(len(s.text) <= 2000 or "```" in s.text for s in sections)


def test_worked_examples_carry_their_lead_sentence():
    examples = worked_examples(DOC)
    assert [e.lead for e in examples] == ["Find the customers in Berlin.", "Count them."]
    assert examples[0].language == "sql" and examples[1].code == "SELECT COUNT(*) FROM customers;"
    assert worked_examples(DOC, {"bash"}) == []

"""Markdown sections and worked examples."""

from lbi.docs import split_sections, worked_examples

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


def test_heading_inside_code_is_not_a_section():
    doc = "## A\n```bash\n## not a heading\n```\n"
    assert [s.title for s in split_sections(doc)] == ["A"]


def test_document_without_sections_is_one_resource():
    assert split_sections("just text")[0].text == "just text"


def test_worked_examples_carry_their_lead_sentence():
    examples = worked_examples(DOC)
    assert [e.lead for e in examples] == ["Find the customers in Berlin.", "Count them."]
    assert examples[0].language == "sql" and examples[1].code == "SELECT COUNT(*) FROM customers;"

"""A worked example's lead keeps the whole title of a page whatever punctuation the title holds."""

import pytest

from lbi.docs import worked_examples


@pytest.mark.parametrize(
    "title",
    [
        "harbour_db: sailings: 8,715 rows",
        'Report "Q3: late ferries"',
        "Timetable | Spring edition",
        "Fares — Adults: £12. Children: £6!",
        "It's: what? 12 results",
    ],
)
def test_titles_with_colons_quotes_and_bars_stay_whole(title):
    markdown = (
        f"## Pages\n\nThe site lists its pages. Starting from the page '{title}', follow the link 'Next: more'.\n\n"
        "```web\ngoto [/a]\nclick [Next: more]\n```\n"
    )
    (example,) = worked_examples(markdown, {"web"})
    assert example.lead == f"Starting from the page '{title}', follow the link 'Next: more'."


@pytest.mark.parametrize(
    "ended_on", ["URL: http://h/herbarium/Locality Title: herbarium: Locality: 9 rows", "3 results"]
)
def test_a_paragraph_without_a_full_stop_does_not_run_into_the_next_lead(ended_on):
    """The text a previous example ended on (a page title, a count) is its own paragraph, not part of the lead."""
    block = "```web\ngoto [/herbarium]\nclick [Collector]\n```\n"
    markdown = (
        f"Open the page 'herbarium'.\n\n{block}\nIt ends on: {ended_on}\n\nFollow the link 'Collector'.\n\n{block}"
    )
    assert [e.lead for e in worked_examples(markdown, {"web"})] == [
        "Open the page 'herbarium'.",
        "Follow the link 'Collector'.",
    ]
    wrapped = f"It ends on: {ended_on}\n\nStarting from the page 'herbarium', follow\nthe link 'Collector'.\n\n{block}"
    assert worked_examples(wrapped)[0].lead == "Starting from the page 'herbarium', follow the link 'Collector'."

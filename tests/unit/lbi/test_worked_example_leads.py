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

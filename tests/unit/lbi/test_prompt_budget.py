"""The prompt block keeps whole examples within a character and a token budget, counted by the agent's tokenizer."""

from lbi.prompt_block import HEADER, format_prompt
from lbi.records import Example, Origin, Step


def _examples(n: int) -> list[Example]:
    return [
        Example(
            f"Archive the shipment manifest number {i}.",
            "shell",
            (Step("$ ", f"mv manifests/{i}.csv archive/"),),
            "",
            Origin.FORWARD,
            f"t{i}",
            0,
            1,
        )
        for i in range(n)
    ]


def test_the_agents_tokenizer_decides_what_fits():
    words = lambda text: len(text.split())  # noqa: E731 - an agent's own tokenizer: one token per word
    examples = _examples(6)
    whole = format_prompt(examples, 0, budget_tokens=10_000, count_tokens=words)
    assert whole.count("### Example") == 6
    budget = words(whole) // 2
    half = format_prompt(examples, 0, budget_tokens=budget, count_tokens=words)
    assert 0 < half.count("### Example") < 6 and words(half) <= budget
    assert format_prompt(examples, 0, budget_tokens=words(HEADER), count_tokens=words) == ""
    assert format_prompt(examples, 0) == ""  # no budget at all: no block
    assert len(format_prompt(examples, 300, budget_tokens=10_000, count_tokens=words)) <= 300

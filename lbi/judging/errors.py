"""The one error of the judging library: an evaluator lbi cannot apply as written."""


class JudgingError(ValueError):
    """A malformed or unsupported evaluator: an unknown function, option, rule or method (the message names it), or
    an `expected` input that is not what the function reads. What the agent produced never raises this: a missing or
    broken result file scores 0."""

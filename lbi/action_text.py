"""What an environment's actions look like as text: the code-block languages that hold them, and an action a
model wrapped in a code fence, unwrapped.

Models often fence an action (```sql ... ```) although the action space asks for the bare action; the runner
would take the fence as part of it (a syntax error, an "empty action"). One fence of the environment's language
(or an unmarked one) around the whole action is removed; a fence of another language is left alone (a desktop
agent's ```python block is its pyautogui action).
"""

from __future__ import annotations

import re

# The code-block languages whose lines are actions of an environment (an unmarked block counts for every one):
# a README's Python block is not a shell command.
ACTION_LANGUAGES: dict[str, set[str]] = {
    "sql": {"sql", "sqlite", "postgresql", "postgres", "mysql", "duckdb"},
    "shell": {"bash", "sh", "shell", "console", "zsh"},
    "repo": {"bash", "sh", "shell", "console"},
    "web": {"web"},
    "desktop": {"desktop"},
}

_WHOLE_FENCE = re.compile(r"\A\s*```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)\n?[ \t]*```\s*\Z", re.S)
_INLINE = re.compile(r"\A\s*`([^`\n]+)`\s*\Z")


def unwrap_action(env: str, action: str) -> str:
    """`action` without a fence of `env`'s language (or an unmarked fence, or inline backticks) around all of it."""
    fenced = _WHOLE_FENCE.match(action)
    if fenced:
        language = fenced.group(1).lower()
        if not language or language in ACTION_LANGUAGES.get(env, set()):
            return fenced.group(2).strip("\n")
        return action
    inline = _INLINE.match(action)
    return inline.group(1) if inline else action

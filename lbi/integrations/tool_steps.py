"""What every agent-framework adapter shares: how a tool call becomes an episode's step, and how retrieved
demonstrations join the agent's instructions."""

from __future__ import annotations

import json
from typing import Any

DEMONSTRATIONS_HEADING = "Reference demonstrations (examples of tasks done in this environment; use what applies):"


def tool_action(name: str, arguments: Any) -> str:
    """A tool call as an episode's action: `name {"arg": ...}` (arguments as compact JSON, keys sorted)."""
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError:
            return f"{name} {arguments}"
    return f"{name} {json.dumps(arguments, sort_keys=True, ensure_ascii=False, separators=(',', ':'))}"


def with_demonstrations(instructions: str, block: str) -> str:
    """The agent's instructions followed by the current step's demonstrations (none: the instructions alone)."""
    return f"{instructions}\n\n{DEMONSTRATIONS_HEADING}\n{block}" if block else instructions

"""The desktop environment's actions, parsed on the runner: a command line, or OSWorld's pyautogui code.

Commands (one per step): `click [id]`, `click [Name]`, `click X Y`, `double_click ...`, `right_click ...`,
`type [id] "text"`, `type "text"`, `hotkey ctrl+s`, `press Enter` (optionally `press Down 3`), `scroll up|down
[id] [N]`, `drag X1 Y1 X2 Y2`, `wait S`, `done [answer]`, `fail`. A target in brackets is an element's [id] in
the last observation or its name (first element so named). Quoted text is a JSON string (so "\\n" is Enter), or
plain text to the end of the line. Code (a ```python block, or text that calls `pyautogui.`) is OSWorld's form,
run by the session's own Python inside its sandbox. A bad command raises ValueError with what is wrong.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

KEY_NAMES = {
    "enter": "Return",
    "return": "Return",
    "esc": "Escape",
    "escape": "Escape",
    "backspace": "BackSpace",
    "del": "Delete",
    "delete": "Delete",
    "tab": "Tab",
    "space": "space",
    "up": "Up",
    "down": "Down",
    "left": "Left",
    "right": "Right",
    "home": "Home",
    "end": "End",
    "pageup": "Prior",
    "pagedown": "Next",
    "pgup": "Prior",
    "pgdn": "Next",
    "insert": "Insert",
    "ctrl": "ctrl",
    "control": "ctrl",
    "alt": "alt",
    "shift": "shift",
    "super": "super",
    "win": "super",
    "cmd": "super",
    "meta": "super",
    "menu": "Menu",
    **{f"f{i}": f"F{i}" for i in range(1, 13)},
}
_KEY = re.compile(r"^[A-Za-z0-9_]+$|^[^\s+]$")
_CODE_FENCE = re.compile(r"\A\s*```[ \t]*(python|py|python3)?[^\n]*\n(.*?)\n?[ \t]*```\s*\Z", re.S)
_TARGET = re.compile(r"^\[([^\]]+)\]\s*")
VERBS = ("click", "double_click", "right_click", "type", "hotkey", "press", "scroll", "drag", "wait", "done", "fail")


@dataclass(frozen=True)
class Command:
    verb: str
    args: dict[str, Any] = field(default_factory=dict)

    def request(self) -> dict[str, Any]:
        return {"verb": self.verb, **self.args}


@dataclass(frozen=True)
class Code:
    source: str


@dataclass(frozen=True)
class Finish:
    ok: bool
    answer: str = ""


Parsed = Command | Code | Finish


def parse(action: str) -> Parsed:
    text = action.strip()
    if not text:
        raise ValueError("empty action")
    fenced = _CODE_FENCE.match(text)
    if fenced and (fenced.group(1) or "pyautogui" in fenced.group(2)):
        return Code(fenced.group(2))
    if fenced:  # an unmarked fence around a command
        text = fenced.group(2).strip()
    if re.search(r"\bpyautogui\.", text) or text.startswith(("import ", "from ")):
        return Code(text)
    head, _, rest = text.partition(" ")
    verb = head.lower()
    if verb == "stop":
        verb = "done"
    if verb not in VERBS:
        raise ValueError(f"unknown action {head[:40]!r}; actions: {', '.join(VERBS)} or a pyautogui code block")
    rest = rest.strip()
    if "\n" in rest and verb != "type":
        raise ValueError("one action per step (this one spans several lines)")
    if verb in ("click", "double_click", "right_click"):
        return Command(verb, {"target": _target(rest, required=True)})
    if verb == "type":
        target = None
        match = _TARGET.match(rest)
        if match:
            target, rest = _target_of(match.group(1)), rest[match.end() :]
        return Command("type", {"target": target, "text": _text(rest)})
    if verb in ("hotkey", "press"):
        keys, _, count = rest.partition(" ")
        repeat = int(count) if count.strip().isdigit() else 1
        if verb == "hotkey" and count.strip() and not count.strip().isdigit():  # `hotkey ctrl s` (pyautogui's order)
            keys, repeat = "+".join(rest.split()), 1
        return Command(verb, {"keys": _keys(keys), "repeat": min(repeat, 50)})
    if verb == "scroll":
        direction, _, more = rest.partition(" ")
        if direction.lower() not in ("up", "down"):
            raise ValueError("scroll up or scroll down, then optionally [id] and an amount")
        more = more.strip()
        target = None
        match = _TARGET.match(more)
        if match:
            target, more = _target_of(match.group(1)), more[match.end() :].strip()
        amount = int(more) if more.isdigit() else 3
        return Command("scroll", {"direction": direction.lower(), "target": target, "amount": min(amount, 50)})
    if verb == "drag":
        numbers = rest.split()
        if len(numbers) != 4 or not all(n.lstrip("-").isdigit() for n in numbers):
            raise ValueError("drag needs four numbers: X1 Y1 X2 Y2")
        return Command("drag", {"points": [int(n) for n in numbers]})
    if verb == "wait":
        try:
            seconds = float(rest or "1")
        except ValueError:
            raise ValueError("wait needs a number of seconds") from None
        return Command("wait", {"seconds": max(0.0, min(seconds, 10.0))})
    if verb == "done":
        answer = rest[1:-1] if rest.startswith("[") and rest.endswith("]") else rest
        return Finish(True, answer.strip())
    return Finish(False, rest)


def _target(rest: str, required: bool) -> dict[str, Any] | None:
    match = _TARGET.match(rest)
    if match and not rest[match.end() :].strip():
        return _target_of(match.group(1))
    numbers = rest.split()
    if len(numbers) == 2 and all(n.isdigit() for n in numbers):
        return {"xy": [int(numbers[0]), int(numbers[1])]}
    if required:
        raise ValueError("name the element as [id] (or [Name]) from the observation, or give X Y")
    return None


def _target_of(inside: str) -> dict[str, Any]:
    inside = inside.strip()
    return {"id": int(inside)} if inside.isdigit() else {"name": inside}


def _text(rest: str) -> str:
    rest = rest.strip()
    if not rest:
        raise ValueError('type needs text: type "hello" or type [id] "hello"')
    if rest.startswith('"') and rest.endswith('"') and len(rest) >= 2:
        try:
            value = json.loads(rest)
        except json.JSONDecodeError:
            value = rest[1:-1]
        return str(value)
    if rest.startswith("'") and rest.endswith("'") and len(rest) >= 2:
        return rest[1:-1]
    return rest


def _keys(spec: str) -> str:
    """`ctrl+shift+s` as xdotool names it; ValueError for an unknown key."""
    spec = spec.strip()
    if not spec:
        raise ValueError("name the keys: hotkey ctrl+s, press Enter")
    parts = spec.replace(" ", "").split("+") if spec != "+" else ["plus"]
    out = []
    for part in parts:
        if not part or not _KEY.match(part):
            raise ValueError(f"not a key: {part!r}")
        out.append(KEY_NAMES.get(part.lower(), part))
    return "+".join(out)

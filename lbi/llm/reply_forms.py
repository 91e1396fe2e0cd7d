"""Replies that are not one JSON object, read into a role's fields: Python literals, XML-like tags, labelled lines.

Models of other families and agent frameworks answer in forms of their own:
- a **Python literal** (single quotes, True/False/None) or JSON with trailing commas: read with `ast` (the literal
  names of both languages mapped), from a span whose brackets balance outside strings;
- **XML-like tags**: `<action>...</action>` (one tag per field, nested for objects, one child tag per list item),
  Anthropic's `<invoke><parameter name="action">...</parameter></invoke>`, a field as an attribute
  (`<aligned ok="true">reason</aligned>`);
- **labelled lines**: ReAct ("Thought: ..." / "Action: ..." / "Action Input: ..." / "Final Answer: ..."), bold
  markdown labels ("**Action:**" then a fence), "Aligned: yes - reason". A field's value runs to the next known
  label or the end of its paragraph (a fence holds blank lines); an "Observation:" the model imagined, and all after
  it, is dropped.

Labels are the schema's own field names and a few aliases (`ALIASES`); "Final Answer" (and a LangChain action named
"Final Answer") means stop with that answer where the schema has `stop`. A field's text is converted to the field's
type (yes/true to a boolean, bullet or numbered lines or child tags to a list, "yes - reason" to a verdict). In a reply
cut at its token limit only complete values count: a closing tag, a label or paragraph after the value.
"""

from __future__ import annotations

import ast
import html
import json
import re
import warnings
from typing import Any, get_args, get_origin

from pydantic import BaseModel

from lbi.action_text import ACTION_LANGUAGES

# Labels (lower case, spaces for underscores) that name a field besides its own name, most specific first.
ALIASES: dict[str, tuple[str, ...]] = {
    "thought": ("thought", "thoughts", "thinking", "reasoning", "plan"),
    "action": ("action input", "command", "action", "sql", "bash", "code"),
    "answer": ("final answer", "answer", "final"),
    "instruction": ("instruction", "task", "label", "summary", "final answer", "answer"),
    "queries": ("queries", "search queries", "query", "search query", "final answer", "answer"),
    "tasks": ("tasks", "task list", "final answer", "answer"),
    "labels": ("labels", "final answer", "answer"),
    "reason": ("reason", "why", "explanation"),
    "ok": ("ok", "verdict", "passed", "pass"),
}
_STOPS = {"final answer", "final", "finish", "stop", "done", "answer"}  # an action that means "stop"
_IMAGINED = {"observation", "observations", "result of action"}  # what a ReAct model imagines after acting
_WHOLE = ("final answer", "answer", "output", "response", "result", "json")  # labels whose value may be the object
_TRUE = {"true", "yes", "y", "ok", "pass", "passed", "1", "correct", "✅", "✓", "aligned", "coherent", "natural"}
_FALSE = {"false", "no", "n", "fail", "failed", "0", "incorrect", "not", "❌", "✗"}

_LABEL = re.compile(
    r"^[ \t]*(?:[-*>#]+[ \t]*)?(?:\*\*|__)?[ \t]*([A-Za-z][A-Za-z _-]{0,30}?)(?:[ \t]+\d+)?[ \t]*(?:\*\*|__)?[ \t]*:"
    r"(?:[ \t]*(?:\*\*|__)(?=\s))?[ \t]*",
    re.M,
)
_FENCE_LINE = re.compile(r"^[ \t]*```", re.M)
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)]|\(\d+\))\s+")
_CHILD = re.compile(r"<([A-Za-z_][\w-]*)(\s[^>]*)?>(.*?)</\1\s*>", re.S)
_ATTRIBUTE = re.compile(r"""([A-Za-z_][\w-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_CDATA = re.compile(r"\A\s*<!\[CDATA\[(.*)\]\]>\s*\Z", re.S)


def _key(label: str) -> str:
    return re.sub(r"[\s_-]+", " ", label.strip().lower())


def _labels(field: str) -> tuple[str, ...]:
    own = _key(field)
    return ALIASES.get(field, ()) + ((own,) if own not in ALIASES.get(field, ()) else ())


# ---- literals ------------------------------------------------------------------------------------------------


def balanced_end(text: str, start: int) -> int | None:
    """The index after the bracket closing the one at `start` (quotes of either kind respected), or None."""
    closing = {"{": "}", "[": "]", "(": ")"}
    stack: list[str] = []
    quote = ""
    i = start
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif c in closing:
            stack.append(closing[c])
        elif c in ")]}":
            if not stack or stack.pop() != c:
                return None
            if not stack:
                return i + 1
        i += 1
    return None


_NAMES = {"true": True, "false": False, "null": None, "True": True, "False": False, "None": None}


def _from_node(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name) and node.id in _NAMES:
        return _NAMES[node.id]
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise ValueError("** in a literal")
        return {_from_node(k): _from_node(v) for k, v in zip(node.keys, node.values, strict=True)}  # type: ignore[arg-type]
    if isinstance(node, ast.List | ast.Tuple):
        return [_from_node(e) for e in node.elts]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _from_node(node.operand)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return -value if isinstance(node.op, ast.USub) else value
    raise ValueError(f"not a literal: {type(node).__name__}")


def literal(text: str) -> Any:
    """A Python or JSON literal (trailing commas, single quotes, True/true, None/null), or raises ValueError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences in JSON-ish strings
            tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise ValueError(str(exc)) from None
    return _from_node(tree.body)


def literal_values(text: str, limit: int = 20) -> list[Any]:
    """Every object or list literal in `text` (outermost first), read as Python/JSON literals."""
    values, position = [], 0
    for _ in range(limit):
        starts = [i for i in (text.find("{", position), text.find("[", position)) if i >= 0]
        if not starts:
            break
        start = min(starts)
        end = balanced_end(text, start)
        if end is None:
            position = start + 1
            continue
        try:
            values.append(literal(text[start:end]))
            position = end
        except ValueError:
            position = start + 1
    return values


# ---- field values --------------------------------------------------------------------------------------------


_WORD = re.compile(r"[\w✅✓❌✗]+")


def _boolean(text: str) -> bool | None:
    word = _WORD.search(text.lower())
    if word is None:
        return None
    return True if word.group() in _TRUE else False if word.group() in _FALSE else None


def _items(text: str) -> list[str]:
    text = text.strip()
    children = _CHILD.findall(text)
    if children:
        return [_clean(body) for _, _, body in children if _clean(body)]
    if text.startswith("["):
        try:
            value = literal(text[: balanced_end(text, 0) or len(text)])
            if isinstance(value, list):
                return [str(v) for v in value]
        except ValueError:
            pass
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) > 1 or (lines and _BULLET.match(lines[0])):
        return [_BULLET.sub("", line).strip().strip('"') for line in lines if _BULLET.sub("", line).strip()]
    return [text.strip().strip('"')] if text.strip() else []


def _clean(text: str) -> str:
    cdata = _CDATA.match(text)
    if cdata:
        return cdata.group(1).strip()
    text = text.strip()
    if re.search(r"&(lt|gt|amp|quot|apos|#\d+);", text):
        text = html.unescape(text)
    return text


def _verdict(text: str, attributes: dict[str, str] | None = None) -> dict[str, Any] | None:
    """'yes - reason' (or tags / attributes inside) as {"ok": ..., "reason": ...}."""
    found = read_tags(text, ("ok", "reason")) if "<" in text else {}
    ok = found.get("ok")
    if attributes:
        for name in ALIASES["ok"]:
            if name in attributes:
                ok = attributes[name]
    if ok is not None:
        verdict = _boolean(str(ok))
        reason = str(found.get("reason") or re.sub(r"<[^>]+>.*?</[^>]+>", "", text, flags=re.S)).strip()
        return {"ok": verdict, "reason": reason} if verdict is not None else None
    verdict = _boolean(text)
    word = _WORD.search(text)
    if verdict is None or word is None:
        return None
    return {"ok": verdict, "reason": text[word.end() :].lstrip(" \t\n-\u2014\u2013:,.;(").strip()}


def _convert(annotation: Any, text: str, attributes: dict[str, str] | None = None) -> Any:
    """The text of one field as the field's type (None: it cannot be read as one)."""
    origin = get_origin(annotation)
    if origin is not None and str(origin).endswith("Annotated"):
        annotation = get_args(annotation)[0]
        origin = get_origin(annotation)
    if annotation is bool:
        return _boolean(text)
    if annotation is int:
        number = re.search(r"-?\d+", text)
        return int(number.group()) if number else None
    if origin is list:
        (item,) = get_args(annotation) or (str,)
        if isinstance(item, type) and issubclass(item, BaseModel):
            values = [v for v in literal_values(text, 5) if isinstance(v, list)]
            if values:
                return values[0]
            children = [read_tags(body, tuple(item.model_fields)) for _, _, body in _CHILD.findall(text)]
            return [c for c in children if c] or None
        return _items(text)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if set(annotation.model_fields) == {"ok", "reason"}:
            return _verdict(text, attributes)
        nested = read_tags(text, tuple(annotation.model_fields))
        return nested or None
    return _clean(text)


# ---- XML-like tags -------------------------------------------------------------------------------------------


def read_tags(text: str, fields: tuple[str, ...], model: type[BaseModel] | None = None) -> dict[str, Any]:
    """The fields found as tags (`<field>...</field>`, `<parameter name="field">`), converted when `model` is given."""
    found: dict[str, Any] = {}
    closed = {_key(m) for m in re.findall(r"</\s*([A-Za-z_][\w -]*)\s*>", text)}  # no closing tag, no field
    for name in fields:
        for label in _labels(name):
            if label not in closed and not ({"parameter", "param", "arg", "argument"} & closed):
                continue
            tag = re.escape(label).replace("\\ ", "[ _-]")
            match = re.search(rf"<({tag})(\s[^>]*)?>(.*?)</\1\s*>", text, re.S | re.I) or re.search(
                rf"<(parameter|param|arg|argument)\s+name\s*=\s*[\"']{tag}[\"']\s*()>(.*?)</\1\s*>", text, re.S | re.I
            )
            if not match:
                continue
            attributes = {k.lower(): a or b for k, a, b in _ATTRIBUTE.findall(match.group(2) or "")}
            body = match.group(3)
            value = _convert(model.model_fields[name].annotation, body, attributes) if model else _clean(body)
            if value is None or value == "":
                continue
            found[name] = value
            break
    return found


# ---- labelled lines -------------------------------------------------------------------------------------------


def _first_paragraph(value: str) -> tuple[str, bool]:
    """The value up to its first blank line outside a fence, and whether a blank line ended it there."""
    value = value.strip("\n")
    inside = False
    lines = value.splitlines()
    for index, line in enumerate(lines):
        if _FENCE_LINE.match(line):
            inside = not inside
        elif not line.strip() and not inside and index > 0:
            return "\n".join(lines[:index]).strip(), True
    return value.strip(), False


def _fenced_only(value: str) -> str:
    """A value holding a fence and prose around it: the fence alone (the agent unwraps its language's fence); a
    one-line ```command``` without its backticks."""
    one_line = re.fullmatch(r"\s*```([^`\n]+)```\s*", value)
    if one_line:
        return one_line.group(1).strip()
    fence = re.search(r"```[^\n]*\n.*?\n[ \t]*```", value, re.S)
    if fence and value.strip() != fence.group(0).strip():
        return fence.group(0)
    return value


def lone_fence_move(text: str) -> dict[str, Any] | None:
    """A reply whose only code is one fence in an action language (```sql, ```bash, ...): that fence as the
    action, the prose before it as the thought. Tried last, when the reply holds no other form."""
    fences = list(re.finditer(r"```[ \t]*([\w+#.-]*)[^\n`]*\n(.*?)\n?[ \t]*```", text, re.S))
    languages = set().union(*ACTION_LANGUAGES.values())
    if len(fences) != 1 or fences[0].group(1).lower() not in languages or not fences[0].group(2).strip():
        return None
    return {"thought": text[: fences[0].start()].strip()[:500], "action": fences[0].group(2).strip("\n")}


def _segments(text: str, known: set[str], truncated: bool) -> tuple[list[tuple[str, str]], str]:
    """(label, value) pairs for the known labels, in order, up to an imagined observation; and the label whose value
    the token limit cut (then left out)."""
    matches = [m for m in _LABEL.finditer(text) if _key(m.group(1)) in known | _IMAGINED]
    out: list[tuple[str, str]] = []
    for index, match in enumerate(matches):
        label = _key(match.group(1))
        if label in _IMAGINED:
            if out:
                break
            continue
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        value, ended = _first_paragraph(text[match.end() : end])
        last = index + 1 == len(matches)
        if truncated and last and not ended:
            return out, label  # the reply was cut inside this value
        out.append((label, value))
    return out, ""


def read_labelled(text: str, model: type[BaseModel], truncated: bool) -> list[dict[str, Any]]:
    """Candidates from labelled lines: objects a whole-answer label holds, then the fields read from the labels."""
    fields = model.model_fields
    known = {label for name in fields for label in _labels(name)} | set(_WHOLE)
    segments, cut = _segments(text, known, truncated)
    if cut == "action input":
        segments = [(label, value) for label, value in segments if label != "action"]  # its input was cut
    if not segments:
        return []
    candidates: list[dict[str, Any]] = []
    for label, value in segments:
        if label in _WHOLE and value.lstrip()[:1] == "{":
            start = value.index("{")
            end = balanced_end(value, start)
            try:
                whole = literal(value[start:end]) if end else None
            except ValueError:
                whole = None
            if isinstance(whole, dict):
                candidates.append(whole)
    values = dict(reversed(segments))  # the first value of each label
    found: dict[str, Any] = {}
    if "action" in fields:
        action, answer = _labelled_action(values)
        if action:
            found["action"] = action
        if answer is not None:
            found["answer"] = answer
    for name, field in fields.items():
        if name in found or name == "action":
            continue
        for label in _labels(name):
            read = _convert(field.annotation, values[label]) if label in values else None
            if read is not None and read != "":
                found[name] = read
                break
    if found:
        candidates.append(_answer_stops(found, model))
    return candidates


def _answer_stops(found: dict[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    """A final answer given in a form (a label, a tag) ends the episode unless the form says `stop` itself."""
    if "stop" in model.model_fields and found.get("answer"):
        found.setdefault("stop", True)
    return found


def _labelled_action(values: dict[str, str]) -> tuple[str, str | None]:
    """The action the labels give, and the answer when the action is a LangChain "Final Answer" (stop)."""
    tool, given = values.get("action"), values.get("action input")
    if given is not None:
        command = _action_input(given)
        if tool is not None and _key(tool.strip("`* ")) in _STOPS:
            return "", command
        return command, None
    for label in ("command", "action", "sql", "bash", "code"):
        if label in values:
            text = _fenced_only(values[label])
            return ("", None) if _key(text.strip("`* ")) in _STOPS else (text, None)
    return "", None


def _action_input(value: str) -> str:
    """A LangChain "Action Input": the text, or the one command a JSON object holds ({"query": "..."})."""
    stripped = value.strip()
    if stripped.startswith("{"):
        try:
            obj = literal(stripped[: balanced_end(stripped, 0) or len(stripped)])
        except ValueError:
            return stripped
        if isinstance(obj, dict):
            strings = [v for v in obj.values() if isinstance(v, str)]
            if len(strings) == 1:
                return strings[0]
    if len(stripped) > 1 and stripped[0] == stripped[-1] == '"' and '"' not in stripped[1:-1]:
        return stripped[1:-1]
    return stripped


def read_forms(text: str, model: type[BaseModel], truncated: bool) -> list[dict[str, Any]]:
    """Candidate objects from the tags and labelled lines of a reply, tags first."""
    tagged = read_tags(text, tuple(model.model_fields), model)
    return ([_answer_stops(tagged, model)] if tagged else []) + read_labelled(text, model, truncated)


def envelope(value: dict[str, Any]) -> list[dict[str, Any]]:
    """The objects a tool-call envelope holds ({"name": ..., "arguments": {...}}, {"function": {...}},
    {"tool_calls": [...]}, {"parameters": ...}); arguments given as a JSON string are read too."""
    inner: list[dict[str, Any]] = []
    for key in ("arguments", "parameters", "input", "args", "function", "tool_input"):
        held = value.get(key)
        if isinstance(held, str) and held.strip().startswith("{"):
            try:
                held = literal(held)
            except ValueError:
                continue
        if isinstance(held, dict):
            inner += [held, *envelope(held)]
    calls = value.get("tool_calls")
    if isinstance(calls, list) and calls and isinstance(calls[0], dict):
        inner += envelope(calls[0])
    return inner


def langchain_move(value: dict[str, Any]) -> dict[str, Any] | None:
    """A LangChain agent's JSON ({"action": "<tool>", "action_input": "..."}) as a move."""
    key = next((k for k in ("action_input", "Action Input", "action input", "actionInput") if k in value), None)
    if key is None:
        return None
    given = value[key]
    command = given if isinstance(given, str) else _action_input(json.dumps(given))
    if _key(str(value.get("action", ""))) in _STOPS:
        return {"thought": value.get("thought", ""), "stop": True, "answer": command}
    return {"thought": value.get("thought", ""), "action": command}

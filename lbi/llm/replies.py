"""Reading a model's reply into a role's schema, as real models write replies.

Real models wrap their JSON in prose, fence it (in ```json, or in the wrong language), think out loud in
`<think>` blocks first, answer with single quotes or trailing commas, or give a bare list where one list
field is asked for; models of other families and agent frameworks write ReAct lines, XML-like tags, Python
literals, bold markdown labels around a fence, or a tool-call envelope as text. The reader tries, in order, and
takes the first candidate that fits the schema:

1. the whole reply (think blocks removed), then the body of each ```json fence, then of every other fence, as JSON;
2. the reply's XML-like tags and labelled lines ("Thought:", "Action:", "Action Input:", "Final Answer:",
   "**Action:**" and a fence, "Aligned: yes - ...") read into the schema's fields (lbi.llm.reply_forms);
3. each JSON value found in the text (`json.JSONDecoder.raw_decode` at every `{` and `[`), then each balanced
   span read as a Python/JSON literal with `ast` (single quotes, True/None, trailing commas);
4. the same places repaired by `json_repair`, unless the reply was cut at its token limit: a cut reply is never
   "repaired" into a shorter answer (only complete values count: a closed tag, a balanced object, a label's value
   that ended before the cut);
5. for the agent's move, a reply whose only code is one fence in an action language (```sql, ```bash): that fence.

A candidate that does not fit is also tried for what it holds: a tool-call envelope (`{"name": ..., "arguments":
{...}}`, `{"function": ...}`) and a LangChain move (`{"action": "<tool>", "action_input": "..."}`). A null field is
a field not given. A bare list is accepted where the schema has exactly one required list field. Strings and lists
longer than the schema allows are clipped by the schema's own validators (lbi.llm.roles), not rejected. When
nothing fits, the error says why the most promising candidate failed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from lbi.llm.reply_forms import envelope, langchain_move, literal_values, lone_fence_move, read_forms

Reply = TypeVar("Reply", bound=BaseModel)

_THINK = re.compile(r"<(think|thinking|reasoning)>.*?</\1>", re.S | re.I)
_THINK_CLOSE = re.compile(r"</(think|thinking|reasoning)>", re.I)
_THINK_OPEN = re.compile(r"<(think|thinking|reasoning)>", re.I)
_FENCE = re.compile(r"```[ \t]*([\w+#.-]*)[^\n`]*\n?(.*?)```", re.S)
_DECODER = json.JSONDecoder()
_MAX_STARTS = 200  # JSON starts tried in one reply: a reply full of braces is not searched forever


class ReplyError(ValueError):
    """The reply holds nothing that fits the schema; the message says why."""


def strip_thinking(text: str) -> str:
    """The reply without its reasoning: closed think blocks removed; text before a lone closing tag dropped (some
    models omit the opening tag); an unclosed opening tag means everything after it was thinking."""
    text = _THINK.sub("", text)
    closes = list(_THINK_CLOSE.finditer(text))
    if closes:
        text = text[closes[-1].end() :]
    opened = _THINK_OPEN.search(text)
    if opened:
        text = text[: opened.start()]
    return text.strip()


def _fences(text: str) -> list[str]:
    found = [(m.group(1).lower(), m.group(2)) for m in _FENCE.finditer(text)]
    return [body for lang, body in found if lang == "json"] + [body for lang, body in found if lang != "json"]


def _embedded_values(text: str) -> list[Any]:
    """Every JSON object or array that starts somewhere in `text`, outermost first, in order."""
    values, position, tried = [], 0, 0
    while tried < _MAX_STARTS:
        starts = [i for i in (text.find("{", position), text.find("[", position)) if i >= 0]
        if not starts:
            break
        start = min(starts)
        tried += 1
        try:
            value, end = _DECODER.raw_decode(text, start)
        except json.JSONDecodeError:
            position = start + 1
            continue
        values.append(value)
        position = end
    return values


def _repaired_values(text: str) -> list[Any]:
    """Objects repaired by json_repair, each from a `{` up to one of the last closing braces: a JSON text that never
    closes was cut short, and is not completed into a shorter answer."""
    from json_repair import repair_json

    values = []
    for match in list(re.finditer(r"\{", text))[:20]:
        ends = [m.start() for m in re.finditer(r"\}", text[match.start() :])][::-1][:5]
        for end in ends:  # the longest span first: a shorter one may end inside a string
            try:
                value = repair_json(
                    text[match.start() : match.start() + end + 1], return_objects=True, skip_json_loads=True
                )
            except Exception:  # json_repair gives up on some inputs with its own errors
                continue
            if isinstance(value, dict) and value:  # a "repaired" list is most often prose in brackets
                values.append(value)
    return values


def _single_list_field(model: type[BaseModel]) -> str | None:
    lists = [
        name
        for name, field in model.model_fields.items()
        if field.is_required() and getattr(field.annotation, "__origin__", None) is list
    ]
    return lists[0] if len(lists) == 1 and len(model.model_fields) == 1 else None


def _fit(value: Any, model: type[Reply]) -> Reply:
    if isinstance(value, list):
        field = _single_list_field(model)
        if field is None:
            raise ReplyError("the reply is a JSON list, and the schema asks for an object")
        value = {field: value}
    if not isinstance(value, dict):
        raise ReplyError(f"the reply is a JSON {type(value).__name__}, and the schema asks for an object")
    value = {k: v for k, v in value.items() if v is not None}  # "answer": null is an answer not given
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'root'}: {e['msg']}" for e in exc.errors())
        raise ReplyError(f"JSON does not match the schema: {problems}") from exc


def _strict(text: str) -> list[Any]:
    """The whole reply and each fence (json first), as JSON."""
    values: list[Any] = []
    for source in (text, *_fences(text)):
        try:
            values.append(json.loads(source.strip()))
        except json.JSONDecodeError:
            continue
    return values


def _embedded(text: str) -> list[Any]:
    """Every JSON value in the fences, then in the text; then the same places read as Python/JSON literals."""
    sources = [*_fences(text), text]
    return [v for s in sources for v in _embedded_values(s)] + [v for s in sources for v in literal_values(s)]


def _unwrapped(values: Iterable[Any], model: type[BaseModel]) -> Iterator[Any]:
    """Each value (a LangChain move read as one first), then what a tool-call envelope in it holds."""
    for value in values:
        move = langchain_move(value) if isinstance(value, dict) and "action" in model.model_fields else None
        if move is not None:  # its "action" names a tool, "action_input" is the action
            yield move
        yield value
        if isinstance(value, dict):
            yield from envelope(value)


def _each(body: str, model: type[BaseModel], truncated: bool) -> Iterator[Any]:
    """Candidates in order: strict JSON, the reply's tags and labelled lines, embedded JSON and literals, (unless the
    reply was cut) objects repaired by json_repair, then a lone action fence. Each stage is computed only when the
    ones before found nothing that fits."""
    yield from _unwrapped(_strict(body), model)
    yield from read_forms(body, model, truncated)
    yield from _unwrapped(_embedded(body), model)
    if not truncated:
        yield from _unwrapped(_repaired_values(body), model)
    move = lone_fence_move(body) if "action" in model.model_fields else None
    if move is not None:
        yield move


def parse_reply(text: str | None, model: type[Reply], truncated: bool = False) -> Reply:
    """The reply read into `model`; raises ReplyError saying what is wrong. `truncated`: the reply was cut at its
    token limit (then nothing is repaired, and only complete values count)."""
    if not text or not text.strip():
        raise ReplyError("the reply was empty")
    body = strip_thinking(text)
    if not body:
        raise ReplyError("the reply held only reasoning (a think block), no answer")
    errors: list[ReplyError] = []  # why each object failed; a list's failure only when no object was found
    others: list[ReplyError] = []
    seen: list[Any] = []
    for value in _each(body, model, truncated):
        if value in seen:
            continue
        seen.append(value)
        try:
            return _fit(value, model)
        except ReplyError as exc:
            (errors if isinstance(value, dict) else others).append(exc)
    if errors or others:
        raise (errors or others)[0]
    if truncated:
        raise ReplyError("the reply was cut at its token limit before its JSON ended")
    raise ReplyError("the reply holds no JSON object")

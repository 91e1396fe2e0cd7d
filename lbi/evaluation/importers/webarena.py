"""WebArena task configs as `web` tasks: the start page, the intent, and the evaluator as lbi's web checks.

A config (one JSON file per task, a folder of them, or a JSON list as `test.raw.json`) has `task_id`, `start_url`
(with placeholders such as `__SHOPPING__` and `__GITLAB__`), `intent`, and `eval` with `eval_types` and
`reference_answers` (`exact_match`, `must_include`, `fuzzy_match`), `reference_url` and `url_note`, and
`program_html`. `--sites` is a JSON object mapping each placeholder to the URL where the site runs here.

- `string_match` becomes `answer_match` (exact or must-include on the agent's final answer);
- `url_match` becomes `url_match` (`url_note` "GOLD in PRED" as contains, else exact);
- `program_html` (reading pages after the episode with a locator script) and `fuzzy_match` (an LLM judge) have
  no lbi check: such tasks are refused, naming the field; so is a task whose start URL names a site `--sites`
  does not map, or whose evaluator combines kinds lbi can only judge one of.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from lbi.evaluation.importers import Converted, Refusal, TaskImportError, read_records

_PLACEHOLDER = re.compile(r"__[A-Z_]+__")


def _configs(path: Path) -> list[dict[str, Any]]:
    if path.is_dir():
        files = sorted(path.glob("*.json"), key=lambda p: (len(p.stem), p.stem))
        return [json.loads(f.read_text(encoding="utf-8")) for f in files]
    return read_records(path)


def _fill(text: str, sites: dict[str, str]) -> tuple[str, str]:
    """The text with its site placeholders replaced, and the first placeholder that has no site ('' if none)."""
    missing = next((p for p in _PLACEHOLDER.findall(text) if p not in sites), "")
    return _PLACEHOLDER.sub(lambda m: sites.get(m.group(), m.group()).rstrip("/"), text), missing


def _check(evaluation: dict[str, Any], sites: dict[str, str]) -> dict[str, Any] | tuple[str, str]:
    kinds = list(evaluation.get("eval_types") or [])
    if not kinds:
        return ("eval.eval_types", "missing")
    unsupported = [k for k in kinds if k not in ("string_match", "url_match")]
    if unsupported:
        return ("eval.eval_types", f"{unsupported[0]} has no lbi check (it reads pages with a locator script)")
    if len(kinds) > 1:
        return ("eval.eval_types", "string_match and url_match together: lbi judges one check per task")
    if kinds[0] == "url_match":
        url, missing = _fill(str(evaluation.get("reference_url") or ""), sites)
        if not url:
            return ("eval.reference_url", "missing")
        if missing:
            return ("eval.reference_url", f"no site for {missing} in --sites")
        if " |OR| " in url:
            return ("eval.reference_url", "alternative URLs (|OR|): lbi's url_match takes one")
        contains = "GOLD in PRED" in str(evaluation.get("url_note") or "")
        return {"kind": "url_match", "url": url, "match": "contains" if contains else "exact"}
    answers = evaluation.get("reference_answers") or {}
    if answers.get("fuzzy_match"):
        return ("eval.reference_answers.fuzzy_match", "needs an LLM judge; lbi's answer checks are exact")
    if answers.get("exact_match") not in (None, ""):
        return {"kind": "answer_match", "exact": str(answers["exact_match"])}
    include = answers.get("must_include")
    if isinstance(include, list) and include:
        return {"kind": "answer_match", "must_include": [str(x) for x in include]}
    return ("eval.reference_answers", "no exact_match or must_include")


def convert(path: Path, options: dict[str, Any]) -> Converted:
    try:
        sites = json.loads(Path(options["sites"]).read_text()) if Path(options["sites"]).is_file() else None
    except json.JSONDecodeError as exc:
        raise TaskImportError(f"--sites: not JSON ({exc.msg})") from None
    if sites is None:
        try:
            sites = json.loads(options["sites"])
        except json.JSONDecodeError:
            raise TaskImportError("--sites: a JSON object (or a file of one) mapping __SITE__ to its URL") from None
    if not isinstance(sites, dict):
        raise TaskImportError("--sites: a JSON object mapping __SITE__ to its URL")
    out = Converted()
    for n, config in enumerate(_configs(path)):
        task_id = f"webarena-{config.get('task_id', n)}"
        intent = str(config.get("intent") or "").strip()
        start, missing = _fill(str(config.get("start_url") or ""), sites)
        check = _check(config.get("eval") or {}, sites)
        refusal = (
            ("intent", "missing")
            if not intent
            else ("start_url", "missing")
            if not start
            else ("start_url", f"no site for {missing} in --sites")
            if missing
            else ("start_url", "several start pages (|AND|): lbi opens one")
            if " |AND| " in start
            else check
            if isinstance(check, tuple)
            else None
        )
        if refusal is not None:
            out.refused.append(Refusal(task_id, *refusal))
            continue
        assert isinstance(check, dict)
        origins = sorted({m.group() for u in sites.values() if (m := re.match(r"https?://[^/]+", str(u)))})
        out.tasks.append(
            {
                "id": task_id,
                "instruction": intent,
                "config": {"url": start, "allowed_origins": origins},
                "check": check,
                "env": "web",
            }
        )
    return out

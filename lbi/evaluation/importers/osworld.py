"""OSWorld task configs as `desktop` tasks: the instruction, the set-up steps as the session's apps and setup, and
the evaluator as lbi's desktop checks.

A task (one JSON file per task, as OSWorld's `evaluation_examples/examples/<app>/<id>.json`, a folder of them, or
a JSON list) has `id`, `instruction`, `config` (a list of steps: `launch` and `open` start an application,
`execute` and `command` run a command, `sleep`, `activate_window` and `close_window` only pace or arrange the VM,
`download` fetches files from the network) and `evaluator` (`func`, `result`, `expected`, optional `postconfig`
and `conj`). OSWorld's home folder `/home/user` becomes the session's `/home/agent`.

- `launch` becomes an entry of `config.apps` (its command line); `open` opens the path with the application
  for its kind (a spreadsheet in gnumeric, text in mousepad, a folder in thunar); `execute`/`command` join
  `config.setup`; applications that are not in the default set add their Debian package (`config.packages`).
- `exact_match`, `check_include_exclude` and `match_in_list` on a `vm_command_line` result become a `shell` check
  (equals, contains/excludes); on the agent's answer (`result.type` `vm_answer` or absent) an `answer_match`.
- Refused, naming the field: `download` steps (the session has no network; give the files in `setup` instead),
  evaluators comparing with an `expected` file (`cloud_file`, `vm_file`), several evaluators joined with `conj`,
  `infeasible` tasks, `postconfig` steps, and every other `func` (they read application state lbi has no check
  for).
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from lbi.evaluation.importers import Converted, Refusal, read_records

HOME = ("/home/user", "/home/agent")
# applications OSWorld launches that are not in the desktop's default layer: the Debian package that has them
PACKAGES = {
    "libreoffice": "libreoffice-calc libreoffice-writer libreoffice-impress",
    "soffice": "libreoffice-calc libreoffice-writer libreoffice-impress",
    "vlc": "vlc",
    "gimp": "gimp",
    "thunderbird": "thunderbird",
    "google-chrome": "chromium",
    "chromium": "chromium",
    "gedit": "gedit",
}
PROGRAMS = {"google-chrome": "chromium"}
OPENERS = {
    (".xlsx", ".xls", ".ods", ".csv", ".gnumeric"): "gnumeric",
    (".txt", ".md", ".py", ".json", ".log", ".conf", ".ini", ".yaml", ".yml", ".csv.txt"): "mousepad",
}
PACING = {"sleep", "activate_window", "close_window"}


def _home(text: str) -> str:
    return text.replace(*HOME)


def _words(command: Any) -> list[str] | None:
    if isinstance(command, list) and all(isinstance(w, str) for w in command):
        return [_home(w) for w in command]
    if isinstance(command, str) and command.strip():
        return shlex.split(_home(command))
    return None


def _records(path: Path) -> list[dict[str, Any]]:
    if path.is_dir():
        files = sorted(path.rglob("*.json"))
        records = []
        for file in files:
            try:
                data = json.loads(file.read_text(encoding="utf-8"))
            except json.JSONDecodeError:
                continue
            records += [r for r in (data if isinstance(data, list) else [data]) if isinstance(r, dict)]
        return records
    return read_records(path)


def _steps(steps: Any) -> dict[str, Any] | tuple[str, str]:
    """The session config the set-up steps amount to, or the field that cannot be expressed and why."""
    apps: list[str] = []
    setup: list[str] = []
    packages: list[str] = []
    for index, step in enumerate(steps if isinstance(steps, list) else []):
        kind = step.get("type") if isinstance(step, dict) else None
        parameters = step.get("parameters") or {} if isinstance(step, dict) else {}
        where = f"config[{index}]"
        if kind in PACING:
            continue
        if kind == "download":
            return (f"{where}.parameters.files", "downloads need the network; put the files in place with setup")
        if kind == "launch":
            words = _words(parameters.get("command"))
            if not words:
                return (f"{where}.parameters.command", "missing")
            program = words[0].rsplit("/", 1)[-1]
            words[0] = PROGRAMS.get(program, program)
            packages += PACKAGES.get(program, "").split()
            apps.append(shlex.join(words))
        elif kind == "open":
            target = _home(str(parameters.get("path") or ""))
            if not target:
                return (f"{where}.parameters.path", "missing")
            opener = next((app for suffixes, app in OPENERS.items() if target.lower().endswith(suffixes)), None)
            if opener is None and "." in target.rsplit("/", 1)[-1]:
                return (f"{where}.parameters.path", f"no application here opens {target.rsplit('.', 1)[-1]} files")
            apps.append(shlex.join([opener or "thunar", target]))
        elif kind in ("execute", "command"):
            words = _words(parameters.get("command"))
            if not words:
                return (f"{where}.parameters.command", "missing")
            given = parameters.get("command")
            setup.append(_home(given) if isinstance(given, str) else shlex.join(words))
        else:
            return (f"{where}.type", f"{kind!r} is not a set-up step lbi can perform")
    config: dict[str, Any] = {"apps": apps}
    if setup:
        config["setup"] = "\n".join(setup)
    if packages:
        config["packages"] = sorted(set(packages))
    return config


def _check(evaluator: Any) -> dict[str, Any] | tuple[str, str]:
    if not isinstance(evaluator, dict):
        return ("evaluator", "missing")
    func = evaluator.get("func")
    if isinstance(func, list):
        return ("evaluator.func", f"{len(func)} evaluators joined by conj: lbi judges one check per task")
    if func == "infeasible":
        return ("evaluator.func", "an infeasible task (the agent must refuse): lbi has no check for that")
    if evaluator.get("postconfig"):
        return ("evaluator.postconfig", "steps after the episode are not performed by lbi's checks")
    result = evaluator.get("result") or {}
    expected = evaluator.get("expected") or {}
    if expected.get("type") not in (None, "rule"):
        return ("evaluator.expected.type", f"{expected.get('type')}: lbi compares with rules, not with files")
    rules = expected.get("rules") or {}
    if func in ("exact_match", "check_include_exclude", "match_in_list"):
        kind = result.get("type")
        if kind == "vm_command_line":
            words = _words(result.get("command"))
            if not words:
                return ("evaluator.result.command", "missing")
            command = _home(result["command"]) if isinstance(result["command"], str) else shlex.join(words)
            if func == "exact_match" and isinstance(rules.get("expected"), str):
                return {"kind": "shell", "command": command, "equals": rules["expected"]}
            if func == "check_include_exclude":
                include = [str(x) for x in rules.get("include") or []]
                exclude = [str(x) for x in rules.get("exclude") or []]
                if include or exclude:
                    return {"kind": "shell", "command": command, "contains": include, "excludes": exclude}
            return ("evaluator.expected.rules", f"no rule lbi can apply for {func}")
        if kind in (None, "vm_answer", "answer"):
            if func == "exact_match" and isinstance(rules.get("expected"), str):
                return {"kind": "answer_match", "exact": rules["expected"]}
            include = [str(x) for x in rules.get("include") or []]
            if include:
                return {"kind": "answer_match", "must_include": include}
            return ("evaluator.expected.rules", f"no rule lbi can apply for {func}")
        return ("evaluator.result.type", f"{kind}: lbi's checks cannot read that")
    return ("evaluator.func", f"{func}: no lbi check reads what it compares")


def convert(path: Path, options: dict[str, Any]) -> Converted:
    out = Converted()
    for n, record in enumerate(_records(path)):
        task_id = str(record.get("id") or f"osworld-{n}")
        instruction = str(record.get("instruction") or "").strip()
        config = _steps(record.get("config"))
        check = _check(record.get("evaluator"))
        refusal = ("instruction", "missing") if not instruction else config if isinstance(config, tuple) else None
        refusal = refusal or (check if isinstance(check, tuple) else None)
        if refusal is not None:
            out.refused.append(Refusal(task_id, *refusal))
            continue
        assert isinstance(config, dict) and isinstance(check, dict)
        task = {"id": task_id, "instruction": instruction, "config": config, "check": check, "env": "desktop"}
        out.tasks.append(task)
    return out

"""Spider2-V task configs as `desktop` tasks, through the OSWorld importer's steps and checks (osworld.py): one rule
for both, as Spider2-V extends OSWorld's harness.

Input: Spider2-V's repository root, its `evaluation_examples/examples` folder, a family's folder or one task file;
`index` (`test_non_account.json`-style, family -> ids) selects a subset. A task is
`evaluation_examples/examples/<family>/<id>/<id>.json` (files not named after their folder are skipped) with `id`,
`instruction`, `tags`, `config` and `evaluator`; every host path in it (`src`, `local_file.path`,
`vm_script_output.src`) is relative to the repository root, which is found above the task file. Those files travel
with the task by sha256 (lbi.evaluation.traveling), as OSWorld's downloads do.

Set-up steps: `copyfile_from_host_to_guest` puts a traveling file at `dest`; `script_and_execute` puts the script
at `dest` and runs it unchanged with bash once the desktop shows (`config.then`; its exit code ignored, as
Spider2-V's controller ignores it); `launch` of a shell command (JupyterLab) runs in the background then;
`google_chrome_browser` is Chromium with its DevTools port (public start pages such as Bing left out: the session
has no web); `open` as OSWorld's. Spider2-V's home `/home/user` is the agent's home (the session links it there).
Its scripts `source /home/user/anaconda3/etc/profile.d/conda.sh && conda activate <env>`: the session gets a small
conda of its own there (`conda activate NAME` puts `anaconda3/envs/NAME/bin` first on PATH: the layer's Python as
`python` and `pip`, and `gnome-terminal` as the session's terminal), and the layer holds what the env named gives
(`ENVS`, lbi.evaluation.python_envs's PIP_APPS: JupyterLab and the notebooks' libraries; dbt-core with dbt-duckdb).

Refused, naming the field: tasks that need an account or the cloud (`tags` holds "account": dbt Cloud, BigQuery,
Snowflake; or a set-up step or getter of those services), a base64-encoded settings copy (`json_encode`), a conda
env lbi has no layer for, and whatever the OSWorld importer refuses (its steps, functions and getters).

The evaluator is OSWorld's with two more getters lbi reads (lbi/judging/getters.py): `vm_script_output` (the
task's script, traveling, run in the session after the episode out of the agent's reach; its stdout) and
`dbt_profiles`; `local_file` expected files become traveling files. Spider2-V's `compare_table` rounds sheet data to
whole numbers: each `sheet_data` rule without a `precision` gets `"precision": 0`.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path, PurePosixPath
from typing import Any

from lbi.evaluation.importers import Converted, Refusal, TaskImportError
from lbi.evaluation.importers.osworld import (
    HOME,
    Files,
    Refused,
    Task,
    add_task,
    is_public,
    to_agent_home,
)
from lbi.evaluation.python_envs import PIP_APPS
from lbi.evaluation.traveling import digest
from lbi.judging.getters import DEVTOOLS_PORTS

EXAMPLES = PurePosixPath("evaluation_examples/examples")
ACCOUNT_STEPS = {
    "dbt_cloud_init": "dbt Cloud",
    "dbt_cloud_webui_login": "dbt Cloud",
    "bigquery_init": "BigQuery",
    "snowflake_init": "Snowflake",
    "servicenow_init": "ServiceNow",
    "googledrive": "Google Drive",
    "login": "a web site's account",
}
ACCOUNT_GETTERS = ("dbt_project_info", "dbt_job_info", "dbt_environment_info", "bigquery", "snowflake", "googledrive")
# what `conda activate NAME` gives in Spider2-V's snapshots, as pip requirements of the session's layer: the desktop
# runner's lists, which `lbi runner build-rootfs --desktop --apps spider2v` (or `--apps jupyter,dbt`) builds ahead
ENVS = PIP_APPS
ACTIVATE = re.compile(r"conda\s+activate\s+([A-Za-z0-9_.-]+)")
CONDA = "/home/user/anaconda3"
CONDA_SH = f"""# lbi's conda for Spider2-V's scripts: `conda activate NAME` puts {CONDA}/envs/NAME/bin first on PATH
conda() {{
    case "$1" in
        activate)
            local name="${{2:-base}}"
            if [ ! -d "{CONDA}/envs/$name" ]; then echo "EnvironmentNameNotFound: $name" >&2; return 1; fi
            [ -n "$CONDA_PREFIX" ] && PATH="${{PATH//$CONDA_PREFIX\\/bin:/}}"
            export CONDA_PREFIX="{CONDA}/envs/$name" CONDA_DEFAULT_ENV="$name"
            export PATH="$CONDA_PREFIX/bin:$PATH" ;;
        deactivate)
            [ -n "$CONDA_PREFIX" ] && export PATH="${{PATH//$CONDA_PREFIX\\/bin:/}}"
            unset CONDA_PREFIX CONDA_DEFAULT_ENV ;;
        *) "{CONDA}/bin/conda" "$@" ;;
    esac
}}
"""
CONDA_BIN = f"""#!/bin/bash
# lbi's conda for Spider2-V's scripts: activation is the shell function of {CONDA}/etc/profile.d/conda.sh
case "$1 $2" in
    "env list"|"info --envs") ls -1 {CONDA}/envs ;;
    "run -n") name=$3; shift 3; PATH="{CONDA}/envs/$name/bin:$PATH" exec "$@" ;;
    *) echo "conda $1: only activate, deactivate, env list and run -n here (source {CONDA}/etc/profile.d/conda.sh)" >&2
       exit 1 ;;
esac
"""
# JupyterLab opens its page in the browser that runs (Spider2-V's Chrome shows it); here, through Chromium's DevTools
# port, once `jupyter server list` gives the page with its token
JUPYTER_TAB = (
    "for i in $(seq 90); do url=$(jupyter server list 2>/dev/null | grep -o 'http://[^ ]*token=[^ ]*' | head -1); "
    '[ -n "$url" ] && break; sleep 1; done; [ -n "$url" ] && python3 -c '
    + shlex.quote(
        "import sys, urllib.parse as p, urllib.request as u; "
        f"u.urlopen(u.Request('http://127.0.0.1:{DEVTOOLS_PORTS[0]}/json/new?' + p.quote(sys.argv[1], safe=''), "
        "method='PUT'), timeout=5)"
    )
    + ' "$url"'
)
TERMINAL = """#!/bin/bash
# gnome-terminal as the session's terminal (lxterminal), in the folder asked
folder=
for word in "$@"; do case "$word" in --working-directory=*) folder="${word#*=}" ;; esac; done
(setsid lxterminal ${folder:+--working-directory="$folder"} </dev/null >/dev/null 2>&1 &)
"""


class RepoFiles(Files):
    """The files a task names by their path relative to Spider2-V's repository root."""

    def __init__(self, root: Path):
        super().__init__(root)
        self.root = root

    def find(self, task_id: str, url: str, names: list[str], where: str) -> str:
        """The sha256 of the file at `url`, a path relative to the root (or a file:// URL of one under it)."""
        if not isinstance(url, str) or not url:
            raise Refused(where, "missing")
        url = url.removeprefix(f"file://{self.root}/")
        relative = PurePosixPath(url)
        path = self.root / relative
        if relative.is_absolute() or ".." in relative.parts or not path.is_file():
            raise Refused(where, f"no file {url} under {self.root}")
        sha = digest(path)
        self.found[sha] = path
        return sha


def _root(path: Path) -> Path:
    """The repository root above `path` (the folder holding evaluation_examples), or TaskImportError."""
    path = path.resolve()
    for folder in (path, *path.parents):
        if (folder / EXAMPLES).is_dir():
            return folder
        if folder.name == "examples" and folder.parent.name == "evaluation_examples":
            return folder.parent.parent
    raise TaskImportError(f"{path}: not inside Spider2-V's repository (no {EXAMPLES} above it)")


def _task_files(path: Path, root: Path) -> list[Path]:
    if path.is_file():
        return [path]
    folder = root / EXAMPLES if path.resolve() == root else path
    return sorted(f for f in folder.rglob("*.json") if f.stem == f.parent.name)  # <family>/<id>/<id>.json only


def _chosen(index: Path | None) -> set[str] | None:
    if index is None:
        return None
    try:
        data = json.loads(Path(index).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise TaskImportError(f"{index}: not a JSON index of family -> task ids ({exc})") from None
    if not isinstance(data, dict):
        raise TaskImportError(f"{index}: not a JSON index of family -> task ids")
    return {str(i) for ids in data.values() if isinstance(ids, list) for i in ids}


class Spider2VTask(Task):
    """A task's session, with Spider2-V's set-up steps and conda envs."""

    files: RepoFiles

    def __init__(self, task_id: str, files: RepoFiles):
        super().__init__(task_id, files)
        self.envs: set[str] = set()

    def travel(self, src: Any, dest: Any, where: str) -> str:
        """The file `src` put at `dest` (under the agent's home); its path in the session."""
        sha = self.files.find(self.id, src, [], f"{where}.parameters.src")
        path = to_agent_home(dest) if isinstance(dest, str) else ""
        if not path.startswith(HOME[1] + "/"):
            raise Refused(f"{where}.parameters.dest", f"{dest!r} is not a file under {HOME[0]}")
        self.traveling.append({"sha256": sha, "path": path})
        return path

    def script(self, text: str, where: str) -> None:
        """What a script Spider2-V runs needs: its conda envs and the tools it calls."""
        for name in ACTIVATE.findall(text):
            if name not in ENVS and name != "base":
                raise Refused(where, f"activates conda env {name!r}, which lbi has no layer for ({', '.join(ENVS)})")
            self.envs.add(name)
        self.needs(text, where)

    def spider_step(self, step: Any, where: str) -> bool:
        """Spider2-V's own set-up steps; True when the step was one."""
        kind = step.get("type") if isinstance(step, dict) else None
        parameters = (step.get("parameters") or {}) if isinstance(step, dict) else {}
        if kind in ACCOUNT_STEPS:
            raise Refused(f"{where}.type", f"{kind} needs {ACCOUNT_STEPS[kind]} and its account")
        if kind == "copyfile_from_host_to_guest":
            if parameters.get("json_encode"):
                raise Refused(f"{where}.parameters.json_encode", "copies account settings (credentials) encoded")
            self.travel(parameters.get("src"), parameters.get("dest"), where)
            return True
        if kind == "script_and_execute":
            path = self.travel(parameters.get("src"), parameters.get("dest"), where)
            self.script(self.files.found[self.traveling[-1]["sha256"]].read_text(errors="replace"), f"{where}.src")
            self.then.append(f"bash {shlex.quote(path)}; true")
            return True
        if kind == "launch" and PurePosixPath(str(_words0(parameters.get("command")))).name in ("bash", "sh"):
            command = to_agent_home(parameters.get("command"))
            line = command if isinstance(command, str) else shlex.join(map(str, command))
            self.script(line, f"{where}.parameters.command")
            self.then.append(f"(setsid {line} </dev/null >/dev/null 2>&1 &)")
            return True
        if kind == "google_chrome_browser":
            urls = [u for u in parameters.get("urls") or [] if isinstance(u, str) and not is_public(u)]
            self.apps.append(self._program(["chromium", *to_agent_home(urls)], f"{where}.parameters"))
            return True
        return False

    def conda(self) -> str:
        """Bash that puts lbi's conda at /home/user/anaconda3, with the task's envs."""
        if not self.envs:
            return ""
        here = "$HOME/anaconda3"  # the same folder (/home/user is the agent's home), before the session links it
        lines = [f"mkdir -p {here}/bin {here}/etc/profile.d"]
        for target, text, mode in (("etc/profile.d/conda.sh", CONDA_SH, "644"), ("bin/conda", CONDA_BIN, "755")):
            lines += [f"cat > {here}/{target} <<'LBI_CONDA'\n{text}LBI_CONDA", f"chmod {mode} {here}/{target}"]
        for name in sorted(self.envs | {"base"}):
            bin_dir = f"{here}/envs/{name}/bin"
            lines += [
                f"mkdir -p {bin_dir} && ln -sf /usr/bin/python3 {bin_dir}/python",
                f"printf '#!/bin/sh\\nexec python3 -m pip \"$@\"\\n' > {bin_dir}/pip && chmod 755 {bin_dir}/pip",
                f"cat > {bin_dir}/gnome-terminal <<'LBI_CONDA'\n{TERMINAL}LBI_CONDA",
                f"chmod 755 {bin_dir}/gnome-terminal",
            ]
        return "\n".join(lines)

    def config(self) -> dict[str, Any]:
        if "jupyter" in self.envs and any(app.startswith("chromium") for app in self.apps):
            line = f"source {CONDA}/etc/profile.d/conda.sh && conda activate jupyter && {JUPYTER_TAB}"
            self.then.append(f"(setsid bash -c {shlex.quote(line)} </dev/null >/dev/null 2>&1 &)")
        config = super().config()
        conda = self.conda()
        if conda:
            config["setup"] = "\n".join(filter(None, [conda, config.get("setup", "")]))
        pip = sorted({r for name in self.envs for r in ENVS.get(name, [])})
        if pip:
            config["pip"] = pip
        return config


def _words0(command: Any) -> str:
    if isinstance(command, list) and command:
        return str(command[0])
    return shlex.split(command)[0] if isinstance(command, str) and command.strip() else ""


def _steps(task: Spider2VTask, steps: Any) -> None:
    for index, step in enumerate(steps if isinstance(steps, list) else []):
        where = f"config[{index}]"
        if task.spider_step(step, where) or task.start(step, where):
            continue
        task.then.extend(task.step(step, where, True))


def _evaluator(task: Spider2VTask, evaluator: Any) -> Any:
    """Spider2-V's getters in the form the OSWorld importer's check takes; sheet data rounded as Spider2-V does."""
    if not isinstance(evaluator, dict):
        return evaluator
    given = dict(evaluator)
    listed = isinstance(given.get("func"), list)
    for key in ("result", "expected"):
        value = given.get(key)
        if listed and isinstance(value, list):
            given[key] = [_getter(task, v, f"evaluator.{key}[{i}]") for i, v in enumerate(value)]
        elif value is not None:
            given[key] = _getter(task, value, f"evaluator.{key}")
    postconfig = given.get("postconfig")
    if isinstance(postconfig, list):
        given["postconfig"] = [
            _postconfig(task, step, f"evaluator.postconfig[{i}]") for i, step in enumerate(postconfig)
        ]
    options = given.get("options")
    for opts in options if isinstance(options, list) else [options]:
        for rule in (opts or {}).get("rules") or [] if isinstance(opts, dict) else []:
            if isinstance(rule, dict) and rule.get("type") == "sheet_data" and "precision" not in rule:
                rule["precision"] = 0  # Spider2-V's table.py: DataFrame.round() to whole numbers
    return given


def _postconfig(task: Spider2VTask, step: Any, where: str) -> Any:
    """A script run after the episode (a wait for JupyterLab) travels with the task and runs as an `execute` step."""
    if not isinstance(step, dict) or step.get("type") != "script_and_execute":
        return step
    parameters = step.get("parameters") or {}
    path = task.travel(parameters.get("src"), parameters.get("dest"), where)
    task.script(task.files.found[task.traveling[-1]["sha256"]].read_text(errors="replace"), f"{where}.src")
    return {"type": "execute", "parameters": {"command": ["bash", path]}}


def _getter(task: Spider2VTask, spec: Any, where: str) -> Any:
    kind = spec.get("type") if isinstance(spec, dict) else None
    if kind in ACCOUNT_GETTERS:
        raise Refused(f"{where}.type", f"{kind} reads a cloud service with an account")
    if kind == "local_file":  # a file of the repository: the OSWorld importer's traveling expected file
        path = spec.get("path")
        if not isinstance(path, str) or not path:
            raise Refused(f"{where}.path", "missing")
        url = f"file://{task.files.root / path}"  # a URL, as the OSWorld importer's cloud files are
        return {"type": "cloud_file", "path": url, "dest": PurePosixPath(path).name}
    if kind == "vm_script_output":
        sha = task.files.find(task.id, spec.get("src"), [], f"{where}.src")
        task.script(task.files.found[sha].read_text(errors="replace"), f"{where}.src")
        task.traveling.append({"sha256": sha})
        return {"type": "vm_script_output", "sha256": sha}
    return spec


def _refusal(record: dict[str, Any]) -> Refused | None:
    tags = record.get("tags") or []
    if isinstance(tags, list) and "account" in tags:
        steps = [s.get("type") for s in record.get("config") or [] if isinstance(s, dict)]
        named = sorted({str(s) for s in steps if s in ACCOUNT_STEPS})
        services = f" ({', '.join(named)})" if named else ""
        return Refused("tags", f"tagged 'account': needs a cloud service's account{services}")
    return None


def convert(path: Path, options: dict[str, Any]) -> Converted:
    out = Converted()
    root = _root(path)
    files = RepoFiles(root)
    chosen = _chosen(options.get("index"))
    seen: set[str] = set()
    for file in _task_files(path, root):
        try:
            record = json.loads(file.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            out.refused.append(Refusal(file.stem, "file", f"not JSON ({exc})"))
            continue
        if not isinstance(record, dict):
            continue
        task_id = str(record.get("id") or file.stem)
        if task_id in seen or (chosen is not None and task_id not in chosen):
            continue
        seen.add(task_id)
        add_task(out, Spider2VTask(task_id, files), record, _prepared)
    return out


def _prepared(task: Spider2VTask, record: dict[str, Any]) -> Any:
    """The task's set-up as its session config; its evaluator as lbi judges it."""
    refused = _refusal(record)
    if refused is not None:
        raise refused
    _steps(task, record.get("config"))
    return _evaluator(task, record.get("evaluator"))

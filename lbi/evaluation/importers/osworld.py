"""OSWorld task configs as `desktop` tasks: the instruction, the set-up steps as the session's config, the files
they download as files that travel with the task, and the evaluator as an `osworld` check judged by lbi/judging.

Input: OSWorld's `evaluation_examples/examples` folder (a folder per domain, a JSON file per task), one task file,
or a JSON list; `index` (a `test_all.json`-style file, domain -> ids) selects a subset. A task has `id`,
`instruction`, `config` (set-up steps) and `evaluator` (`func`, `conj`, `result`, `expected`, `options`,
`postconfig`). OSWorld's home folder `/home/user` becomes the session's `/home/agent`; its 1920x1080 screen and
`{SCREEN_WIDTH}`-style placeholders are kept.

`files` is the folder of the files the tasks download: OSWorld's cache as its harness leaves it
(`<files>/<task id>/<uuid5(url)>_<name>` for `download` steps, `<files>/<task id>/<dest>` for `cloud_file`
inputs), or a flat folder of the URLs' file names. A missing file refuses the task naming the URL; the files of a
task may take at most lbi.evaluation.traveling.SESSION_FILES_LIMIT bytes.

Set-up steps: `launch` and `open` start applications (`config.apps`; an office document opens in LibreOffice, as in
OSWorld, an image in GIMP, media in VLC, text in Mousepad, a folder in Thunar; Chrome is Chromium with its DevTools
port); `download` places a traveling file (`config.files`); `execute`/`command` run before the applications
(`config.setup`) or, after one started, with `sleep`, `activate_window`, `close_window` and `chrome_close_tabs`
once they show (`config.then`); `chrome_open_tabs` opens local pages. The tools commands run (gsettings, gio, git,
unzip, ...) add their Debian packages. Refused, naming the field: steps that need an account (`googledrive`,
`login`) or the live web (public pages, `update_browse_history`), VS Code (not in Debian), sudo and GNOME Shell's
settings, and unknown steps. `postconfig` steps become the check's `postconfig` (bash run before the getters).

The evaluator: `infeasible`, or functions of lbi/judging/registry.py (joined with `conj`) whose getters
lbi/judging/getters.py reads; `cloud_file` (and `cache_file`) inputs become the sha256 of the file given for their
URL. Anything else is refused naming the field (the registry's and the getters' refusals).
"""

from __future__ import annotations

import json
import re
import shlex
import uuid
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar
from urllib.parse import unquote, urlparse

from lbi.evaluation.importers import Converted, Refusal, TaskImportError, read_records
from lbi.evaluation.traveling import SESSION_FILES_LIMIT, digest
from lbi.judging import registry
from lbi.judging.errors import JudgingError
from lbi.judging.getters import DEVTOOLS_PORTS, check_getters

HOME = ("/home/user", "/home/agent")
DBUS = "export DBUS_SESSION_BUS_ADDRESS='unix:path=/run/user/1000/bus'\n"  # OSWorld's bus: the session sets its own
WIDTH, HEIGHT = 1920, 1080
SCREEN = {
    "{SCREEN_WIDTH}": str(WIDTH),
    "{SCREEN_HEIGHT}": str(HEIGHT),
    "{SCREEN_WIDTH_HALF}": str(WIDTH // 2),
    "{SCREEN_HEIGHT_HALF}": str(HEIGHT // 2),
}
OFFICE = ["libreoffice-calc", "libreoffice-writer", "libreoffice-impress"]
# programs OSWorld launches: (the program in the session, its Debian packages)
PROGRAMS = {
    "libreoffice": ("soffice", OFFICE),
    "soffice": ("soffice", OFFICE),
    "google-chrome": ("chromium", ["chromium"]),
    "chromium": ("chromium", ["chromium"]),
    "chromium-browser": ("chromium", ["chromium"]),
    "vlc": ("vlc", ["vlc"]),
    "gimp": ("gimp", ["gimp"]),
    "thunderbird": ("thunderbird", ["thunderbird"]),
    "gedit": ("mousepad", []),
    "nautilus": ("thunar", []),
    "gnome-terminal": ("lxterminal", []),
    "python": ("python3", []),
}
CHROMIUM = f"chromium --remote-debugging-port={DEVTOOLS_PORTS[0]}"
OPENERS = {
    (".xlsx", ".xls", ".ods", ".csv", ".docx", ".doc", ".odt", ".rtf", ".pptx", ".ppt", ".odp"): "soffice",
    (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".xcf", ".tif", ".tiff", ".svg"): "gimp",
    (".mp4", ".mp3", ".wav", ".avi", ".mkv", ".webm", ".ogg", ".flac", ".mov", ".m4a"): "vlc",
    (".txt", ".md", ".py", ".json", ".log", ".conf", ".ini", ".yaml", ".yml", ".sh", ".tex", ".xml"): "mousepad",
    (".html", ".htm", ".pdf"): "chromium",
}
NEED_ACCOUNT = {"googledrive": "needs a Google Drive account", "login": "signs in to a web site's account"}
LIVE_WEB = {"update_browse_history": "writes Chrome's history into a database OSWorld downloads from the live web"}
VS_CODE = "VS Code is not in Debian (lbi's desktop installs Debian packages only)"
LOCAL_HOSTS = ("localhost", "127.0.0.1", "")
# tools OSWorld's set-up and getters run that the desktop's layer lacks: their Debian packages
TOOLS = {
    "gsettings": ["libglib2.0-bin", "gsettings-desktop-schemas", "dconf-gsettings-backend"],
    "gio": ["libglib2.0-bin"],
    "unzip": ["unzip"],
    "zip": ["zip"],
    "git": ["git"],
    "xdg-mime": ["xdg-utils"],
    "sqlite3": ["sqlite3"],
    "killall": ["psmisc"],
    "curl": ["curl"],
}
NOT_HERE = {
    "sudo": "runs sudo: the agent is no administrator in lbi's sandbox",
    "org.gnome.shell": "reads GNOME Shell's settings: lbi's desktop is openbox, not GNOME",
}
ON_SCREEN = ("pyautogui", "xdotool", "wmctrl", "xdg-open")  # commands that act on the display: after it started


class Refused(Exception):
    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


def to_agent_home(value: Any) -> Any:
    """`value` with OSWorld's home, its D-Bus address and screen placeholders replaced, in every string it holds."""
    text = json.dumps(value).replace(*HOME).replace(json.dumps(DBUS)[1:-1], "")
    for mark, number in SCREEN.items():
        text = text.replace(mark, number)
    return json.loads(text)


def _words(command: Any, where: str) -> list[str]:
    if isinstance(command, list) and command and all(isinstance(w, str) for w in command):
        return list(to_agent_home(command))
    if isinstance(command, str) and command.strip():
        return shlex.split(to_agent_home(command))
    raise Refused(where, "missing")


def _bash(command: Any, where: str) -> str:
    """A command as bash, OSWorld's `python` as python3, a program OSWorld launches as the session's."""
    words = _words(command, where)
    program = PurePosixPath(words[0]).name
    if program == "code" or re.search(r"(^|[\s;&|(])code\s", " ".join(words)):
        raise Refused(where, VS_CODE)
    if isinstance(command, str):
        text = str(to_agent_home(command))
        return re.sub(r"^\s*python\b", "python3", text)
    words[0] = PROGRAMS.get(program, (words[0], []))[0]
    return shlex.join(words)


def is_public(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme in ("http", "https") and (parsed.hostname or "") not in LOCAL_HOSTS


class Files:
    """The files a task's URLs name, found in the folder the user gave."""

    def __init__(self, folder: Path | None):
        self.folder = folder
        self.found: dict[str, Path] = {}

    def find(self, task_id: str, url: str, names: list[str], where: str) -> str:
        """The sha256 of the file given for `url`: in the task's folder of OSWorld's cache by the name its cache gives
        it (`names[0]`), else in a flat folder by the URL's file name, else (a URL that names none, as Google Drive's)
        by the name the task gives the file (`names[1:]`)."""
        if not isinstance(url, str) or not url:
            raise Refused(where, "missing")
        base = PurePosixPath(unquote(urlparse(url).path)).name
        base = base if "." in base else ""  # Google Drive's `uc?id=...` names no file
        candidates = [f"{task_id}/{n}" for n in names[:1]] + [f"{task_id}/{base}", base, *names[1:]]
        for name in candidates:
            path = self.folder / name if self.folder is not None and name else None
            if path is not None and path.is_file():
                sha = digest(path)
                self.found[sha] = path
                return sha
        given = f" in {self.folder}" if self.folder is not None else " (give --files)"
        raise Refused(where, f"no file for {url}{given}")


class Task:
    """One task's session config, built step by step."""

    def __init__(self, task_id: str, files: Files):
        self.id = task_id
        self.files = files
        self.apps: list[str] = []
        self.setup: list[str] = []
        self.then: list[str] = []
        self.packages: set[str] = set()
        self.traveling: list[dict[str, Any]] = []

    def _program(self, words: list[str], where: str) -> str:
        program = PurePosixPath(words[0]).name
        if program == "code":
            raise Refused(where, VS_CODE)
        name, packages = PROGRAMS.get(program, (words[0], []))
        self.packages.update(packages)
        if name == "chromium":
            flags = [w for w in words[1:] if not w.startswith("--remote-debugging-port")]
            return shlex.join([*CHROMIUM.split(), *flags])
        return shlex.join([name, *words[1:]])

    def _opener(self, path: str, where: str) -> str:
        if path.startswith(("http://", "https://")) and is_public(path):
            raise Refused(where, f"opens a public web page ({path})")
        suffix = PurePosixPath(path.lower()).suffix
        opener = next((app for suffixes, app in OPENERS.items() if suffix in suffixes), None)
        if opener is None and suffix:
            raise Refused(where, f"no application here opens {suffix} files")
        opener = opener or "thunar"
        return self._program([opener, path], where)

    def step(self, step: Any, where: str, after: bool) -> list[str]:
        """Bash for one step (`after`: once applications show); launch and open add applications instead."""
        if not isinstance(step, dict):
            raise Refused(where, "not a step object")
        kind, parameters = step.get("type"), step.get("parameters") or {}
        if kind in NEED_ACCOUNT:
            raise Refused(f"{where}.type", f"{kind} {NEED_ACCOUNT[kind]}")
        if kind in LIVE_WEB:
            raise Refused(f"{where}.type", f"{kind} {LIVE_WEB[kind]}")
        if kind == "sleep":
            seconds = float(parameters.get("seconds") or 0)
            return [f"sleep {min(seconds, 30):g}"] if after else []
        if kind == "activate_window":
            return [_window(parameters, "windowactivate", where)]
        if kind == "close_window":
            return [_window(parameters, "windowkill", where)]
        if kind in ("execute", "command"):
            line = _bash(parameters.get("command"), f"{where}.parameters.command")
            self.needs(line, f"{where}.parameters.command")
            return [line]
        if kind == "chrome_open_tabs":
            urls = parameters.get("urls_to_open") or []
            public = [u for u in urls if isinstance(u, str) and (is_public(u) or "://" not in u)]
            if public:
                raise Refused(f"{where}.parameters.urls_to_open", f"opens public web pages ({public[0]})")
            self.packages.add("chromium")
            return [f"({CHROMIUM} {shlex.join(to_agent_home(urls))} >/dev/null 2>&1 &)"]
        if kind == "chrome_close_tabs":
            return [_close_tabs(parameters.get("urls_to_close") or [])]
        raise Refused(f"{where}.type", f"{kind!r} is not a set-up step lbi can perform")

    def start(self, step: Any, where: str) -> bool:
        """Launch, open and download steps, and a command that opens a terminal; True when the step was one."""
        kind = step.get("type") if isinstance(step, dict) else None
        parameters = (step.get("parameters") or {}) if isinstance(step, dict) else {}
        if kind == "launch":
            words = _words(parameters.get("command"), f"{where}.parameters.command")
            if PurePosixPath(words[0]).name != "socat":  # OSWorld's port forward to Chrome: its port is read directly
                self.apps.append(self._program(words, f"{where}.parameters.command"))
            return True
        if kind == "open":
            path = parameters.get("path")
            if not isinstance(path, str) or not path:
                raise Refused(f"{where}.parameters.path", "missing")
            self.apps.append(self._opener(to_agent_home(path), f"{where}.parameters.path"))
            return True
        if kind in ("execute", "command") and "gnome-terminal" in json.dumps(parameters.get("command")):
            given = to_agent_home(parameters.get("command"))
            text = given if isinstance(given, str) else " ".join(str(w) for w in given)
            folder = re.search(r"--working-directory=([^\s'\"]+)", text)
            self.apps.append("lxterminal" + (f" --working-directory={shlex.quote(folder.group(1))}" if folder else ""))
            return True  # OSWorld's terminal (its D-Bus address set first): the session's own terminal
        if kind == "download":
            for j, file in enumerate(parameters.get("files") or []):
                at = f"{where}.parameters.files[{j}]"
                url, path = (file.get("url"), file.get("path")) if isinstance(file, dict) else (None, None)
                if not isinstance(path, str) or not to_agent_home(path).startswith(HOME[1] + "/"):
                    raise Refused(f"{at}.path", f"{path!r} is not a file under {HOME[0]}")
                name = PurePosixPath(path).name
                cached = f"{uuid.uuid5(uuid.NAMESPACE_URL, str(url))}_{name}"
                sha = self.files.find(self.id, str(url), [cached, name], f"{at}.url")
                self.traveling.append({"sha256": sha, "path": to_agent_home(path)})
            return True
        return False

    def needs(self, command: str, where: str) -> None:
        """The Debian packages of the tools `command` runs (the desktop's layer lacks them); refused for what no
        package gives here."""
        for word, why in NOT_HERE.items():
            if re.search(rf"(^|[\s;&|(]){re.escape(word)}(\s|$)", command):
                raise Refused(where, why)
        for tool, packages in TOOLS.items():
            if re.search(rf"(^|[\s;&|(/]){re.escape(tool)}(\s|$)", command):
                self.packages.update(packages)

    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"apps": self.apps, "width": WIDTH, "height": HEIGHT}
        for key, lines in (("setup", self.setup), ("then", self.then)):
            if lines:
                config[key] = "\n".join(lines)
        if self.packages:
            config["packages"] = sorted(self.packages)
        if self.traveling:
            config["files"] = self.traveling
        return config


T = TypeVar("T", bound=Task)


def _window(parameters: dict[str, Any], action: str, where: str) -> str:
    name = parameters.get("window_name")
    if not isinstance(name, str) or not name:
        raise Refused(f"{where}.parameters.window_name", "missing")
    pattern = f"^{re.escape(name)}$" if parameters.get("strict") else re.escape(name)
    option = "--class" if parameters.get("by_class") else "--name"
    return f"xdotool search {option} {shlex.quote(pattern)} {action} >/dev/null 2>&1 || true"


def _close_tabs(urls: list[str]) -> str:
    script = (
        "import json, urllib.request as u\n"
        f"base = 'http://127.0.0.1:{DEVTOOLS_PORTS[0]}/json'\n"
        f"close = {json.dumps(urls)}\n"
        "for t in json.loads(u.urlopen(base, timeout=5).read()):\n"
        "    if t.get('type') == 'page' and any(t.get('url', '').rstrip('/') == c.rstrip('/') for c in close):\n"
        "        u.urlopen(base + '/close/' + t['id'], timeout=5).read()\n"
    )
    return f"python3 -c {shlex.quote(script)} || true"


def _steps(task: Task, steps: Any) -> None:
    started = False
    for index, step in enumerate(steps if isinstance(steps, list) else []):
        where = f"config[{index}]"
        if task.start(step, where):
            started = started or (isinstance(step, dict) and step.get("type") in ("launch", "open"))
            continue
        lines = task.step(step, where, started)
        shown = started or any(program in line for line in lines for program in ON_SCREEN)  # it needs the X display
        (task.then if shown else task.setup).extend(lines)


def _getter(task: Task, spec: Any, where: str) -> Any:
    """A getter as the runner reads it: cloud files as the sha256 of the file given for their URL."""
    if isinstance(spec, dict) and spec.get("type") == "vm_command_line":
        command = to_agent_home(spec.get("command"))
        task.needs(command if isinstance(command, str) else shlex.join(map(str, command or [])), f"{where}.command")
    if not isinstance(spec, dict) or spec.get("type") not in ("cloud_file", "cache_file"):
        return to_agent_home(spec)
    given, dest = spec.get("path"), spec.get("dest")
    if isinstance(given, str) and "://" not in given:
        raise Refused(
            f"{where}.path", f"{given} is what a postconfig command writes into OSWorld's cache: lbi keeps none"
        )
    listed = isinstance(given, list)
    urls: list[Any] = given if isinstance(given, list) else [given]
    dests: list[Any] = dest if isinstance(dest, list) else [dest] * len(urls)
    shas = []
    for j, url in enumerate(urls):
        name = dests[j] if j < len(dests) else None
        names = [name, name] if isinstance(name, str) else []
        shas.append(task.files.find(task.id, str(url), names, f"{where}.path" + (f"[{j}]" if listed else "")))
        task.traveling.append({"sha256": shas[-1]})
    kept = {k: spec[k] for k in ("dest", "multi", "gives") if k in spec}  # dest: the name the function sees
    return {"type": "cloud_file", "sha256": shas if listed else shas[0], **kept}


def osworld_check(task: Task, evaluator: Any) -> dict[str, Any]:
    if not isinstance(evaluator, dict):
        raise Refused("evaluator", "missing")
    judged = {k: evaluator[k] for k in ("func", "conj", "result", "expected", "options") if k in evaluator}
    field_reason = registry.refusal(judged)
    if field_reason is not None:
        raise Refused(*field_reason)
    if judged["func"] != registry.INFEASIBLE:
        for key in ("result", "expected"):
            value = judged.get(key)
            if isinstance(judged["func"], list) and isinstance(value, list):
                judged[key] = [_getter(task, v, f"evaluator.{key}[{i}]") for i, v in enumerate(value)]
            elif value is not None:
                judged[key] = _getter(task, value, f"evaluator.{key}")
        try:
            check_getters(judged)
        except JudgingError as exc:
            field, _, reason = str(exc).partition(": ")
            raise Refused(field, reason) from None
    judged = {k: (v if k in ("result", "expected") else to_agent_home(v)) for k, v in judged.items()}
    postconfig = Task(task.id, task.files)
    lines: list[str] = []
    for index, step in enumerate(evaluator.get("postconfig") or []):
        where = f"evaluator.postconfig[{index}]"
        if postconfig.start(step, where):
            if postconfig.traveling:
                raise Refused(f"{where}.type", "a download after the episode")
            lines += [f"(setsid {app} >/dev/null 2>&1 &)" for app in postconfig.apps]
            postconfig.apps = []
            continue
        lines += postconfig.step(step, where, True)
    task.packages.update(postconfig.packages)
    check: dict[str, Any] = {"kind": "osworld", "evaluator": judged}
    if lines:
        check["postconfig"] = "\n".join(lines)
    return check


def check_size(task: Task) -> None:
    total = 0
    for i, entry in enumerate(task.traveling):
        path = task.files.found[entry["sha256"]]
        total += path.stat().st_size
        if total > SESSION_FILES_LIMIT:
            raise Refused(
                f"config.files[{i}]",
                f"{path} takes the task's files past the limit of {SESSION_FILES_LIMIT} bytes a session",
            )


def _records(path: Path, index: Path | None) -> list[dict[str, Any]]:
    if path.is_dir():
        by_id: dict[str, dict[str, Any]] = {}
        for file in sorted(path.rglob("*.json")):
            try:
                data = json.loads(file.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
            for record in data if isinstance(data, list) else [data]:
                task_id = str(record.get("id")) if isinstance(record, dict) and record.get("id") else None
                if task_id and (task_id not in by_id or file.stem == task_id):  # not a variant (`<id>-win.json`)
                    by_id[task_id] = record
        records = list(by_id.values())
    else:
        records = _one_file(path)
    if index is None:
        return records
    try:
        chosen = json.loads(Path(index).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise TaskImportError(f"{index}: not a JSON index of domain -> task ids ({exc})") from None
    if not isinstance(chosen, dict):
        raise TaskImportError(f"{index}: not a JSON index of domain -> task ids")
    wanted = {str(i) for ids in chosen.values() if isinstance(ids, list) for i in ids}
    return [r for r in records if str(r.get("id")) in wanted]


def _one_file(path: Path) -> list[dict[str, Any]]:
    """One task (an object with an `id`), or a list of them, or what read_records reads."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return read_records(path)
    if isinstance(data, dict) and "id" in data and "evaluator" in data:
        return [data]
    return read_records(path)


def convert(path: Path, options: dict[str, Any]) -> Converted:
    out = Converted()
    files = Files(Path(options["files"]) if options.get("files") else None)
    seen: set[str] = set()
    for n, record in enumerate(_records(path, options.get("index"))):
        task_id = str(record.get("id") or f"osworld-{n}")
        if task_id in seen:  # the `-win` variants and copies of a task
            continue
        seen.add(task_id)
        task = Task(task_id, files)
        add_task(out, task, record, _prepared)
    return out


def _prepared(task: Task, record: dict[str, Any]) -> Any:
    """The task's set-up steps as its session config; its evaluator as published."""
    _steps(task, record.get("config"))
    return record.get("evaluator")


def add_task(out: Converted, task: T, record: dict[str, Any], prepare: Callable[[T, dict[str, Any]], Any]) -> None:
    """One task of a desktop benchmark as published, or its refusal: `prepare` turns the record's set-up into the
    task's config and returns its evaluator, judged by lbi's check functions; the task's files go with it (shared by
    the OSWorld and Spider2-V importers)."""
    instruction = str(record.get("instruction") or "").strip()
    try:
        evaluator = prepare(task, record)
        if not instruction:
            raise Refused("instruction", "missing")
        check = osworld_check(task, evaluator)
        check_size(task)
    except Refused as exc:
        out.refused.append(Refusal(task.id, exc.field, exc.reason))
        return
    out.files.update({e["sha256"]: task.files.found[e["sha256"]] for e in task.traveling})
    out.tasks.append({"id": task.id, "instruction": instruction, "config": task.config(), "check": check,
                      "env": "desktop"})  # fmt: skip

"""The `osworld` check: an OSWorld evaluator judged on the live session after the episode.

Its `postconfig` (bash, the importer's form of OSWorld's postconfig steps: activate a window, save with a hotkey,
wait) runs first, in the agent's session as OSWorld runs it in the VM. Then each function's getters
(lbi/judging/getters.py) read the session out of the agent's reach, through the runner's own helpers (judge.py,
`trusted_run` and `trusted_call`): a file comes back base64 on the helper's pipe into a folder of the runner, a
command's output likewise, the accessibility tree in OSWorld's XML form from the runner's AT-SPI helper, Chromium's
tabs from its DevTools port inside the session's network, its bookmarks and preferences from its profile. A
traveling expected file (`cloud_file`) is the one sent with the session, never read from the session. The registry
(lbi/judging/registry.py) scores them; an infeasible task passes when the agent ended with `fail`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import shlex
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from env_runners.base import Turn, Verdict
from env_runners.desktop.session import HELPER_DIR
from lbi.judging import registry
from lbi.judging.accessibility import NAMESPACES
from lbi.judging.errors import JudgingError
from lbi.judging.getters import DEVTOOLS_PORTS

FILE_READ_CAP = 64 << 20  # characters of base64: a judged file of up to 48 MiB
OUTPUT_CAP = 2_000_000
TREE_CAP = 32 << 20  # bytes of the tree in OSWorld's XML form
PROFILE = "~/.config/chromium/Default"
GIMP = "/home/agent/.config/GIMP/2.10"
VLCRC = "/home/agent/.config/vlc/vlcrc"
VLC_STATUS = "http://127.0.0.1:8080/requests/status.xml"  # VLC's HTTP interface, password "password" as in OSWorld
LIST_DIRECTORY = (  # a folder's tree as OSWorld's list_directory getter gives it
    "import json, os, sys\n"
    "def tree(p):\n"
    "    if not os.path.isdir(p):\n"
    "        return {'name': os.path.basename(p), 'type': 'file'}\n"
    "    return {'name': os.path.basename(p), 'type': 'directory',\n"
    "            'children': [tree(os.path.join(p, c)) for c in sorted(os.listdir(p))]}\n"
    "print(json.dumps(tree(sys.argv[1])) if os.path.isdir(sys.argv[1]) else 'null')"
)
SCRIPTS = f"{HELPER_DIR}/scripts"  # in the helper's folder, which only root inside may change
SCRIPT_CAP = 64 << 10  # bytes of a script run for a verdict (it goes on the judge's command line)
SCRIPT_TIMEOUT_S = 300.0  # Spider2-V's eval.sh runs dbt (build, test, docs) on the agent's project


class JudgedSession(Protocol):
    files: dict[str, bytes]

    def judge_run(self, command: str, timeout_s: float, cap: int) -> tuple[int, str]: ...

    def judge_call(self, request: dict[str, Any], timeout_s: float, cap: int = ...) -> dict[str, Any]: ...

    def run(self, command: str, timeout_s: float | None = None, cap: int | None = None) -> tuple[int, str]: ...


def declared_infeasible(turns: list[Turn]) -> bool:
    """The agent ended the episode with `fail` (OSWorld's FAIL: the task cannot be done)."""
    return any(turn.result.info.get("failed") for turn in turns)


def verdict(session: JudgedSession, evaluator: dict[str, Any], postconfig: str, turns: list[Turn]) -> Verdict:
    infeasible = declared_infeasible(turns)
    if postconfig and registry.functions(evaluator) != [registry.INFEASIBLE] and not infeasible:
        session.run(postconfig, 120.0)  # as OSWorld's postconfig: what it leaves is the agent's doing
    with tempfile.TemporaryDirectory(prefix="lbi-judge-") as folder:
        reader = Reader(session, Path(folder))
        try:
            inputs = reader.inputs(evaluator)
            score = registry.evaluate(evaluator, inputs, agent_declared_infeasible=infeasible)
        except JudgingError as exc:
            return Verdict(False, f"the evaluator could not be judged: {exc}", True)
    names = (
        " and ".join(registry.functions(evaluator))
        if evaluator.get("conj", "and") == "and"
        else " or ".join(registry.functions(evaluator))
    )
    if infeasible:
        return Verdict(score >= 1.0, f"the agent declared the task infeasible; {names}: {score:g}")
    return Verdict(score >= 1.0, f"{names} scored {score:g}{'' if score >= 1.0 else ' (1 passes)'}")


class Reader:
    """The getters of one judgement, reading `session` into `folder` (the runner's)."""

    def __init__(self, session: JudgedSession, folder: Path):
        self.session = session
        self.folder = folder
        self.count = 0

    def inputs(self, evaluator: dict[str, Any]) -> list[registry.Inputs]:
        names = registry.functions(evaluator)
        if names == [registry.INFEASIBLE]:
            return []
        listed = isinstance(evaluator.get("func"), list)

        def each(key: str) -> list[Any]:
            value = evaluator.get(key)
            return value if listed and isinstance(value, list) else [value] * len(names)

        return [
            registry.Inputs(self.read(result), self.read(expected) if expected else None)
            for result, expected in zip(each("result"), each("expected"), strict=True)
        ]

    def read(self, spec: dict[str, Any]) -> Any:
        kind = spec["type"]
        if kind == "rule":
            return spec.get("rules")
        if kind == "vm_command_line":
            command = spec["command"]
            _, output = self.session.judge_run(
                command if isinstance(command, str) else shlex.join(command), 60.0, OUTPUT_CAP
            )
            return output
        if kind in ("vm_file", "cloud_file"):
            field = "path" if kind == "vm_file" else "sha256"
            given, dest = spec[field], spec.get("dest")
            items = given if isinstance(given, list) else [given]
            names = dest if isinstance(dest, list) else [dest] * len(items)
            read = self.session_file if kind == "vm_file" else self.traveling_file
            paths = [
                read(str(item), name if isinstance(name, str) else None)
                for item, name in zip(items, names, strict=False)
            ]
            if not spec.get("multi"):
                return paths[0]
            gives = spec.get("gives")
            return [paths[i] for i in gives] if isinstance(gives, list) else paths
        if kind == "accessibility_tree":
            reply = self.session.judge_call({"op": "xml", "namespaces": NAMESPACES["ubuntu"]}, 60.0, TREE_CAP)
            if "error" in reply or not isinstance(reply.get("xml"), str):
                raise JudgingError(f"the accessibility tree could not be read: {str(reply.get('error'))[:200]}")
            return reply["xml"]
        if kind == "gimp_config_file":
            return self.session_file(f"{GIMP}/{PurePosixPath(str(spec['file_name'])).name}", spec.get("dest"))
        if kind == "vlc_config":
            return self.session_file(VLCRC, spec.get("dest") or "vlcrc")
        if kind == "vlc_playing_info":
            return self._vlc_status(str(spec.get("dest") or "status.xml"))
        if kind == "list_directory":
            text = self._text(f"python3 -c {shlex.quote(LIST_DIRECTORY)} {shlex.quote(str(spec['path']))}")
            try:
                return json.loads(text) if text else None
            except json.JSONDecodeError:
                return None
        if kind == "default_video_player":
            return self._text("xdg-mime query default video/mp4")
        if kind == "bookmarks":
            return self._profile("Bookmarks").get("roots")
        if kind == "default_search_engine":  # as OSWorld's getter: Google unless the profile names another
            engine = self._profile("Preferences").get("default_search_provider_data", {})
            return str(engine.get("template_url_data", {}).get("short_name", "Google"))
        if kind == "enable_do_not_track":
            return "true" if self._profile("Preferences").get("enable_do_not_track") else "false"
        if kind == "vm_script_output":
            return self._script(str(spec["sha256"]))
        if kind == "dbt_profiles":
            return self._first_file([str(folder) for folder in spec["dirs"]], "profiles.yml")
        return self._tabs(kind)

    def _script(self, sha: str) -> str:
        """The stdout of a script that traveled with the task (Spider2-V's eval.sh), run as Spider2-V runs it after
        the episode, from the agent's home, but by the judge (judge.py) from a folder only root inside may write."""
        content = self.session.files.get(sha)
        if content is None:
            raise JudgingError(f"script {sha} was not sent with the session")
        if len(content) > SCRIPT_CAP:
            raise JudgingError(f"script {sha} is longer than {SCRIPT_CAP} bytes")
        path = f"{SCRIPTS}/{sha[:16]}.sh"
        encoded = base64.b64encode(content).decode()
        _, output = self.session.judge_run(
            f"mkdir -p -m 700 {SCRIPTS} && printf %s {encoded} | base64 -d > {path} && cd ~ && bash {path} 2>/dev/null",
            SCRIPT_TIMEOUT_S,
            OUTPUT_CAP,
        )
        return output

    def _first_file(self, folders: list[str], name: str) -> str | None:
        """A copy of the first `name` in `folders` (a `$VARIABLE` expanded in the session), or None."""
        words = " ".join(f'"{f}"' if re.fullmatch(r"\$\{?\w+\}?", f) else shlex.quote(f) for f in folders)
        found = self._text(
            f'for d in {words}; do [ -n "$d" ] && [ -f "$d/{name}" ] && {{ printf %s "$d/{name}"; break; }}; done; true'
        )
        return self.session_file(found, name) if found else None

    def _vlc_status(self, name: str) -> str | None:
        """A copy of VLC's status.xml from its HTTP interface inside the session, or None when VLC does not answer."""
        login = "Basic " + base64.b64encode(b":password").decode()
        fetch = (
            f"import urllib.request as u; r = u.Request({VLC_STATUS!r}, headers={{'Authorization': {login!r}}}); "
            "print(u.urlopen(r, timeout=5).read().decode())"
        )
        text = self._text(f"python3 -c {shlex.quote(fetch)}")
        if not text.strip():
            return None
        target = self._path(name)
        target.write_text(text, encoding="utf-8")
        return str(target)

    def _profile(self, name: str) -> dict[str, Any]:
        """A JSON file of Chromium's profile (empty when there is none)."""
        text = self._text(f"cat -- {PROFILE}/{name}")
        try:
            data = json.loads(text) if text else {}
        except json.JSONDecodeError:
            return {}
        return data if isinstance(data, dict) else {}

    def _path(self, name: str) -> Path:
        """A new file of the folder, named `name` (the functions read the kind of a file from its suffix)."""
        self.count += 1
        folder = self.folder / str(self.count)
        folder.mkdir()
        return folder / (PurePosixPath(name).name or "file")

    def session_file(self, path: str, name: str | None = None) -> str | None:
        """A copy of the session's file in the runner's folder, or None when the session has no such file."""
        code, output = self.session.judge_run(f"cd ~ && base64 -w0 -- {shlex.quote(path)}", 120.0, FILE_READ_CAP)
        if code != 0:
            return None
        try:
            content = base64.b64decode(output, validate=True)
        except binascii.Error:
            return None
        target = self._path(name or path)
        target.write_bytes(content)
        return str(target)

    def traveling_file(self, sha: str, name: str | None = None) -> str:
        content = self.session.files.get(sha)
        if content is None:
            raise JudgingError(f"expected file {sha} was not sent with the session")
        target = self._path(name or sha)
        target.write_bytes(content)
        return str(target)

    def _text(self, command: str) -> str:
        code, output = self.session.judge_run(f"cd ~ && {command}", 60.0, OUTPUT_CAP)
        return output if code == 0 else ""

    def _tabs(self, kind: str) -> Any:
        """Chromium's page tabs from its DevTools port (most recently active first), as OSWorld's getters give them."""
        tabs: list[dict[str, str]] = []
        for port in DEVTOOLS_PORTS:
            url = f"http://127.0.0.1:{port}/json"
            fetch = f"import urllib.request as u; print(u.urlopen({url!r}, timeout=5).read().decode())"
            text = self._text(f"python3 -c {shlex.quote(fetch)}")
            try:
                targets = json.loads(text) if text else []
            except json.JSONDecodeError:
                continue
            tabs = [
                {"title": str(t.get("title", "")), "url": str(t.get("url", ""))}
                for t in targets
                if isinstance(t, dict) and t.get("type") == "page"
            ]
            break
        if kind == "open_tabs_info":
            return tabs
        if not tabs:
            return None
        return tabs[0]["url"] if kind == "active_url_from_accessTree" else tabs[0]

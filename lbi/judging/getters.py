"""The getters of an evaluator lbi reads, apart from the comparisons (registry.py): each `result` and `expected` of
an OSWorld evaluator is `{"type": ..., fields}`, and this says which types lbi reads and what each needs. The runner
reads them in the session out of the agent's reach (env_runners/desktop/getters.py).

- `vm_file`: a file of the session (`path`, or a list of them with `multi`; `gives` picks among them).
- `cloud_file`: a file that travels with the task (`sha256`, or a list with `multi`; the importer turns OSWorld's
  URLs into the sha256 of the file given for them).
- `vm_command_line`: a command's output in the session (`command`, a string or its words).
- `rule`: the evaluator's own `rules`.
- `vm_script_output` (Spider2-V): the output of a script that travels with the task (`sha256`), run in the session
  after the episode; `dbt_profiles`: the first `profiles.yml` in `dirs` (a `$VARIABLE` expanded in the session).
- `accessibility_tree`: the running applications' trees in OSWorld's XML form.
- `list_directory`: a folder's tree (`path`) as OSWorld gives it, `{name, type, children}`.
- `vlc_playing_info`: VLC's status.xml from its HTTP interface (port 8080, password "password", as OSWorld's VM
  has it); None when VLC runs without that interface.
- `open_tabs_info`, `active_tab_info`, `active_url_from_accessTree`: Chromium's tabs through its DevTools port;
  `bookmarks`: its profile's bookmarks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lbi.judging.errors import JudgingError

DEVTOOLS_PORTS = (1337, 9222)  # OSWorld starts Chrome on 1337 and forwards 9222 to it
NEEDS = {
    "vm_file": "path",
    "cloud_file": "sha256",
    "vm_command_line": "command",
    "rule": "rules",
    "accessibility_tree": "",
    "open_tabs_info": "",
    "active_tab_info": "",
    "active_url_from_accessTree": "",
    "bookmarks": "",
    "default_search_engine": "",
    "enable_do_not_track": "",
    "gimp_config_file": "file_name",
    "vlc_config": "",
    "vlc_playing_info": "",
    "list_directory": "path",
    "default_video_player": "",
    "vm_script_output": "sha256",
    "dbt_profiles": "dirs",
}
REFUSED = {
    "vm_terminal_output": "reads the terminal's screen, which lbi's desktop does not expose",
    "googledrive_file": "needs a Google account",
    "page_info": "reads a public web page",
    "info_from_website": "reads a public web page",
    "url_dashPart": "reads a public web page",
}


def check_getter(spec: Any, where: str) -> None:
    """JudgingError naming the field of one getter (`where`: e.g. evaluator.result[1]) lbi cannot read."""
    if not isinstance(spec, Mapping):
        raise JudgingError(f"{where}: a getter object")
    kind = spec.get("type")
    if kind in REFUSED:
        raise JudgingError(f"{where}.type: {kind} {REFUSED[kind]}")
    if kind not in NEEDS:
        raise JudgingError(f"{where}.type: {kind!r} is not a getter lbi reads ({', '.join(NEEDS)})")
    field = NEEDS[kind]
    if field and spec.get(field) in (None, "", []):
        raise JudgingError(f"{where}.{field}: missing")
    if spec.get("multi") and not isinstance(spec.get(field), list):
        raise JudgingError(f"{where}.{field}: a list, with multi")


def check_getters(evaluator: Mapping[str, Any]) -> None:
    """JudgingError naming the first getter of `evaluator` lbi cannot read (infeasible tasks read none)."""
    names = evaluator.get("func")
    count = len(names) if isinstance(names, list) else 1
    if names == "infeasible":
        return
    for key in ("result", "expected"):
        value = evaluator.get(key)
        specs = value if isinstance(names, list) and isinstance(value, list) else [value]
        for i, spec in enumerate(specs):
            if spec is None or spec == {}:
                if key == "result":
                    raise JudgingError(f"evaluator.{key}: missing")
                continue
            check_getter(spec, f"evaluator.{key}" + (f"[{i}]" if count > 1 else ""))

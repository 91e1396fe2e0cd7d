"""Desktop session costs, in process (no gRPC): prints JSON figures.

    python bench/desktop_sessions.py [--sessions 8] [--steps 10] [--held 6]

open_one / open_four: `DesktopEnvironment.open` until every application shows a window (Xvfb, D-Bus, AT-SPI,
openbox and the applications inside the sandbox), with Mousepad alone and with the four default applications;
observe_default: reading and linearising the accessibility tree of the four default applications; observe_large:
the same on a file manager listing 1,500 files in its detailed view (the helper visits ~3,000+ nodes, the count
is printed); step: `type` one character then the tree read again; memory: proportional set size (PSS) of every
process of one four-application session; held: that many four-application sessions open at once, each still
answering, and how many this machine's available memory would hold. open_libreoffice / observe_libreoffice:
LibreOffice Calc on a 60-row spreadsheet (how its readiness was seen: "windows", not "timeout"), and its tree read
(the sheet's cells in view); skipped unless a layer with LibreOffice was built (`lbi runner build-rootfs --desktop
--apps libreoffice`). Targets (issues 29, 38): open_one p50 <= 3 s, observe_default and observe_libreoffice p50 <=
300 ms; `within_target` says whether they were met.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from env_runners.desktop.apps import with_companions
from env_runners.desktop.environment import DESKTOP_PACKAGES, DESKTOP_PIP, DesktopEnvironment
from env_runners.shell.layers import built_layer
from env_runners.shell.rootfs import find_image
from env_runners.shell.sandbox import namespace_processes
from lbi.config import RunnerSettings
from tests.fixtures.office_documents import spreadsheet, write_command

CALC_ROWS = [["Rep", "Region", "Units"]] + [[f"Rep {i:02d}", "North", 10 * i + 7] for i in range(1, 61)]
CALC = {
    "packages": ["libreoffice-calc"],
    "apps": ["libreoffice --calc /home/agent/sales.fods"],
    "setup": write_command("/home/agent/sales.fods", spreadsheet(CALC_ROWS)),
    "start_timeout_s": 120,
}


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000, 1),
        "n": len(ordered),
    }


def timed(fn):
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def session_pss_mb(session) -> float:
    total = 0
    assert session.shell.namespace is not None
    for pid in namespace_processes(session.shell.namespace.inode):
        try:
            with open(f"/proc/{pid}/smaps_rollup") as rollup:
                for line in rollup:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return round(total / 1024, 1)


def available_mb() -> float:
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    return 0.0


def libreoffice(env: DesktopEnvironment, sessions: int, steps: int) -> dict[str, Any]:
    """Calc sessions opened and their trees read; {} when no layer holding LibreOffice was built ahead."""
    image = find_image(env.settings.rootfs_dir, env.shells.image_name)
    packages = with_companions(sorted({*DESKTOP_PACKAGES, "libreoffice-calc"}))
    if image is None or built_layer(env.settings.layers_dir, image, packages, DESKTOP_PIP) is None:
        return {}
    opened, observed, ready, nodes = [], [], [], 0
    for _ in range(sessions):
        took, session = timed(lambda: env.open(env.parse_config(CALC)))
        opened.append(took)
        ready.append(session.ready["how"])
        try:
            for _ in range(steps):
                took, reply = timed(lambda s=session: s.call({"op": "observe"}, 30.0))
                observed.append(took)
                nodes = reply.get("nodes", 0)
        finally:
            session.close()
    return {
        "open_libreoffice": {**percentiles(opened), "ready": sorted(set(ready))},
        "observe_libreoffice": {**percentiles(observed), "nodes": nodes},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--held", type=int, default=6)
    args = parser.parse_args()
    env = DesktopEnvironment(RunnerSettings())
    env.root_for(env.parse_config({}))  # the layer is built before anything is timed
    figures: dict[str, list[float]] = {"open_one": [], "open_four": [], "observe_default": [], "step": []}
    for _ in range(args.sessions):
        took, session = timed(lambda: env.open(env.parse_config({"apps": ["mousepad"]})))
        figures["open_one"].append(took)
        session.close()
    memory, nodes_default = [], 0
    for index in range(max(2, args.sessions // 2)):
        took, session = timed(lambda: env.open(env.parse_config({})))
        figures["open_four"].append(took)
        try:
            for _ in range(args.steps):
                took, reply = timed(lambda s=session: s.call({"op": "observe"}))
                figures["observe_default"].append(took)
                nodes_default = reply.get("nodes", 0)
            session.step("click [Untitled 1 - Mousepad]")
            for _ in range(args.steps):
                took, _ = timed(lambda s=session: s.step('type "x"'))
                figures["step"].append(took)
            if index == 0:
                memory.append(session_pss_mb(session))
        finally:
            session.close()
    large = env.open(
        env.parse_config(
            {
                "apps": ["thunar /home/agent/many"],
                "setup": "mkdir -p ~/many && cd ~/many && touch $(seq -f 'f%04g.txt' 1500)",
            }
        )
    )
    try:
        large.call({"op": "act", "command": {"verb": "hotkey", "keys": "ctrl+2"}, "settle_s": 1.0}, 30.0)
        observe_large, nodes_large = [], 0
        for _ in range(args.steps):
            took, reply = timed(lambda: large.call({"op": "observe"}, 30.0))
            observe_large.append(took)
            nodes_large = reply.get("nodes", 0)
    finally:
        large.close()
    held = []
    try:
        for _ in range(args.held):
            held.append(env.open(env.parse_config({})))
        answering = sum(1 for s in held if "error" not in s.call({"op": "observe"}, 30.0))
        held_pss = round(sum(session_pss_mb(s) for s in held), 1)
    finally:
        for session in held:
            session.close()
    office = libreoffice(env, max(2, args.sessions // 4), args.steps)
    per_session = memory[0] if memory else 0.0
    result: dict[str, Any] = {
        "open_one": percentiles(figures["open_one"]),
        "open_four": percentiles(figures["open_four"]),
        "observe_default": {**percentiles(figures["observe_default"]), "nodes": nodes_default},
        "observe_large": {**percentiles(observe_large), "nodes": nodes_large},
        "step": percentiles(figures["step"]),
        "memory_per_session_mb": per_session,
        "held": {"sessions": args.held, "answering": answering, "pss_mb": held_pss},
        "sessions_fit_in_available_memory": int(available_mb() // per_session) if per_session else 0,
        **office,
    }
    result["within_target"] = {
        "open_one_p50_le_3s": result["open_one"]["p50_ms"] <= 3000,
        "observe_default_p50_le_300ms": result["observe_default"]["p50_ms"] <= 300,
    }
    if office:
        result["within_target"]["observe_libreoffice_p50_le_300ms"] = office["observe_libreoffice"]["p50_ms"] <= 300
    print(json.dumps(result))


if __name__ == "__main__":
    main()

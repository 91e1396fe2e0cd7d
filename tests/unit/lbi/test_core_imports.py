"""The shared core (everything in lbi/ but the CLI, which composes the services) imports no service and no
environment package, not even inside a function; and no service imports another."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
ABOVE_THE_CORE = ("env_runners", "synth_service", "retrieval_service")


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.lineno, node.module))
    return found


def test_the_core_imports_no_service_or_environment():
    core = [p for p in (ROOT / "lbi").rglob("*.py") if "cli" not in p.relative_to(ROOT / "lbi").parts]
    assert len(core) > 40
    wrong = [
        f"{p.relative_to(ROOT)}:{line}: {name}"
        for p in core
        for line, name in _imports(p)
        if name.split(".")[0] in ABOVE_THE_CORE
    ]
    assert not wrong, "the core reaches up:\n" + "\n".join(wrong)


def test_no_service_imports_another():
    """Each service and the environment runners stand alone; only the CLI (lbi/cli) composes them."""
    wrong = []
    for package in ABOVE_THE_CORE:
        for p in (ROOT / package).rglob("*.py"):
            wrong += [
                f"{p.relative_to(ROOT)}:{line}: {name}"
                for line, name in _imports(p)
                if name.split(".")[0] in ABOVE_THE_CORE and name.split(".")[0] != package
            ]
    assert not wrong, "a service reaches into another:\n" + "\n".join(wrong)

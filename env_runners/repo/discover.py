"""Resources read from a code base itself: its modules and their API, its tests, how they run, worked examples.

When a user brings a repository and no documentation (or besides its README), this is what self-instruct
reads. The code is read with `ast` (never imported on the runner; symbolic links are not followed), and the
test run is measured in a real session of the environment:
- an overview (project name, packages, modules, test files, the command that runs the tests and how many
  tests it collects);
- one resource per module: its docstring, public functions with their signatures and first docstring line,
  public classes with their public methods;
- the test files with their test names;
- worked examples generated from the code (finding a definition, viewing a module's start, listing its
  functions, reading a function's documentation, running one test file or one test, counting tests), **run
  in a session before they are written down** and shown with their real output; one that fails is left out.
"""

from __future__ import annotations

import ast
import collections
import configparser
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from env_runners.shell.discover import Example, Run, run_examples
from lbi.records import Resource

MAX_MODULES = 60
MAX_EXAMPLE_MODULES = 12
MAX_EXAMPLE_TEST_FILES = 6
EXAMPLES_PER_RESOURCE = 3
SKIPPED_DIRS = {
    ".git",
    ".tox",
    ".venv",
    "venv",
    "build",
    "dist",
    "node_modules",
    "__pycache__",
    ".eggs",
    "site-packages",
}


@dataclass
class Function:
    name: str
    signature: str
    summary: str


@dataclass
class Module:
    path: str  # relative to the repository
    dotted: str  # import name, "" when it is not importable from the repository root (or src/)
    summary: str
    functions: list[Function] = field(default_factory=list)
    classes: list[tuple[str, str, list[str]]] = field(default_factory=list)  # name, summary, public methods


@dataclass
class TestFile:
    path: str
    tests: list[str]


@dataclass
class CodeBase:
    name: str
    modules: list[Module]
    test_files: list[TestFile]
    test_paths: list[str]  # from the pytest configuration, if any


def _first_line(doc: str | None) -> str:
    lines = [line.strip() for line in (doc or "").strip().splitlines()]
    paragraph = " ".join(lines[: lines.index("")] if "" in lines else lines)
    return paragraph[:200]


def _python_files(repo: Path) -> list[Path]:
    found = []
    for path in sorted(repo.rglob("*.py")):
        relative = path.relative_to(repo)
        if any(part in SKIPPED_DIRS or part.startswith(".") for part in relative.parts[:-1]) or path.is_symlink():
            continue
        if path.is_file() and path.stat().st_size <= 1_000_000:
            found.append(path)
    return found


def _is_test(relative: Path) -> bool:
    return relative.name.startswith("test_") or relative.name.endswith("_test.py") or "tests" in relative.parts[:-1]


def _dotted(relative: Path) -> str:
    parts = list(relative.with_suffix("").parts)
    if parts and parts[0] == "src":
        parts = parts[1:]
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts) if parts and all(p.isidentifier() for p in parts) else ""


def _module(repo: Path, path: Path, tree: ast.Module) -> Module:
    relative = path.relative_to(repo)
    module = Module(str(relative), _dotted(relative), _first_line(ast.get_docstring(tree)))
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
            module.functions.append(
                Function(node.name, f"{node.name}({ast.unparse(node.args)})", _first_line(ast.get_docstring(node)))
            )
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            methods = [
                n.name
                for n in node.body
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and not n.name.startswith("_")
            ]
            module.classes.append((node.name, _first_line(ast.get_docstring(node)), methods))
    return module


def _tests(repo: Path, path: Path, tree: ast.Module) -> TestFile:
    names = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
            names.append(node.name)
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            names += [
                f"{node.name}::{n.name}"
                for n in node.body
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name.startswith("test")
            ]
    return TestFile(str(path.relative_to(repo)), names)


def _project_name(repo: Path) -> str:
    try:
        return tomllib.loads((repo / "pyproject.toml").read_text())["project"]["name"]
    except (OSError, KeyError, tomllib.TOMLDecodeError, TypeError):
        return repo.name


def _test_paths(repo: Path) -> list[str]:
    """`testpaths` from pyproject.toml, pytest.ini, setup.cfg or tox.ini, in pytest's order."""
    try:
        options = (
            tomllib.loads((repo / "pyproject.toml").read_text())
            .get("tool", {})
            .get("pytest", {})
            .get("ini_options", {})
        )
        if options.get("testpaths"):
            paths = options["testpaths"]
            return [paths] if isinstance(paths, str) else list(paths)
    except (OSError, tomllib.TOMLDecodeError, AttributeError):
        pass
    for name, section in (("pytest.ini", "pytest"), ("setup.cfg", "tool:pytest"), ("tox.ini", "pytest")):
        parser = configparser.ConfigParser()
        try:
            parser.read(repo / name)
        except configparser.Error:
            continue
        if parser.has_option(section, "testpaths"):
            return parser.get(section, "testpaths").split()
    return []


def read_code(repo: Path) -> CodeBase:
    modules, test_files = [], []
    for path in _python_files(repo):
        try:
            tree = ast.parse(path.read_bytes())
        except (SyntaxError, ValueError):
            continue
        relative = path.relative_to(repo)
        if _is_test(relative):
            found = _tests(repo, path, tree)
            if found.tests:
                test_files.append(found)
        elif relative.parts[0] not in ("docs", "doc", "examples", "scripts", "benchmarks") and relative.name not in (
            "setup.py",
            "conftest.py",
            "noxfile.py",
        ):
            modules.append(_module(repo, path, tree))
    modules.sort(key=lambda m: (not (m.functions or m.classes), m.path))
    return CodeBase(_project_name(repo), modules[:MAX_MODULES], test_files, _test_paths(repo))


def candidate_examples(code: CodeBase) -> list[Example]:
    examples: list[Example] = []
    with_api = [m for m in code.modules if m.functions or m.classes][:MAX_EXAMPLE_MODULES]
    for module in with_api:
        path = module.path
        top = path.split("/")[0] if "/" in path else "."
        names = [("function", f.name, "def") for f in module.functions] + [
            ("class", c[0], "class") for c in module.classes
        ]
        kind, first, keyword = names[0]
        examples.append(
            Example(
                path,
                f"Find where the {kind} {first} is defined.",
                f"search {shlex.quote(keyword + ' ' + first)} {shlex.quote(top)}",
                "",
            )
        )
        examples.append(
            Example(path, f"Show the first 15 lines of {path}, numbered.", f"view {shlex.quote(path)} 1 15", "")
        )
        what = "functions" if module.functions else "classes"
        examples.append(
            Example(
                path,
                f"List the public {what} defined in {path}.",
                f"grep -n {shlex.quote('^' + keyword + ' [a-zA-Z]')} {shlex.quote(path)}",
                "",
            )
        )
        if module.dotted and len(names) > 1:
            kind, other, _ = names[1]
            code_line = f"import {module.dotted} as m; print(m.{other}.__doc__)"
            examples.append(
                Example(
                    path,
                    f"Show the documentation of the {kind} {module.dotted}.{other}.",
                    f'"$LBI_PYTHON" -c {shlex.quote(code_line)}',
                    "",
                )
            )
    for test_file in code.test_files[:MAX_EXAMPLE_TEST_FILES]:
        path = test_file.path
        examples.append(Example(path, f"Run the tests in {path}.", f"run_tests {shlex.quote(path)}", ""))
        examples.append(
            Example(path, f"Count the test functions in {path}.", f"grep -c 'def test' {shlex.quote(path)}", "")
        )
        name = test_file.tests[len(test_file.tests) // 2]
        examples.append(
            Example(
                path,
                f"Run only the test {name.split('::')[-1]} in {path}.",
                f"run_tests {shlex.quote(path + '::' + name)}",
                "",
            )
        )
    return examples


def _api(module: Module) -> str:
    lines = [
        f"Module `{module.path}`" + (f" (import `{module.dotted}`)" if module.dotted else "") + ".",
        "",
        module.summary or "(no module docstring)",
    ]
    if module.functions:
        lines += ["", "Public functions:", ""]
        lines += [f"- `{f.signature}`" + (f": {f.summary}" if f.summary else "") for f in module.functions[:40]]
    if module.classes:
        lines += ["", "Public classes:", ""]
        lines += [
            f"- `{name}`"
            + (f": {summary}" if summary else "")
            + (f" (methods: {', '.join(methods[:15])})" if methods else "")
            for name, summary, methods in module.classes[:20]
        ]
    return "\n".join(lines)


def code_resources(env: str, uri: str, code: CodeBase, collected: str, examples: list[Example]) -> list[Resource]:
    def resource(title: str, text: str, part: str) -> Resource:
        return Resource(env=env, title=title, text=text, uri=f"{uri}#{part}", kind="introspection")

    packages = sorted({m.dotted.split(".")[0] for m in code.modules if "." in m.dotted})
    tests = sum(len(t.tests) for t in code.test_files)
    how = (
        "`run_tests` runs pytest from the repository root"
        + (f" (configured test paths: {', '.join(code.test_paths)})" if code.test_paths else "")
        + "."
    )
    overview = (
        f"The code base `{code.name}`: {len(code.modules)} modules"
        + (f" in {', '.join(f'`{p}`' for p in packages)}" if packages else "")
        + f", {len(code.test_files)} test files with {tests} test functions.\n\n{how}"
        + (f" It collects: {collected}." if collected else "")
    )
    resources = [resource("Overview of the code base", overview, "overview")]
    resources += [
        resource(f"Module {m.path}", _api(m), f"module/{m.path}")
        for m in code.modules
        if m.functions or m.classes or m.summary
    ]
    for start in range(0, len(code.test_files), 5):
        group = code.test_files[start : start + 5]
        text = "\n\n".join(
            f"`{t.path}` ({len(t.tests)} tests): "
            + ", ".join(f"`{n}`" for n in t.tests[:40])
            + (" ..." if len(t.tests) > 40 else "")
            for t in group
        )
        resources.append(resource(f"Test files ({start // 5 + 1})", text, f"tests/{start // 5 + 1}"))
    by_subject: dict[str, list[Example]] = collections.defaultdict(list)
    for example in examples:
        by_subject[example.subject].append(example)
    for subject, own in by_subject.items():
        for start in range(0, len(own), EXAMPLES_PER_RESOURCE):
            chunk = own[start : start + EXAMPLES_PER_RESOURCE]
            part = start // EXAMPLES_PER_RESOURCE + 1
            text = "\n\n".join(
                f"{e.lead}\n\n```bash\n{e.command}\n```\n\nIts output:\n\n"
                + "\n".join("    " + line for line in e.output.splitlines()[-15:])
                for e in chunk
            )
            resources.append(resource(f"Worked examples on {subject} ({part})", text, f"examples/{subject}/{part}"))
    return resources


def discover(repo: Path, run: Run, env: str, uri: str) -> list[Resource]:
    code = read_code(repo)
    status, output = run('"$LBI_PYTHON" -m pytest --collect-only -q -p no:cacheprovider 2>&1 | tail -n 1')
    collected = output.strip().splitlines()[-1] if status == 0 and "collected" in output else ""
    return code_resources(env, uri, code, collected, run_examples(run, candidate_examples(code)))

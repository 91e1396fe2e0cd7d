"""Resources read from a shell session itself: its workspace after setup, the tools present, worked examples that ran.

When a user brings a workspace (a setup script, a seeded folder, a repository) and no documentation, this is
what self-instruct reads. Discovery runs in a real session of the environment (sandboxed like any other), so
a runner pod does it where the files live:
- an overview (where the session starts, how many files of which kinds, the top-level entries);
- the workspace as a tree with sizes and types, and the first lines of its text files;
- the tools present, each with its usage line (`--help`);
- worked examples generated from the files actually there (counting, heads and tails, searching for words
  the files contain, tabulating CSV columns, finding by extension, sizes, archives) **executed before they are
  written down** and shown with their real output; one that fails or prints nothing is left out.
Resources are Markdown of kind `introspection`; the examples come in small groups per file or folder.
"""

from __future__ import annotations

import collections
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field

from lbi.records import Resource

MAX_ENTRIES = 2000
MAX_TEXT_FILES = 40  # text files whose first lines are shown
MAX_EXAMPLE_FILES = 14
MAX_EXAMPLE_DIRS = 8
HEAD_LINES = 8
EXAMPLES_PER_RESOURCE = 3
PRUNED = (".git", "node_modules", "__pycache__", ".venv", ".tox", ".mypy_cache", ".pytest_cache")
TOOLS = (
    "ls",
    "cat",
    "head",
    "tail",
    "wc",
    "grep",
    "sed",
    "awk",
    "cut",
    "sort",
    "uniq",
    "tr",
    "find",
    "xargs",
    "du",
    "df",
    "tar",
    "gzip",
    "zip",
    "unzip",
    "diff",
    "patch",
    "cp",
    "mv",
    "rm",
    "mkdir",
    "chmod",
    "ln",
    "stat",
    "file",
    "tree",
    "jq",
    "sqlite3",
    "python3",
    "perl",
    "git",
    "make",
    "curl",
    "bc",
    "date",
    "md5sum",
    "sha256sum",
    "xxd",
)
_WORD = re.compile(r"[A-Za-z][A-Za-z_-]{3,}")
_STOP = {
    "this",
    "that",
    "with",
    "from",
    "have",
    "were",
    "will",
    "your",
    "they",
    "them",
    "then",
    "than",
    "there",
    "their",
    "what",
    "when",
    "which",
    "into",
    "also",
    "each",
    "only",
    "true",
    "false",
    "none",
    "null",
    "some",
    "here",
    "been",
    "more",
    "most",
    "such",
    "other",
    "about",
    "over",
    "just",
    "like",
    "should",
    "would",
    "could",
}

Run = Callable[[str], tuple[int, str]]  # a command -> (exit code, output); run in the session's start folder


@dataclass
class Entry:
    kind: str  # f (file), d (folder), l (link)
    size: int
    path: str

    @property
    def extension(self) -> str:
        name = self.path.rsplit("/", 1)[-1]
        return name.rsplit(".", 1)[-1].lower() if "." in name.strip(".") else ""


@dataclass
class Workspace:
    start: str
    entries: list[Entry]
    text: dict[str, str] = field(default_factory=dict)  # path -> first lines
    line_counts: dict[str, int] = field(default_factory=dict)
    base: str = ""  # a folder the setup made elsewhere (`/testbed`): entries' paths are absolute under it

    def relative(self, entry: Entry) -> str:
        """The entry's path below the folder that was read."""
        return entry.path[len(self.base) + 1 :] if self.base else entry.path

    @property
    def files(self) -> list[Entry]:
        return [e for e in self.entries if e.kind == "f"]

    @property
    def folders(self) -> list[Entry]:
        return [e for e in self.entries if e.kind == "d"]


@dataclass
class Example:
    subject: str  # the file or folder it is about (resources group by it)
    lead: str
    command: str
    output: str
    mutates: bool = False  # changes the workspace: run after every example that only reads it


def q(path: str) -> str:
    return shlex.quote(path)


def read_workspace(run: Run, base: str = "") -> Workspace:
    """The start folder's tree, or with `base` that folder's (paths absolute): without hidden entries, VCS folders
    and caches; which files are text, their first lines and line counts."""
    _, start = run("pwd") if not base else (0, base)
    prune = " -o ".join(f"-name {name}" for name in PRUNED) + " -o -name '.*'"  # hidden: shell set-up, caches
    _, listing = run(
        f"find {q(base) if base else '.'} -mindepth 1 -maxdepth 6 \\( {prune} \\) -prune -o -printf '%y\\t%s\\t%P\\n' "
        f"2>/dev/null | LC_ALL=C sort -t$'\\t' -k3 | head -n {MAX_ENTRIES}"
    )
    entries = []
    for line in listing.splitlines():
        parts = line.split("\t", 2)
        if len(parts) == 3 and parts[1].isdigit() and parts[2]:
            entries.append(Entry(parts[0], int(parts[1]), f"{base}/{parts[2]}" if base else parts[2]))
    workspace = Workspace(start.strip().splitlines()[-1] if start.strip() else "~", entries, base=base)
    candidates = [e.path for e in workspace.files if 0 < e.size <= 5_000_000][:400]
    if not candidates:
        return workspace
    _, text_files = run("grep -Il '' -- " + " ".join(q(p) for p in candidates) + " 2>/dev/null")
    texts = [p for p in text_files.splitlines() if p in set(candidates)][:MAX_TEXT_FILES]
    if texts:
        _, counts = run("wc -l -- " + " ".join(q(p) for p in texts))
        for line in counts.splitlines():
            number, _, path = line.strip().partition(" ")
            if number.isdigit() and path in texts:
                workspace.line_counts[path] = int(number)
        _, heads = run(f"head -n {HEAD_LINES} -- " + " ".join(q(p) for p in texts) + " | cut -c1-160")
        if len(texts) == 1:
            workspace.text[texts[0]] = heads.rstrip("\n")
        else:
            for block in re.split(r"(?m)^==> ", heads):
                name, _, body = block.partition(" <==\n")
                if name in texts:
                    workspace.text[name] = body.rstrip("\n")
    return workspace


def _indented(text: str, limit: int = 12) -> str:
    lines = text.rstrip("\n").splitlines()
    shown = lines[:limit] + ([f"... ({len(lines) - limit} more lines)"] if len(lines) > limit else [])
    return "\n".join("    " + line[:160] for line in shown)


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _keyword(text: str, avoid: set[str]) -> str | None:
    """The most frequent word of a file's first lines that is not a stop word (ties: the first seen)."""
    counts = collections.Counter(
        w.lower() for w in _WORD.findall(text) if w.lower() not in _STOP and w.lower() not in avoid
    )
    return counts.most_common(1)[0][0] if counts else None


def _delimiter(path: str, head: str) -> str | None:
    """',' or tab when the file is a table: a delimited header and lines with the same number of fields."""
    lines = [line for line in head.splitlines() if line.strip()]
    for delimiter in (",", "\t", ";", "|"):
        widths = {line.count(delimiter) for line in lines}
        if (
            len(lines) >= 3
            and len(widths) == 1
            and widths.pop() >= 1
            and (path.endswith((".csv", ".tsv")) or delimiter != ";")
        ):
            return delimiter
    return None


def _table_examples(path: str, head: str, delimiter: str) -> list[tuple[str, str]]:
    """Value counts of two repeating columns, a filter on a common value, and a sort on a numeric column."""
    header = head.splitlines()[0].split(delimiter)
    rows = [line.split(delimiter) for line in head.splitlines()[1:] if line.strip()]
    d = "$'\\t'" if delimiter == "\t" else q(delimiter)
    found: list[tuple[str, str]] = []
    for index, name in enumerate(header, start=1):
        values = [r[index - 1] for r in rows if len(r) >= index]
        if not name.strip() or not values:
            continue
        if all(re.fullmatch(r"-?\d+(\.\d+)?", v.strip()) for v in values):
            if not any("sorted" in lead for lead, _ in found):
                found.append(
                    (
                        f"Show the five rows of {path} with the highest '{name.strip()}', highest first.",
                        f"tail -n +2 {q(path)} | sort -t {d} -k{index},{index} -g -r | head -n 5",
                    )
                )
        elif len(set(values)) < len(values) and sum("each value" in lead for lead, _ in found) < 2:
            found.append(
                (
                    f"Count the rows of {path} for each value of its '{name.strip()}' column.",
                    f"tail -n +2 {q(path)} | cut -d {d} -f{index} | sort | uniq -c | sort -rn",
                )
            )
            if not any("whose" in lead for lead, _ in found):
                value = collections.Counter(values).most_common(1)[0][0]
                found.append(
                    (
                        f"List the rows of {path} whose '{name.strip()}' is '{value}'.",
                        f"awk -F {d} -v v={q(value)} 'NR == 1 || ${index} == v' {q(path)}",
                    )
                )
    return found[:4]


def candidate_examples(workspace: Workspace) -> list[Example]:
    """What a user of these files would do with them, as commands (not yet run)."""
    examples: list[Example] = []
    used_words: set[str] = set()
    for path in list(workspace.text)[:MAX_EXAMPLE_FILES]:
        head, lines = workspace.text[path], workspace.line_counts.get(path, 0)
        subject = path
        examples.append(Example(subject, f"Count the lines in {path}.", f"wc -l < {q(path)}", ""))
        if lines > 4:
            examples.append(Example(subject, f"Show the first 3 lines of {path}.", f"head -n 3 {q(path)}", ""))
            examples.append(Example(subject, f"Show the last 2 lines of {path}.", f"tail -n 2 {q(path)}", ""))
        delimiter = _delimiter(path, head)
        if delimiter:
            examples += [
                Example(subject, lead, command, "") for lead, command in _table_examples(path, head, delimiter)
            ]
        word = _keyword(head, used_words)
        if word:
            used_words.add(word)
            examples.append(
                Example(
                    subject,
                    f"Find the lines of {path} that mention '{word}', with line numbers.",
                    f"grep -n -i -- {q(word)} {q(path)}",
                    "",
                )
            )
            examples.append(
                Example(
                    subject,
                    f"Count the lines of {path} that mention '{word}'.",
                    f"grep -c -i -- {q(word)} {q(path)}",
                    "",
                )
            )
        examples.append(Example(subject, f"Count the words in {path}.", f"wc -w < {q(path)}", ""))
        examples.append(
            Example(
                subject,
                f"Make a backup copy of {path} named {path}.bak next to it.",
                f"cp -- {q(path)} {q(path + '.bak')} && ls -l {q(path + '.bak')}",
                "",
                mutates=True,
            )
        )
    shallow_first = sorted(workspace.folders, key=lambda e: (e.path.count("/"), e.path))
    top, top_name = workspace.base or ".", workspace.base or "the workspace"
    folders = [top, *[e.path for e in shallow_first][: MAX_EXAMPLE_DIRS - 1]]
    for folder in folders:
        name = top_name if folder == top else folder
        examples.append(Example(folder, f"List the files in {name} with their sizes.", f"ls -l {q(folder)}", ""))
        examples.append(
            Example(
                folder, f"Count the files under {name}, subfolders included.", f"find {q(folder)} -type f | wc -l", ""
            )
        )
        examples.append(Example(folder, f"Show how much disk space {name} uses.", f"du -sh {q(folder)}", ""))
        archive = "/tmp/" + ("workspace" if folder == "." else folder.strip("/").replace("/", "-")) + ".tar.gz"
        examples.append(
            Example(
                folder,
                f"Pack {name} into the compressed archive {archive} and list what it holds.",
                f"tar czf {archive} {q(folder)} && tar tzf {archive}",
                "",
            )
        )
    extensions = collections.Counter(e.extension for e in workspace.files if e.extension)
    for extension, _count in extensions.most_common(4):
        examples.append(
            Example(
                top,
                f"Find every .{extension} file in {top_name}.",
                f"find {q(top)} -type f -name {q('*.' + extension)}",
                "",
            )
        )
        examples.append(
            Example(
                top,
                f"Count the lines of all .{extension} files in {top_name} together.",
                f"find {q(top)} -type f -name {q('*.' + extension)} -exec cat {{}} + | wc -l",
                "",
            )
        )
    if len(workspace.files) > 1:
        examples.append(
            Example(
                top,
                f"Find the largest file in {top_name}.",
                f"find {q(top)} -type f -printf '%s %p\\n' | sort -rn | head -n 1",
                "",
            )
        )
    if used_words:
        word = sorted(used_words)[0]
        examples.append(
            Example(top, f"Search every file of {top_name} for '{word}'.", f"grep -rn -i -- {q(word)} {q(top)}", "")
        )
    return examples


def run_examples(run: Run, candidates: list[Example]) -> list[Example]:
    """Each candidate run in the session (those that change the workspace last, so every output is what a fresh
    session shows); kept, in the candidates' order, with its real output when it succeeds and prints something."""
    outputs: dict[int, str] = {}
    for index in sorted(range(len(candidates)), key=lambda i: candidates[i].mutates):
        code, output = run(candidates[index].command)
        if code == 0 and output.strip():
            outputs[index] = output.rstrip("\n")
    return [
        Example(e.subject, e.lead, e.command, outputs[i], e.mutates) for i, e in enumerate(candidates) if i in outputs
    ]


def read_tools(run: Run) -> list[tuple[str, str]]:
    """The tools present, each with the first line of its `--help` that says how to use it."""
    names = " ".join(TOOLS)
    _, found = run(f'for t in {names}; do command -v "$t" >/dev/null 2>&1 && printf \'%s\\n\' "$t"; done')
    present = [t for t in found.split() if t in TOOLS]
    script = (
        "for t in "
        + " ".join(present)
        + '; do printf \'\\n@@ %s\\n\' "$t"; timeout 2 "$t" --help 2>&1 </dev/null | head -n 4; done'
    )
    _, helps = run(script) if present else (0, "")
    usage: dict[str, str] = {}
    for block in helps.split("\n@@ ")[1:]:
        name, _, body = block.partition("\n")
        lines = [line.strip() for line in body.splitlines() if line.strip()]
        line = next((line for line in lines if line.lower().startswith("usage")), lines[0] if lines else "")
        usage[name.strip()] = line[:160]
    return [(t, usage.get(t, "")) for t in present]


def _tree(workspace: Workspace) -> str:
    rows = []
    for entry in workspace.entries[:400]:
        depth = workspace.relative(entry).count("/")
        name = entry.path.rsplit("/", 1)[-1]
        kind = {"d": "folder", "l": "link"}.get(entry.kind, "text" if entry.path in workspace.text else "file")
        detail = kind if entry.kind == "d" else f"{kind}, {_size(entry.size)}"
        lines = workspace.line_counts.get(entry.path)
        rows.append(
            "  " * depth
            + f"- {name}{'/' if entry.kind == 'd' else ''} ({detail}{f', {lines} lines' if lines is not None else ''})"
        )
    if len(workspace.entries) > 400:
        rows.append(f"- ... and {len(workspace.entries) - 400} more entries")
    return "\n".join(rows)


def workspace_resources(
    env: str, uri: str, workspace: Workspace, tools: list[tuple[str, str]], examples: list[Example]
) -> list[Resource]:
    """The overview, the tree, the files' first lines, the tools and the worked examples, as Markdown resources."""

    def resource(title: str, text: str, part: str) -> Resource:
        return Resource(env=env, title=title, text=text, uri=f"{uri}#{part}", kind="introspection")

    files = workspace.files
    extensions = collections.Counter(e.extension or "(none)" for e in files)
    top = [
        workspace.relative(e) + ("/" if e.kind == "d" else "")
        for e in workspace.entries
        if "/" not in workspace.relative(e)
    ]
    where = (
        f"The session's setup made `{workspace.base}`, which"
        if workspace.base
        else f"The session starts in `{workspace.start}`, which"
    )
    overview = (
        f"{where} holds {len(files)} files in "
        f"{len(workspace.folders)} folders ({_size(sum(e.size for e in files))} in all).\n\n"
        + (
            "Files by kind: "
            + ", ".join(
                f"{n} .{ext}" if ext != "(none)" else f"{n} without extension" for ext, n in extensions.most_common(10)
            )
            + ".\n\n"
            if files
            else "The folder is empty.\n\n"
        )
        + ("Top-level entries: " + ", ".join(f"`{t}`" for t in top[:40]) + "." if top else "")
    )
    label = f"`{workspace.base}`" if workspace.base else "the workspace"
    resources = [resource(f"Overview of {label}", overview.strip(), "overview")]
    if workspace.entries:
        resources.append(
            resource(
                f"The files of {label}" if workspace.base else "The workspace's files",
                f"Everything under `{workspace.start}`:\n\n{_tree(workspace)}",
                "tree",
            )
        )
    by_folder: dict[str, list[str]] = collections.defaultdict(list)
    for path in workspace.text:
        by_folder[path.rsplit("/", 1)[0] if "/" in path else "."].append(path)
    for folder, paths in by_folder.items():
        body = "\n\n".join(
            f"`{p}` ({workspace.line_counts.get(p, 0)} lines) begins:\n\n{_indented(workspace.text[p], HEAD_LINES)}"
            for p in paths
        )
        name = f"{label}'s top folder" if folder in (".", workspace.base) else folder
        resources.append(resource(f"What the files in {name} contain", body, f"contents/{folder}"))
    if tools and not workspace.base:
        lines = "\n".join(f"- `{name}`: {usage or 'present'}" for name, usage in tools)
        resources.append(resource("Tools present in the session", f"These commands are installed:\n\n{lines}", "tools"))
    by_subject: dict[str, list[Example]] = collections.defaultdict(list)
    for example in examples:
        by_subject[example.subject].append(example)
    for subject, own in by_subject.items():
        name = label if subject in (".", workspace.base) else subject
        for start in range(0, len(own), EXAMPLES_PER_RESOURCE):
            group = own[start : start + EXAMPLES_PER_RESOURCE]
            part = start // EXAMPLES_PER_RESOURCE + 1
            text = "\n\n".join(
                f"{e.lead}\n\n```bash\n{e.command}\n```\n\nIts output:\n\n{_indented(e.output)}" for e in group
            )
            resources.append(resource(f"Worked examples on {name} ({part})", text, f"examples/{subject}/{part}"))
    return resources


def discover(run: Run, env: str, uri: str, made: list[str] | None = None) -> list[Resource]:
    """Everything above, read through `run` (a session of the environment, in its start folder), for the start
    folder and for each folder of `made` (what the setup created elsewhere, such as `/testbed`)."""
    workspace = read_workspace(run)
    tools = read_tools(run)
    examples = run_examples(run, candidate_examples(workspace))
    resources = workspace_resources(env, uri, workspace, tools, examples)
    for base in made or []:
        elsewhere = read_workspace(run, base)
        found = run_examples(run, candidate_examples(elsewhere))
        resources += workspace_resources(env, f"{uri}:{base}", elsewhere, [], found)
    return resources

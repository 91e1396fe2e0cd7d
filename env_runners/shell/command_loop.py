"""How a persistent bash runs the agent's commands faithfully, and how their output is read back.

bash runs a small loop instead of reading commands from its stdin: each command arrives NUL-terminated on a
private descriptor (fd 3, closed while the command runs) and is run with `eval` with stdin `/dev/null`:
- `read v`, `cat`, `head -1` without a file see end-of-input at once instead of eating the next command;
- a syntax error is `eval`'s own error (bash's message, exit code 2) and the shell, its cwd and variables
  live on;
- signals the agent sends to its own shell (INT, TERM, HUP, QUIT, USR1, USR2, ALRM) are survived and
  reported in the output; `exit`, `exec` and SIGKILL end the shell, which is reported and restarted;
- after each command the loop waits for the writers it left (SETTLE) and prints a marker line with the exit code
  and the working directory.
"""

from __future__ import annotations

import os
import select
import shlex
import time
from dataclasses import dataclass

SIGNALS = ("INT", "TERM", "HUP", "QUIT", "USR1", "USR2", "ALRM")


# After a command, its output is complete only when the other processes that still write to the shell's output
# are done: a process substitution such as `tee >(wc -l)` (which may have been left to the session's init) or a job
# the command put in the background. The wait must not depend on how busy the machine is, so it is not a fixed
# grace in wall time: while any such writer is busy (runnable or in disk wait: working, or waiting for a CPU on a
# loaded machine) the shell waits for it, up to the command's settle budget (a share of its timeout, sent with the
# command); writers that are all idle (sleeping: a server, `sleep 30 &`) get a short grace of ~0.3 s of idleness. A
# writer still running when the wait ends is remembered and not waited for again. No fork (a fork bomb may have
# taken every process slot): `-ef` compares the pipe each /proc/PID/fd/1 names with the shell's own, the state is
# read from /proc/PID/stat with `read`, time from $EPOCHREALTIME (whole seconds from $SECONDS where a bash older than
# 5 has none), and `read -t` on fd 5, a pipe nobody writes to (opened once at the start), sleeps. PID 1 (the
# session's init, which holds the output from the start) is no writer.
SETTLE = (
    "exec 5<> <(:); __lbi_long=; "
    "__lbi_clock() { __lbi_now=${EPOCHREALTIME:-$SECONDS.000000}; __lbi_now=${__lbi_now/[.,]/}; }; "
    "__lbi_writers() { __lbi_w=; __lbi_busy=; local __f __p __s; for __f in /proc/[0-9]*/fd/1; do "
    '__p=${__f#/proc/}; __p=${__p%%/*}; [ "$__p" = "$$" ] || [ "$__p" = 1 ] && continue; '
    '[[ " $__lbi_long " == *" $__p "* ]] && continue; '
    '[ "$__f" -ef /proc/$$/fd/1 ] || continue; __lbi_w+=" $__p"; __s=; read -r __s < /proc/$__p/stat; '
    "__s=${__s##*) }; [[ ${__s%% *} == [RD] ]] && __lbi_busy=1; done 2>/dev/null; }; "
    '__lbi_settle() { local __idle=0; while __lbi_writers; [ -n "$__lbi_w" ]; do '
    "__lbi_clock; (( __lbi_now - __lbi_t0 < __lbi_budget )) || break; "
    '[ -n "$__lbi_busy" ] || (( ++__idle < 15 )) || break; read -r -t 0.02 -u 5; done; '
    '[ -z "$__lbi_w" ] || (( ${#__lbi_long} >= 4000 )) || __lbi_long+="$__lbi_w"; };'
)


def loop_script(marker: str) -> str:
    """The bash program of a session's shell (in the variable LBI_SHELL_LOOP, run with `bash -c 'eval ...'`), on one
    line so that bash's messages about the agent's command read as they would at a prompt ("bash: syntax error near
    unexpected token"). From the environment: `LBI_PRELUDE`, definitions run silently first, and `LBI_START_DIR`,
    where it starts."""
    traps = "; ".join(f"trap 'printf \"\\n[the shell received SIG{sig} and carried on]\\n\"' {sig}" for sig in SIGNALS)
    return (
        f"exec 3<&0 </dev/null; {traps}; "
        '{ eval "${LBI_PRELUDE:-}"; } >/dev/null 2>&1; cd -- "${LBI_START_DIR:-$PWD}" 2>/dev/null; '
        "unset LBI_START_DIR LBI_PRELUDE LBI_SHELL_LOOP; "
        f"{SETTLE} "
        "while IFS= read -r -d '' __lbi_budget <&3 && IFS= read -r -d '' __lbi_cmd <&3; do "
        "__lbi_clock; __lbi_t0=$__lbi_now; "
        'eval "$__lbi_cmd" 3<&- 5<&-; __lbi_rc=$?; __lbi_settle; '
        f'printf \'\\n%s %s %s\\n\' {shlex.quote(marker)} "$__lbi_rc" "$PWD"; '
        "done"
    )


SETTLE_SHARE = 0.7  # of a command's timeout: the longest its busy writers are waited for, from its start


def encode(command: str, timeout_s: float) -> bytes:
    """A command as the loop reads it: its settle budget in microseconds (SETTLE_SHARE of `timeout_s`, so the end
    marker comes before the runner's deadline), then the command; each NUL-terminated (NUL bytes inside a command are
    not allowed by bash anyway)."""
    return f"{int(timeout_s * SETTLE_SHARE * 1e6)}\0".encode() + command.replace("\0", "").encode() + b"\0"


@dataclass
class Reply:
    output: str
    exit_code: int | None  # None: timed out; -1: the shell exited
    cwd: str
    dropped: int  # characters left out past the cap


class OutputReader:
    """Reads one command's output up to the marker line, keeping at most `cap` characters."""

    def __init__(self, fd: int, marker: str, cap: int):
        self.fd, self.cap = fd, cap
        self.end = f"\n{marker} ".encode()
        self.kept: list[str] = []
        self.dropped = 0

    def _keep(self, text: str) -> None:
        room = max(0, self.cap - sum(map(len, self.kept)))
        self.kept.append(text[:room])
        self.dropped += max(0, len(text) - room)

    def _reply(self, code: int | None, cwd: str = "") -> Reply:
        return Reply("".join(self.kept), code, cwd, self.dropped)

    def read(self, deadline: float) -> Reply:
        buffer = b""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:  # what was printed before the timeout is kept
                self._keep(buffer.decode(errors="replace"))
                return self._reply(None)
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(self.fd, 65536)
            if not chunk:  # the shell exited
                self._keep(buffer.decode(errors="replace"))
                return self._reply(-1)
            buffer += chunk
            index = buffer.find(self.end)
            if index >= 0:
                tail = buffer[index + len(self.end) :]
                if b"\n" not in tail:
                    continue
                self._keep(buffer[:index].decode(errors="replace"))
                code, _, cwd = tail.split(b"\n", 1)[0].decode(errors="replace").partition(" ")
                return self._reply(int(code) if code.lstrip("-").isdigit() else 1, cwd)
            if len(buffer) > 2 * len(self.end) + 65536:  # keep the tail, which may hold a split marker
                flush, buffer = buffer[: -len(self.end)], buffer[-len(self.end) :]
                self._keep(flush.decode(errors="replace"))

"""A user namespace per session: uid 0 inside is an unprivileged host uid, with a range of ids mapped.

The runner (root) starts a short-lived holder process in a new user namespace, writes its id maps itself
(0..count-1 inside -> base..base+count-1 outside; no /etc/subuid, no newuidmap), keeps the namespace open
by a descriptor of its own and ends the holder, so nothing of the session outlives a runner that dies.
The session's sandbox enters that namespace (`nsenter --user=/proc/<runner>/fd/<n>`), so the session's root
has capabilities only over namespaces it owns and none in the host's. Inside, creating further user
namespaces is switched off (`user.max_user_namespaces = 0`), so dropped capabilities cannot be regained in a
nested namespace.
Each session has its own namespace, so per-user counts such as RLIMIT_NPROC are kept per session.
"""

from __future__ import annotations

import os
import subprocess
import time


def in_initial_user_namespace() -> bool:
    """True when this process is in the host's own user namespace (its uid map is the identity over all ids)."""
    with open("/proc/self/uid_map") as handle:
        return handle.read().split() == ["0", "0", "4294967295"]


class UserNamespace:
    """Holds one user namespace open (a descriptor of the runner's) until `close()`; `inode` identifies it."""

    def __init__(self, base: int, count: int):
        self.fd = -1
        self.holder = subprocess.Popen(
            ["unshare", "--user", "--", "sleep", "infinity"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            self._wait_until_unshared()
            for kind in ("uid_map", "gid_map"):
                with open(f"/proc/{self.holder.pid}/{kind}", "w") as handle:
                    handle.write(f"0 {base} {count}\n")
            self.fd = os.open(f"/proc/{self.holder.pid}/ns/user", os.O_RDONLY)  # not inherited by children
            self.inode = os.fstat(self.fd).st_ino
            subprocess.run(
                self.enter(["sh", "-c", "echo 0 > /proc/sys/user/max_user_namespaces"]), check=True, capture_output=True
            )
        except BaseException:
            self.close()
            raise
        finally:
            self._end_holder()

    @property
    def path(self) -> str:
        """The namespace as a path another process of root's can open (this runner's descriptor)."""
        return f"/proc/{os.getpid()}/fd/{self.fd}"

    def enter(self, command: list[str]) -> list[str]:
        """`command` run as root of this namespace (and nothing more: the host's root becomes the mapped uid)."""
        return ["nsenter", f"--user={self.path}", "--setuid", "0", "--setgid", "0", "--", *command]

    def _wait_until_unshared(self, timeout_s: float = 5.0) -> None:
        own = os.stat("/proc/self/ns/user").st_ino
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.holder.poll() is not None:
                why = self.holder.stderr.read() if self.holder.stderr else b""
                raise OSError(f"unshare --user failed: {why.decode(errors='replace').strip()}")
            try:
                if os.stat(f"/proc/{self.holder.pid}/ns/user").st_ino != own:
                    return
            except FileNotFoundError:
                pass
            time.sleep(0.001)
        raise OSError("the user namespace was not created in time")

    def _end_holder(self) -> None:
        if self.holder.poll() is None:
            self.holder.kill()
        self.holder.wait()
        if self.holder.stderr:
            self.holder.stderr.close()

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

"""Token, call and cost accounting per role, for a job or a process."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass
class RoleUsage:
    calls: int = 0
    failed_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass
class UsageMeter:
    """Counts every LLM call by role; thread-safe."""

    by_role: dict[str, RoleUsage] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, role: str, prompt_tokens: int, completion_tokens: int, cost_usd: float, ok: bool = True) -> None:
        with self._lock:
            usage = self.by_role.setdefault(role, RoleUsage())
            usage.calls += 1
            usage.failed_calls += 0 if ok else 1
            usage.prompt_tokens += prompt_tokens
            usage.completion_tokens += completion_tokens
            usage.cost_usd += cost_usd

    def total(self) -> RoleUsage:
        with self._lock:
            total = RoleUsage()
            for u in self.by_role.values():
                total.calls += u.calls
                total.failed_calls += u.failed_calls
                total.prompt_tokens += u.prompt_tokens
                total.completion_tokens += u.completion_tokens
                total.cost_usd += u.cost_usd
            return total

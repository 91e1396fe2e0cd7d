"""Per-dataset online policy: opt-in, off by default, read from a YAML file (`LBI_ONLINE_POLICY_FILE`).

    datasets:
      shop:                          # a dataset name, or "*" for every dataset not named
        accept_episodes: true
        tenants: [checkout-agent]    # who may report (the token's tenant); empty: any token that may write it
        retention_days: 30           # online examples (and their episodes) are deleted after this; 0 keeps them
        redact: [email, card, secret, 'ORD-\\d{6}']   # built-ins or regular expressions; [] turns redaction off
        env: sql                     # for episodes that name no environment
        backward_mode: window        # how episodes are relabelled (as a synthesis job's spec)
        backward_window: 3
        committee: []                # judge models; empty: the service's model
        filter_policy: strict
        batch_episodes: 8            # episodes learned together
        duplicate_threshold: 0.95    # instruction similarity above which the same actions are a near-duplicate

A dataset without a policy (and no "*") accepts no episodes: reports are answered `accepted: false` with
the reason, so an agent's SDK can report unconditionally.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from synth_service.online.redact import BUILTINS, Redactor


class OnlinePolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    accept_episodes: bool = False
    tenants: list[str] = Field(default_factory=list)
    retention_days: float = Field(0.0, ge=0)
    redact: list[str] = Field(default_factory=lambda: list(BUILTINS))
    env: str = ""
    backward_mode: Literal["paper", "window", "batched"] = "window"
    backward_window: int = Field(3, ge=1, le=100)
    committee: list[str] = Field(default_factory=list)
    filter_policy: Literal["strict", "relaxed"] = "strict"
    batch_episodes: int = Field(8, ge=1, le=256)
    duplicate_threshold: float = Field(0.95, gt=0, le=1.0)
    max_steps: int = Field(
        50, ge=1, le=500, description="Longer episodes are refused (labelling grows with the square)."
    )

    @field_validator("redact")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        Redactor(tuple(patterns))
        return patterns

    @property
    def redactor(self) -> Redactor:
        return Redactor(tuple(self.redact))

    def allows_tenant(self, tenant: str) -> bool:
        return not self.tenants or tenant in self.tenants


OFF = OnlinePolicy()


class PolicyBook:
    """Every dataset's policy; a dataset without one gets the "*" entry, else OFF."""

    def __init__(self, policies: dict[str, OnlinePolicy] | None = None):
        self.policies = policies or {}

    def __call__(self, dataset: str) -> OnlinePolicy:
        return self.policies.get(dataset) or self.policies.get("*") or OFF

    @property
    def datasets(self) -> list[str]:
        return sorted(name for name, p in self.policies.items() if name != "*" and p.accept_episodes)

    @classmethod
    def from_file(cls, path: str | Path) -> PolicyBook:
        """Reads the file; a missing file or a bad entry fails at start naming the file and the entry."""
        if not path:
            return cls()
        try:
            raw = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ValueError(f"online policy file {path}: {exc}") from None
        if not isinstance(raw, dict) or not isinstance(raw.get("datasets", {}), dict) or set(raw) - {"datasets"}:
            raise ValueError(f"online policy file {path}: expected a mapping with one key, 'datasets'")
        policies = {}
        for name, entry in (raw.get("datasets") or {}).items():
            try:
                policies[str(name)] = OnlinePolicy.model_validate(entry or {})
            except ValidationError as exc:
                raise ValueError(
                    f"online policy file {path}, dataset {name!r}: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}"
                ) from None
        return cls(policies)

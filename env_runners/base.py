"""The environment plugin interface: a small base class for environments and their sessions.

An environment declares its name, a description, its action space (text an LLM agent reads) and a
pydantic model of its session config; it streams its documentation as resources and opens isolated
sessions. A session turns one action into one observation; a bad action is an error observation,
never an exception. Plugins register under the `lbi.environments` entry point.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from lbi.config import RunnerSettings
from lbi.errors import InvalidArgument
from lbi.records import Resource


class EnvConfig(BaseModel):
    """Base of every environment's session config: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")


@dataclass
class StepResult:
    observation: str
    done: bool = False
    reward: float | None = None
    error: bool = False
    info: dict[str, Any] = field(default_factory=dict)


class Session(ABC):
    """One isolated episode. Methods are called from worker threads, one call at a time per session."""

    @abstractmethod
    def first_observation(self) -> str: ...

    @abstractmethod
    def step(self, action: str) -> StepResult: ...

    def interrupt(self) -> None:
        """Stop a running step (called from another thread when the step timeout passes)."""

    @abstractmethod
    def close(self) -> None: ...


class Environment(ABC):
    """A kind of environment a runner hosts."""

    name: ClassVar[str]
    description: ClassVar[str]
    action_space: ClassVar[str]
    config_model: ClassVar[type[EnvConfig]] = EnvConfig

    def __init__(self, settings: RunnerSettings):
        self.settings = settings

    def notes(self) -> list[str]:
        """Facts about this runner's copy of the environment (e.g. which sandbox it uses)."""
        return []

    def parse_config(self, raw: dict[str, Any] | None) -> EnvConfig:
        """The validated session config; INVALID_ARGUMENT names the offending field."""
        try:
            return self.config_model.model_validate(raw or {})
        except ValidationError as exc:
            first = exc.errors()[0]
            field_path = ".".join(str(p) for p in first["loc"]) or "config"
            raise InvalidArgument(f"config.{field_path}", first["msg"]) from None

    def config_schema(self) -> dict[str, Any]:
        """Config keys with their description, type and default (for ListEnvironments)."""
        schema = self.config_model.model_json_schema()
        return {
            name: {k: v for k, v in prop.items() if k in ("description", "type", "default")}
            for name, prop in schema.get("properties", {}).items()
        }

    def close(self) -> None:
        """Releases what the environment holds for all its sessions (a browser, say)."""

    @abstractmethod
    def resources(self, config: EnvConfig) -> Iterable[Resource]: ...

    @abstractmethod
    def open(self, config: EnvConfig) -> Session: ...

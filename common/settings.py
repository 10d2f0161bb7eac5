"""The one way a process reads its settings: a typed, frozen object, read once at start.

Every settings class of the project (the assistant's side in common/assistant_settings.py, each
service's in services/<name>/settings.py) subclasses ``EnvironmentSettings`` and builds itself
in ``read`` from an ``Environment``: typed reads with defaults for ordinary values, and the secret
rule of common/secrets.py for secrets, which have no default in code (the embedded profile's
dev values live in profiles/embedded.env only). A value that cannot be used stops the process
with a message naming the variable.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TypeVar

from common.secrets import InsecureSetting, is_embedded, required_secret

SettingsType = TypeVar("SettingsType", bound="EnvironmentSettings")


class SettingError(ValueError):
    """A variable is set to something its setting cannot be (a word where a number goes)."""


class Environment:
    """Typed reads of one mapping of environment variables; empty counts as unset."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    @property
    def embedded(self) -> bool:
        """Running the local demo profile (profiles/embedded.env)."""
        return is_embedded(self._environ)

    def optional(self, name: str) -> str | None:
        return (self._environ.get(name) or "").strip() or None

    def text(self, name: str, default: str) -> str:
        return self.optional(name) or default

    def required(self, name: str) -> str:
        value = self.optional(name)
        if value is None:
            raise SettingError(f"{name} is not set")
        return value

    def integer(self, name: str, default: int) -> int:
        return int(self._number(name, default, int))

    def number(self, name: str, default: float) -> float:
        return float(self._number(name, default, float))

    def _number(self, name: str, default: float, kind: type[int] | type[float]) -> float:
        value = self.optional(name)
        if value is None:
            return default
        try:
            return kind(value)
        except ValueError:
            raise SettingError(f"{name} must be a {kind.__name__}, not {value!r}") from None

    def items(self, name: str) -> tuple[str, ...]:
        """A comma-separated list; URLs lose a trailing slash so they compare as origins do."""
        return tuple(
            item.strip().rstrip("/")
            for item in (self.optional(name) or "").split(",")
            if item.strip()
        )

    def secret(self, name: str, *, also: str | None = None) -> str:
        """The secret ``name`` under the secret rule; ``also`` names the variable that holds it
        when ``name`` is unset (the back end's secret is the sandbox's when that stands in)."""
        if also is not None and self.optional(name) is None and self.optional(also) is not None:
            name = also
        try:
            return required_secret(self._environ, name)
        except InsecureSetting as error:
            if also is None or name == also:
                raise
            raise InsecureSetting(f"{error} (or set {also})") from None


class EnvironmentSettings(ABC):
    """Base of every settings class: ``from_environment`` is the one constructor processes use."""

    @classmethod
    def from_environment(
        cls: type[SettingsType], environ: Mapping[str, str] | None = None
    ) -> SettingsType:
        """Read from ``environ``, or from the process's environment when none is given."""
        return cls.read(Environment(os.environ if environ is None else environ))

    @classmethod
    @abstractmethod
    def read(cls: type[SettingsType], env: Environment) -> SettingsType:
        """The settings from the environment's variables."""

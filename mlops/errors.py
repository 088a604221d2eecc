"""Errors the user can act on.

Every error the core raises for bad input is an ``MlopsError`` carrying what went wrong and how
to fix it. The CLI prints both and exits 1 (2 for usage errors); tracebacks only with ``--debug``.
"""

from __future__ import annotations


class MlopsError(Exception):
    """An error with a user-facing message and a fix."""

    exit_code = 1

    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message}\n  fix: {self.fix}" if self.fix else self.message


class ConfigError(MlopsError):
    """Stack configuration is missing or invalid."""


class ManifestError(MlopsError):
    """A use-case manifest is missing or invalid."""


class UsageError(MlopsError):
    """The command was called wrongly."""

    exit_code = 2

"""One console for the CLI: errors to stderr, user strings never parsed as markup."""

from __future__ import annotations

import os
import sys
from contextlib import AbstractContextManager

from rich.console import Console

# Piped output (CI logs, files) gets a wide fixed width instead of 80 columns, so tables and
# paths stay on one line; a terminal (or $COLUMNS) keeps its own width.
_PIPED_WIDTH = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 160
out = Console(highlight=False, width=_PIPED_WIDTH)
err = Console(stderr=True, highlight=False, width=_PIPED_WIDTH)


def error(message: str, fix: str = "") -> None:
    err.print("error: ", style="bold red", end="")
    err.print(message, markup=False)
    if fix:
        err.print("  fix: ", style="yellow", end="")
        err.print(fix, markup=False)


def warn(message: str) -> None:
    err.print("warning: ", style="yellow", end="")
    err.print(message, markup=False)


def success(message: str) -> None:
    out.print("ok: ", style="bold green", end="")
    out.print(message, markup=False)


def info(message: str) -> None:
    out.print(message, markup=False)


def status(message: str) -> AbstractContextManager:
    """A spinner for long work (plain text when not a terminal)."""
    return out.status(message)

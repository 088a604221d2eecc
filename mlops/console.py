"""One console for the CLI: errors to stderr, user strings never parsed as markup."""

from __future__ import annotations

from contextlib import AbstractContextManager

from rich.console import Console

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


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

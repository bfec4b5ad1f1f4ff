"""What the hub's commands share at the terminal: an error line and its exit, a safe URL.

Imports only typer at the top (SQLAlchemy inside `shown_url`), so every
command module can use it and `lienthong --help` stays fast.
"""

from __future__ import annotations

import typer

__all__ = ["fail", "shown_url"]


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print `message` to stderr as an error and give the exit to raise."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def shown_url(url: str) -> str:
    """The database URL with its password hidden, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)

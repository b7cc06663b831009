"""``monitor web-password``: a password hash for ``MONITOR_WEB_USERS``.

Owns: asking for a password twice without echoing it and printing ``name:hash`` (PBKDF2 with a
random salt, ``monitor.access``). The password itself is never printed or stored.
"""

from __future__ import annotations

import os

import typer

from monitor.access import USERS_VAR, hash_password
from monitor.cli.app import app


@app.command("web-password")
def web_password(
    name: str = typer.Argument(..., help="the user name to log in with"),
    password: str = typer.Option(
        ...,
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        help="asked for when not given (better: it stays out of the shell history)",
    ),
) -> None:
    """Print NAME:HASH for the web pages' logins; join several with commas in
    $MONITOR_WEB_USERS."""
    if not name or ":" in name or "," in name:
        raise typer.BadParameter("a user name without ':' or ','", param_hint="NAME")
    if len(password) < 8:
        raise typer.BadParameter("at least 8 characters", param_hint="--password")
    typer.echo(f"{name}:{hash_password(password, os.urandom(16))}")
    typer.echo(f"# add it to ${USERS_VAR} (name:hash pairs separated by commas)", err=True)

"""Admin authentication: a password hash, a session cookie and CSRF tokens.

The password is never stored in clear: ``set-admin-password`` writes a salted scrypt
hash (Werkzeug) into the database, or the host sets ``DMC_ADMIN_PASSWORD_HASH`` (or,
for a quick start, ``DMC_ADMIN_PASSWORD``, hashed in memory). Logged-in admins hold a
signed session cookie (HttpOnly, SameSite=Lax, Secure behind HTTPS). Every state change
in the admin area is a POST that must carry the session's CSRF token, either as the
``csrf_token`` form field or the ``X-CSRF-Token`` header.
"""

from __future__ import annotations

import functools
import hmac
import secrets
import sys

import click
from flask import current_app, redirect, request, session, url_for
from flask.cli import with_appcontext
from werkzeug.exceptions import BadRequest
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.db import db, init_db, upsert, write_session
from webapp.models import Setting

PASSWORD_SETTING = "admin_password_hash"
MIN_PASSWORD_CHARS = 10
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def _configured_hash() -> str | None:
    config = current_app.config
    if config.get("ADMIN_PASSWORD_HASH"):
        return config["ADMIN_PASSWORD_HASH"]
    stored = db.session.get(Setting, PASSWORD_SETTING)
    if stored is not None:
        return stored.value
    if config.get("ADMIN_PASSWORD"):
        cached = current_app.extensions.get("dmc_admin_hash")
        if cached is None:
            cached = generate_password_hash(config["ADMIN_PASSWORD"])
            current_app.extensions["dmc_admin_hash"] = cached
        return cached
    return None


def admin_password_configured() -> bool:
    return _configured_hash() is not None


def check_admin_password(candidate: str) -> bool:
    stored = _configured_hash()
    return bool(stored and candidate and check_password_hash(stored, candidate))


def set_admin_password(password: str) -> None:
    """Store the hash of a new admin password (replacing any earlier one)."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise ValueError(
            f"the admin password must have at least {MIN_PASSWORD_CHARS} characters, "
            f"got {len(password)}"
        )
    with write_session() as s:
        upsert(
            s,
            Setting,
            [{"key": PASSWORD_SETTING, "value": generate_password_hash(password)}],
            ["key"],
        )


def csrf_token() -> str:
    """The session's CSRF token (created on first use), for forms and the header."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def check_csrf() -> None:
    """Refuse a state-changing request whose CSRF token does not match the session's.

    :raise 400: token missing or wrong.
    """
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
    expected = session.get("csrf") or ""
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise BadRequest("CSRF token missing or invalid: reload the page and try again.")


def is_admin() -> bool:
    return session.get("admin") is True


def admin_required(view):
    """Redirect to the login page unless an admin is logged in."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not is_admin():
            return redirect(url_for("admin.login", next=request.path))
        return view(*args, **kwargs)

    return wrapped


@click.command("set-admin-password")
@with_appcontext
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (for scripts)."
)
def set_admin_password_command(password_stdin: bool) -> None:
    """Set the admin password (its hash is stored in the database)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("New admin password", hide_input=True, confirmation_prompt=True)
    init_db()
    try:
        set_admin_password(password)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("admin password set")

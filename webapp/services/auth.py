"""Admin authentication: a password hash, a session cookie, login throttling and CSRF tokens.

The password is never stored in clear: ``set-admin-password``
(:mod:`webapp.commands.database`) writes a salted scrypt
hash (Werkzeug) into the database, or the host sets ``DMC_ADMIN_PASSWORD_HASH`` (or,
for a quick start, ``DMC_ADMIN_PASSWORD``, hashed in memory). Both plain-text ways must
pass :func:`password_problem`; a hash cannot be checked.

Logged-in admins hold a signed session cookie (HttpOnly, SameSite=Lax, Secure behind
HTTPS) that carries a stamp: the session version stored in the database plus a
fingerprint of the password. Logging out or changing the password bumps the version,
so every copy of every earlier cookie stops working at once, in every worker process;
a stamp also expires after ``ADMIN_SESSION_MAX_AGE_S``.

Guessing is throttled without ever sleeping in a worker thread: each attempt is
recorded in the database before the password is checked (and removed when it was
right), and a client with ``ADMIN_LOGIN_FAILURES`` recent failures, or everyone after
``ADMIN_LOGIN_FAILURES_GLOBAL`` failures from all clients, gets ``429`` with
``Retry-After`` until the window has passed. Every state change in the admin area is
a POST that must carry the session's CSRF token, either as the ``csrf_token`` form
field or the ``X-CSRF-Token`` header.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import math
import secrets
import time
from datetime import timedelta

from flask import current_app, redirect, request, session, url_for
from sqlalchemy import delete, func, select, text
from werkzeug.exceptions import BadRequest
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.services.passwords import password_problem
from webapp.storage.db import db, upsert, write_session
from webapp.storage.models import LoginFailure, Setting, utcnow

PASSWORD_SETTING = "admin_password_hash"
SESSION_VERSION_SETTING = "admin_session_version"
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
    """Store the hash of a new admin password (replacing any earlier one).

    Every existing admin session ends with it (the session version is bumped).

    Raises:
        ValueError: the password fails :func:`password_problem`.
    """
    problem = password_problem(password)
    if problem:
        raise ValueError(problem)
    hashed = generate_password_hash(password)
    with write_session() as s:
        upsert(s, Setting, [{"key": PASSWORD_SETTING, "value": hashed}], ["key"])
        _bump_session_version(s)


# ---------------------------------------------------------------------- sessions


def _session_version() -> str:
    stored = db.session.get(Setting, SESSION_VERSION_SETTING)
    return stored.value if stored is not None else "0"


def _bump_session_version(s) -> None:
    stored = s.get(Setting, SESSION_VERSION_SETTING)
    version = str(int(stored.value) + 1) if stored is not None else "1"
    upsert(s, Setting, [{"key": SESSION_VERSION_SETTING, "value": version}], ["key"])


def _password_fingerprint() -> str:
    """Changes whenever the password does, the same in every worker process."""
    config = current_app.config
    if config.get("ADMIN_PASSWORD_HASH") or db.session.get(Setting, PASSWORD_SETTING):
        source = _configured_hash() or ""
    else:  # the in-memory hash of DMC_ADMIN_PASSWORD has a per-process salt
        source = "plain:" + (config.get("ADMIN_PASSWORD") or "")
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, source.encode(), hashlib.sha256).hexdigest()[:24]


def _session_stamp() -> str:
    return f"{_session_version()}:{_password_fingerprint()}"


def start_admin_session() -> None:
    """Mark the (cleared) session as an admin's, stamped with the current version."""
    session.clear()
    session["admin"] = _session_stamp()
    session["admin_at"] = int(time.time())
    csrf_token()


def end_admin_sessions() -> None:
    """Log out: this cookie and every copy of any admin cookie stop working."""
    if is_admin():
        with write_session() as s:
            _bump_session_version(s)
    session.clear()


# ---------------------------------------------------------------------- login throttling


def _client() -> str:
    """The client's address, normalised; anything else (a forged header) is "unknown"."""
    try:
        return str(ipaddress.ip_address(request.remote_addr or ""))
    except ValueError:
        return "unknown"


def _retry_after(times: list, limit: int, window_s: float, now) -> int:
    """Seconds until fewer than ``limit`` of ``times`` (newest first) are in the window."""
    if len(times) < limit:
        return 0
    expires = times[limit - 1] + timedelta(seconds=window_s)
    return max(1, math.ceil((expires - now).total_seconds()))


def _login_wait_s(s, client: str) -> int:
    config = current_app.config
    window_s = float(config["ADMIN_LOGIN_WINDOW_S"])
    now = utcnow()
    since = now - timedelta(seconds=window_s)
    waits = []
    for limit, where in (
        (int(config["ADMIN_LOGIN_FAILURES"]), LoginFailure.client == client),
        (int(config["ADMIN_LOGIN_FAILURES_GLOBAL"]), True),
    ):
        times = list(
            s.scalars(
                select(LoginFailure.at)
                .where(where, LoginFailure.at > since)
                .order_by(LoginFailure.at.desc())
                .limit(limit)
            )
        )
        waits.append(_retry_after(times, limit, window_s, now))
    return max(waits)


def login_attempt(candidate: str) -> tuple[bool, int]:
    """Check an admin password under the throttle: ``(accepted, retry_after_s)``.

    A throttled client gets ``(False, seconds)`` without its password being looked at.
    Otherwise the attempt is recorded first (in one write transaction with the check
    of the counts, so parallel guessers cannot slip past), the password is checked,
    and a right one removes that client's recorded attempts.
    """
    client = _client()
    wait = _login_wait_s(db.session, client)  # read-only: a locked-out flood never writes
    db.session.rollback()
    if wait:
        return False, wait
    window_s = float(current_app.config["ADMIN_LOGIN_WINDOW_S"])
    with write_session() as s:
        if s.get_bind().dialect.name == "postgresql":  # SQLite's BEGIN IMMEDIATE serialises
            s.execute(text("SELECT pg_advisory_xact_lock(5150002)"))
        wait = _login_wait_s(s, client)
        if wait:
            return False, wait
        s.execute(
            delete(LoginFailure).where(LoginFailure.at < utcnow() - timedelta(seconds=window_s))
        )
        s.add(LoginFailure(client=client, at=utcnow()))
    if not check_admin_password(candidate):
        return False, 0
    with write_session() as s:
        s.execute(delete(LoginFailure).where(LoginFailure.client == client))
    return True, 0


def recent_login_failures() -> int:
    """Failed or pending admin logins within the window, from all clients (for tests, status)."""
    since = utcnow() - timedelta(seconds=float(current_app.config["ADMIN_LOGIN_WINDOW_S"]))
    return db.session.scalar(
        select(func.count()).select_from(LoginFailure).where(LoginFailure.at > since)
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
    """A logged-in admin whose stamp is current and not older than the session limit."""
    stamp = session.get("admin")
    if not isinstance(stamp, str):
        return False
    started = session.get("admin_at")
    max_age = float(current_app.config["ADMIN_SESSION_MAX_AGE_S"])
    if not isinstance(started, int) or not 0 <= time.time() - started <= max_age:
        return False
    return hmac.compare_digest(stamp, _session_stamp())


def admin_required(view):
    """Redirect to the login page unless an admin is logged in."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not is_admin():
            return redirect(url_for("admin.login", next=request.path))
        return view(*args, **kwargs)

    return wrapped

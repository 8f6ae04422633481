"""Where the web app keeps its state, and the settings it reads from the environment.

Everything that differs between a laptop and a hosted panel comes from the environment
or the instance folder, never from code: the database URL, the secret key, the admin
password, the manifest and the test config. Where the database is by default is part
of the ratings contract (:mod:`dmc.contracts.ratings`): the analysis finds it the same way.
"""

from __future__ import annotations

import io
import json
import logging
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from dmc.contracts.ratings import default_database_url, default_instance_path

__all__ = ["default_database_url", "default_instance_path"]

log = logging.getLogger(__name__)

#: How long a writer waits for SQLite's write slot before the request answers 503 (ms).
BUSY_TIMEOUT_MS = 15000

#: Largest request body accepted (bytes). A trial submission is well under 4 KiB.
MAX_CONTENT_LENGTH = 64 * 1024
SECRET_KEY_FILE = "secret_key"


def defaults(instance_path: Path) -> dict:
    """Settings before the instance ``config.py`` and the test mapping override them.

    ``MANIFEST_PATH`` and ``TEST_CONFIG`` left ``None`` mean: ``./renders/testset``
    (:func:`dmc.contracts.manifest.default_render_dir`) and ``test.yaml`` beside the manifest
    if there is one, else the built-in defaults.
    """
    return {
        "SQLALCHEMY_DATABASE_URI": os.environ.get("DMC_DATABASE_URL")
        or f"sqlite:///{instance_path / 'dmc-listening.sqlite'}",
        "MANIFEST_PATH": os.environ.get("DMC_MANIFEST") or None,
        "TEST_CONFIG": os.environ.get("DMC_TEST_CONFIG") or None,
        "MAX_CONTENT_LENGTH": MAX_CONTENT_LENGTH,
        # Create tables and the export view at start-up; False in the worker processes of
        # `serve`, whose parent has done it (webapp.commands.serve).
        "INIT_DB": True,
        # Trust one proxy's X-Forwarded-* headers (serve --behind-proxy, $DMC_PROXY_FIX).
        "PROXY_FIX": os.environ.get("DMC_PROXY_FIX", "").lower() in ("1", "true", "yes"),
        # Serve the instance's served test, a snapshot (webapp.services.snapshots); set by
        # serve, with the address it listens on. Unset: the render folder, live.
        "SERVE_SNAPSHOT": False,
        "SERVE_BASE_URL": None,
        "SERVE_BASE_URL_PROBLEM": None,
        # In WAL mode "NORMAL" writes each commit to the WAL before the answer goes out,
        # so a killed server (kill -9) loses nothing; "FULL" also fsyncs every commit,
        # which survives a power cut or kernel crash but costs ~10 ms per rating on
        # ordinary disks. See docs/webapp.md.
        "SQLITE_SYNCHRONOUS": os.environ.get("DMC_SQLITE_SYNCHRONOUS", "NORMAL"),
        "SQLITE_BUSY_TIMEOUT_MS": BUSY_TIMEOUT_MS,
        "ADMIN_PASSWORD_HASH": os.environ.get("DMC_ADMIN_PASSWORD_HASH") or None,
        "ADMIN_PASSWORD": os.environ.get("DMC_ADMIN_PASSWORD") or None,
        # Login throttling (webapp.services.auth): failures per client and from everyone within
        # the window before 429 + Retry-After; admin sessions end after the maximum age.
        "ADMIN_LOGIN_FAILURES": 5,
        "ADMIN_LOGIN_FAILURES_GLOBAL": 50,
        "ADMIN_LOGIN_WINDOW_S": 900,
        "ADMIN_SESSION_MAX_AGE_S": 12 * 3600,
        # New raters per client address: "N/SECONDS" (a burst of N, refilled over the
        # seconds), or "0" for no limit (webapp.services.throttle).
        "RATER_CREATION_LIMIT": os.environ.get("DMC_RATER_RATE_LIMIT", "30/60"),
        # The address raters and admins use ("https://listen.example.org"): links are
        # built from it. Unset: from the proxy's X-Forwarded-Host behind --behind-proxy,
        # else the link's path alone (a client's Host header is never echoed).
        "PUBLIC_URL": os.environ.get("DMC_PUBLIC_URL") or None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("DMC_COOKIE_SECURE", "") in ("1", "true", "yes"),
        "SESSION_COOKIE_NAME": "dmc_admin",
        "AUDIO_MAX_AGE_S": 3600,
    }


def check_settings(config) -> None:
    """Refuse settings that would make the app unsafe, with the setting to fix.

    Raises:
        ValueError: a weak ``DMC_ADMIN_PASSWORD`` (the same rule as
            ``set-admin-password``; a hash cannot be checked), a ``PUBLIC_URL`` that is
            not a plain http(s) address, or a malformed ``RATER_CREATION_LIMIT``.
    """
    from webapp.services.passwords import password_problem
    from webapp.services.throttle import parse_limit

    if config.get("ADMIN_PASSWORD"):
        problem = password_problem(config["ADMIN_PASSWORD"])
        if problem:
            raise ValueError(f"DMC_ADMIN_PASSWORD: {problem}")
    public = config.get("PUBLIC_URL")
    if public:
        parts = urlsplit(public)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
            raise ValueError(
                f"DMC_PUBLIC_URL must be an http(s) address like https://listen.example.org, "
                f"got {public!r}"
            )
    try:
        parse_limit(config.get("RATER_CREATION_LIMIT", "0"))
    except ValueError as exc:
        raise ValueError(f"DMC_RATER_RATE_LIMIT: {exc}") from None


class BodyLimit:
    """WSGI middleware: ``413`` for a body over the limit, before the app runs.

    A body with a ``Content-Length`` is judged by it alone. A chunked body (no length,
    ``Transfer-Encoding: chunked``; gunicorn and Werkzeug pass it on as it arrives) is
    read here up to one byte over the limit: over it is a 413, within it the app gets
    the bytes with their length. Flask would refuse an oversized stream too, but only in
    routes that read it, and ``get_json(silent=True)`` turns that into "not valid JSON";
    this answers every path the same and closes the connection, so nothing reads the rest.
    """

    def __init__(self, app, limit: int) -> None:
        self.app, self.limit = app, int(limit)

    def _read_chunked(self, environ) -> bytes | None:
        """The whole chunked body, or ``None`` as soon as it is over the limit."""
        stream, parts, size = environ["wsgi.input"], [], 0
        while size <= self.limit:
            part = stream.read(self.limit + 1 - size)
            if not part:
                return b"".join(parts)
            parts.append(part)
            size += len(part)
        return None

    def __call__(self, environ, start_response):
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = self.limit + 1
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if chunked and not environ.get("CONTENT_LENGTH"):
            body = self._read_chunked(environ)
            if body is None:
                length = self.limit + 1
            else:
                environ["wsgi.input"] = io.BytesIO(body)
                environ["CONTENT_LENGTH"] = str(len(body))
                del environ["HTTP_TRANSFER_ENCODING"]
        if length <= self.limit:
            return self.app(environ, start_response)
        error = f"request body too large (limit {self.limit} bytes)"
        body = json.dumps({"error": error}).encode()
        start_response(
            "413 Request Entity Too Large",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("Connection", "close"),
            ],
        )
        return [body]


def owner_only(path: Path) -> Path:
    """Create ``path`` empty with mode 0600 if it does not exist (SQLite then keeps the mode
    for its ``-wal`` and ``-shm`` files), so other users cannot read rater tokens."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = path.stat().st_mode & 0o077
        if mode:
            log.warning("%s is readable by other users (mode %o); chmod 600 it", path, mode)
        return path
    os.close(fd)
    return path


#: The shortest secret key accepted: it signs admin sessions and keys the headphone
#: check's answers and the audio tags, so it must not be guessable.
MIN_SECRET_KEY_CHARS = 32
_MAKE_KEY = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'


def _checked_key(key: str, source: str, fix: str) -> str:
    if len(key) < MIN_SECRET_KEY_CHARS:
        raise ValueError(
            f"{source} holds a secret key of {len(key)} character{'s' if len(key) != 1 else ''}; "
            "use at least "
            f"{MIN_SECRET_KEY_CHARS} ({fix})"
        )
    return key


def resolve_secret_key(instance_path: Path, configured: str | None) -> tuple[str, str]:
    """The secret key and where it came from.

    Order: ``$DMC_SECRET_KEY``; ``SECRET_KEY`` from the instance config; the file
    ``<instance>/secret_key``; otherwise a new random key written to that file
    (mode 0600) so that admin sessions survive restarts. The caller reports the source.

    Raises:
        ValueError: a key shorter than :data:`MIN_SECRET_KEY_CHARS`, wherever it comes
            from; one line naming the source and how to make a good key.
    """
    if os.environ.get("DMC_SECRET_KEY"):
        key = _checked_key(
            os.environ["DMC_SECRET_KEY"], "DMC_SECRET_KEY", f"make one with {_MAKE_KEY}"
        )
        return key, "environment (DMC_SECRET_KEY)"
    if configured:
        key = _checked_key(
            str(configured), "SECRET_KEY in the instance config", f"make one with {_MAKE_KEY}"
        )
        return key, "instance config"
    path = instance_path / SECRET_KEY_FILE
    if path.is_file():
        key = path.read_text().strip()
        return _checked_key(key, str(path), "or delete the file to have one generated"), str(path)
    key = secrets.token_urlsafe(48)
    instance_path.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{SECRET_KEY_FILE}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    try:
        os.link(
            tmp, path
        )  # atomic create-if-absent: two processes starting at once agree on one key
    except FileExistsError:
        os.unlink(tmp)
        return path.read_text().strip(), str(path)
    os.unlink(tmp)
    return key, f"generated and stored in {path}"

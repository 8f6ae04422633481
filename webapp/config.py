"""Where the web app keeps its state, and the settings it reads from the environment.

Everything that differs between a laptop and a hosted panel comes from the environment
or the instance folder, never from code: the database URL, the secret key, the admin
password, the manifest and the test config. Where the database is by default is part
of the ratings contract (:mod:`dmc.contracts.ratings`): the analysis finds it the same way.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from dmc.contracts.ratings import default_database_url, default_instance_path

__all__ = ["default_database_url", "default_instance_path"]

log = logging.getLogger(__name__)

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
        # In WAL mode "NORMAL" writes each commit to the WAL before the answer goes out,
        # so a killed server (kill -9) loses nothing; "FULL" also fsyncs every commit,
        # which survives a power cut or kernel crash but costs ~10 ms per rating on
        # ordinary disks. See docs/webapp.md.
        "SQLITE_SYNCHRONOUS": os.environ.get("DMC_SQLITE_SYNCHRONOUS", "NORMAL"),
        "SQLITE_BUSY_TIMEOUT_MS": 15000,
        "ADMIN_PASSWORD_HASH": os.environ.get("DMC_ADMIN_PASSWORD_HASH") or None,
        "ADMIN_PASSWORD": os.environ.get("DMC_ADMIN_PASSWORD") or None,
        "ADMIN_LOGIN_DELAY_S": 0.5,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("DMC_COOKIE_SECURE", "") in ("1", "true", "yes"),
        "SESSION_COOKIE_NAME": "dmc_admin",
        "AUDIO_MAX_AGE_S": 3600,
    }


def resolve_secret_key(instance_path: Path, configured: str | None) -> tuple[str, str]:
    """The secret key and where it came from.

    Order: ``$DMC_SECRET_KEY``; ``SECRET_KEY`` from the instance config; the file
    ``<instance>/secret_key``; otherwise a new random key written to that file
    (mode 0600) so that admin sessions survive restarts. The caller reports the source.
    """
    if os.environ.get("DMC_SECRET_KEY"):
        return os.environ["DMC_SECRET_KEY"], "environment (DMC_SECRET_KEY)"
    if configured:
        return configured, "instance config"
    path = instance_path / SECRET_KEY_FILE
    if path.is_file():
        key = path.read_text().strip()
        if len(key) >= 32:
            return key, str(path)
        raise ValueError(
            f"{path} holds a secret key of {len(key)} characters; "
            "use at least 32 (or delete the file)"
        )
    key = secrets.token_urlsafe(48)
    instance_path.mkdir(parents=True, exist_ok=True)
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

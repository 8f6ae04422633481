"""Opaque file names, per-passage seeds and content hashes of a render.

A listener's browser sees audio URLs, so a file name must not give away the method
(no ``console.mp3``, no counter that sorts methods in a fixed order). Names are an HMAC
of ``task/passage/method`` under a random key kept in the manifest: stable across
re-renders (URLs and browser caches stay valid, ratings stay joinable), but nobody
holding only the URLs can tell which method a file is, or recompute the mapping.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from pathlib import Path
from typing import Any

#: Hex digits of an opaque name: 80 bits, so names never collide within a test set.
NAME_DIGITS = 20
AUDIO_FOLDER = "audio"
OPAQUE_NAME = re.compile(rf"^{AUDIO_FOLDER}/[0-9a-f]{{{NAME_DIGITS}}}\.mp3$")


def new_name_key() -> str:
    """A fresh random key (hex) for :func:`opaque_name`."""
    return secrets.token_hex(32)


def opaque_name(name_key: str, task: str, passage_id: str, method: str) -> str:
    """``audio/<hex>.mp3``: a keyed hash of the condition, relative to the manifest's folder."""
    message = f"{task}/{passage_id}/{method}".encode()
    digest = hmac.new(bytes.fromhex(name_key), message, hashlib.sha256).hexdigest()
    return f"{AUDIO_FOLDER}/{digest[:NAME_DIGITS]}.mp3"


def passage_seed(base_seed: int, task: str, passage_id: str) -> int:
    """A seed per passage (31 bits): the same passage gets the same random mix in every run,
    and adding or removing other passages changes nothing."""
    digest = hashlib.sha256(f"{base_seed}/{task}/{passage_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def content_key(*parts: Any) -> str:
    """Hex SHA-256 of JSON-able ``parts`` and NumPy arrays (hashed by dtype, shape and bytes)."""
    digest = hashlib.sha256()
    for part in parts:
        if hasattr(part, "tobytes") and hasattr(part, "dtype"):
            digest.update(f"array:{part.dtype}:{part.shape}:".encode())
            digest.update(part.tobytes())
        else:
            digest.update(json.dumps(part, sort_keys=True, default=str).encode())
        digest.update(b"\x00")
    return digest.hexdigest()


def display_path(path: Path) -> str:
    """A checkpoint path for the manifest: relative to the package's parent when inside it."""
    package_parent = Path(__file__).resolve().parents[2]
    path = path.resolve()
    try:
        return path.relative_to(package_parent).as_posix()
    except ValueError:
        return str(path)

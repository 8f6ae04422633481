"""Equal-length audio files: an ID3v2 tag of a computed size in front of each MP3.

Methods compress differently (a mono mix is about 60 % of a stereo one), so file sizes
alone would tell a listener's browser which letter is which. Every condition of a
trial, and its open reference, is therefore served with the same byte length: the
MP3's own frames unchanged, preceded by an ID3v2.4 tag that holds one private frame
(``PRIV``, owner ``dmc``, a keyed hash of the URL, so the open reference's bytes differ
from the hidden reference's) and zero padding up to the trial's length. Decoders skip
ID3v2 tags before the first frame, so the decoded audio is bit for bit the same
(tested with libsndfile and ffmpeg). An ID3v2 tag already in the file is replaced.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from pathlib import Path

#: Header of an ID3v2 tag and of one frame (bytes).
ID3_HEADER, FRAME_HEADER = 10, 10
OWNER = b"dmc\0"
PAYLOAD_BYTES = 32
#: The smallest tag this module writes: header, PRIV frame, owner and payload.
MIN_TAG = ID3_HEADER + FRAME_HEADER + len(OWNER) + PAYLOAD_BYTES
#: Padded lengths are rounded up to this, so a length says little even across trials.
ROUND_BYTES = 4096


def _syncsafe(n: int) -> bytes:
    if not 0 <= n < 1 << 28:
        raise ValueError(f"an ID3v2 size must be below 2**28, got {n}")
    return bytes(((n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F))


def existing_tag_bytes(head: bytes) -> int:
    """Length of an ID3v2 tag at the start of a file (0 when there is none)."""
    if len(head) < ID3_HEADER or head[:3] != b"ID3" or any(b & 0x80 for b in head[6:10]):
        return 0
    size = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]
    footer = ID3_HEADER if head[5] & 0x10 else 0
    return ID3_HEADER + size + footer


def id3_tag(total_bytes: int, payload: bytes) -> bytes:
    """An ID3v2.4 tag of exactly ``total_bytes``: one PRIV frame, then zero padding."""
    payload = payload[:PAYLOAD_BYTES].ljust(PAYLOAD_BYTES, b"\0")
    if total_bytes < MIN_TAG:
        raise ValueError(f"an ID3v2 tag with a PRIV frame needs {MIN_TAG} bytes, got {total_bytes}")
    body = OWNER + payload
    frame = b"PRIV" + _syncsafe(len(body)) + b"\0\0" + body
    padding = total_bytes - ID3_HEADER - len(frame)
    return b"ID3\x04\x00\x00" + _syncsafe(total_bytes - ID3_HEADER) + frame + b"\0" * padding


def audio_bytes(path: Path) -> int:
    """The file's size without any ID3v2 tag at its start."""
    with open(path, "rb") as handle:
        head = handle.read(ID3_HEADER)
    return os.path.getsize(path) - existing_tag_bytes(head)


def padded_length(paths: Iterable[Path]) -> int:
    """The common length of files served together: room for the tag, rounded up."""
    largest = max(audio_bytes(p) for p in paths)
    return math.ceil((largest + MIN_TAG) / ROUND_BYTES) * ROUND_BYTES


def padded_audio(path: Path, length: int, payload: bytes) -> bytes:
    """The file's audio behind a tag that makes it exactly ``length`` bytes long.

    A file that has grown since ``length`` was worked out (re-rendered in place) gets the
    next length with room for the tag rather than an error.
    """
    data = Path(path).read_bytes()
    audio = data[existing_tag_bytes(data[:ID3_HEADER]) :]
    if path.suffix.lower() != ".mp3":  # other containers are served as they are
        return data
    if length - len(audio) < MIN_TAG:
        length = math.ceil((len(audio) + MIN_TAG) / ROUND_BYTES) * ROUND_BYTES
    return id3_tag(length - len(audio), payload) + audio

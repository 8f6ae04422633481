"""Served MP3s that look alike from outside: one length, the same first and last bytes.

Methods compress differently (a mono mix takes about 60 % of the bytes of a stereo one),
and an encoder writes what it knows about the audio into the file: LAME's first frame
(the Xing/Info frame) states the stream's byte count, a seek table of where each percent
of the audio starts, the "music length" and a checksum of the audio. Read with a
``Range: bytes=0-...`` request, any of these would tell a rater's browser which letter is
which, and so would a tag whose size depends on the file. Every MP3 of a trial (its
conditions and its open reference) is therefore served as

1. an ID3v2.4 tag of exactly :data:`EDGE_BYTES`: one private frame (``PRIV``, owner
   ``dmc``) holding a keyed hash of the URL, then zeros. The same size in every file, so
   the first bytes are the same; the hash differs per URL, so the open reference's
   bytes are not the hidden reference's;
2. the encoder's Xing/Info frame with every field that describes this particular audio
   rewritten to a value all conditions of the trial share (:func:`neutral_info_frame`):
   the byte count and LAME's music length become the served stream's length, the seek
   table a linear one, the peak, replay-gain and MP3-gain fields and the audio checksum
   zero, the frame header's mode extension (LAME copies whether the first audio frame
   used mid/side stereo) cleared, and the tag's own CRC is recomputed. What decoders
   need stays as encoded: the frame count and the encoder delay and padding (gapless
   playback; equal for equally long conditions), and the encoder's name and settings
   (one for a whole render);
3. the MP3 frames as rendered;
4. zeros up to the trial's common length, then an empty ID3v1 tag (:data:`ID3V1_TAG`),
   at least :data:`EDGE_BYTES` together, so the last 4 KiB are the same in every file.
   The ID3v1 tag tells decoders where the stream ends (ffmpeg reports trailing zeros
   alone as invalid data, though it decodes the same samples).

Decoders skip the tag and the Info frame and stop at the frame count, so the decoded
samples and the gapless trimming are those of the file on disk (tested with libsndfile
and ffmpeg; Chromium decodes every condition to the passage's length). The byte count
must cover the trailing zeros: ffmpeg and Chromium ignore the frame count, and so trim
no padding (551 samples more here), when a file is much longer than its Info frame says.

What this cannot hide: the MP3 frames themselves. Each frame header states its bit rate,
so someone who walks the frames (or searches a file for where its zeros begin) finds how
many bytes the audio takes, and the hidden reference's frames are the open reference's.
That is analysing the stream, like decoding and comparing the audio (docs/webapp.md).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from pathlib import Path

#: Header of an ID3v2 tag (bytes).
ID3_HEADER = 10
OWNER = b"dmc\0"
PAYLOAD_BYTES = 32
#: Size of the leading tag and the least run of trailing zeros: an attacker reading the
#: first or the last 4 KiB of a stimulus sees only these.
EDGE_BYTES = 4096
#: Served lengths are rounded up to this, so a length says little even across trials.
ROUND_BYTES = 4096
#: The last 128 bytes of every served MP3: an ID3v1 tag with no text and no genre (255).
ID3V1_TAG = b"TAG" + bytes(124) + b"\xff"

# MPEG audio Layer III: bit rates (kbit/s) by index for MPEG-1 and for MPEG-2/2.5, and
# sample rates by version (3 = MPEG-1, 2 = MPEG-2, 0 = MPEG-2.5) and index.
_KBPS = {
    True: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    False: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
#: Xing/Info flags: frame count, byte count, seek table, quality; their field sizes.
_XING_FIELDS = ((1, "frames", 4), (2, "bytes", 4), (4, "toc", 100), (8, "quality", 4))
#: Encoder strings that mark a LAME-format extension (as ffmpeg and mpg123 read it).
_LAME_NAMES = (b"LAME", b"Lavf", b"Lavc")
#: LAME extension layout (offsets from its start): fields describing the audio.
_LAME_PEAK, _LAME_GAINS, _LAME_MP3GAIN = (11, 15), (15, 19), 25
_LAME_MUSIC_LENGTH, _LAME_MUSIC_CRC, _LAME_TAG_CRC, LAME_BYTES = 28, 32, 34, 36
#: The linear seek table: entry i points at i % of the byte count (in 1/256ths).
LINEAR_TOC = bytes(i * 256 // 100 for i in range(100))


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


def id3_tag(payload: bytes, total_bytes: int = EDGE_BYTES) -> bytes:
    """An ID3v2.4 tag of exactly ``total_bytes``: one PRIV frame, then zero padding."""
    payload = payload[:PAYLOAD_BYTES].ljust(PAYLOAD_BYTES, b"\0")
    body = OWNER + payload
    frame = b"PRIV" + _syncsafe(len(body)) + b"\0\0" + body
    padding = total_bytes - ID3_HEADER - len(frame)
    if padding < 0:
        raise ValueError(f"an ID3v2 tag with a PRIV frame needs {total_bytes - padding} bytes")
    return b"ID3\x04\x00\x00" + _syncsafe(total_bytes - ID3_HEADER) + frame + b"\0" * padding


def crc16(data: bytes, crc: int = 0) -> int:
    """CRC-16 with the reflected polynomial 0xA001 (the LAME tag's checksum)."""
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def layer3_frame(header: bytes) -> tuple[int, int] | None:
    """``(frame length, offset of the Xing/Info tag)`` of an MPEG Layer III frame header.

    ``None`` when the four bytes are not a valid Layer III header.
    """
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return None
    version, layer = (header[1] >> 3) & 3, (header[1] >> 1) & 3
    bitrate, rate = header[2] >> 4, (header[2] >> 2) & 3
    if version == 1 or layer != 1 or bitrate in (0, 15) or rate == 3:
        return None
    mpeg1 = version == 3
    kbps, sample_rate = _KBPS[mpeg1][bitrate], _RATES[version][rate]
    length = (144000 if mpeg1 else 72000) * kbps // sample_rate + ((header[2] >> 1) & 1)
    mono = header[3] >> 6 == 3
    side_info = (17 if mono else 32) if mpeg1 else (9 if mono else 17)
    crc = 0 if header[1] & 1 else 2
    return length, 4 + crc + side_info


def info_fields(frame: bytes) -> dict[str, object] | None:
    """The Xing/Info fields of a first frame and where its LAME extension starts.

    Returns ``None`` when ``frame`` does not begin with a Layer III frame holding a
    Xing or Info tag; else ``{"tag", "flags", "frames", "bytes", "toc", "quality",
    "offsets", "lame"}`` (``offsets`` of each present field, ``lame`` the offset of a
    LAME-format extension or ``None``).
    """
    found = layer3_frame(frame[:4])
    if found is None:
        return None
    length, at = found
    if len(frame) < min(length, at + 8) or frame[at : at + 4] not in (b"Xing", b"Info"):
        return None
    fields: dict[str, object] = {"tag": frame[at : at + 4], "length": length}
    flags = int.from_bytes(frame[at + 4 : at + 8], "big")
    fields["flags"] = flags
    offsets, position = {}, at + 8
    for bit, name, size in _XING_FIELDS:
        if flags & bit:
            offsets[name] = position
            fields[name] = frame[position : position + size]
            position += size
    fields["offsets"] = offsets
    lame = position if frame[position : position + 4] in _LAME_NAMES else None
    fields["lame"] = lame if lame is not None and lame + LAME_BYTES <= length else None
    return fields


def neutral_info_frame(stream: bytes, stream_bytes: int) -> bytes:
    """``stream`` with its Xing/Info frame rewritten to describe no audio in particular.

    ``stream_bytes`` is the length the stream is served with (Info frame, frames and the
    trailing zeros); it becomes the byte count and LAME's music length. A stream without
    a Xing/Info frame is returned unchanged. See the module docstring for the fields.
    """
    fields = info_fields(stream)
    if fields is None:
        return stream
    frame = bytearray(stream[: fields["length"]])
    frame[3] &= 0xCF  # mode extension: mid/side and intensity stereo of no frame here
    offsets = fields["offsets"]
    if "bytes" in offsets:
        frame[offsets["bytes"] : offsets["bytes"] + 4] = stream_bytes.to_bytes(4, "big")
    if "toc" in offsets:
        frame[offsets["toc"] : offsets["toc"] + 100] = LINEAR_TOC
    lame = fields["lame"]
    if lame is not None:
        for start, end in (_LAME_PEAK, _LAME_GAINS, (_LAME_MP3GAIN, _LAME_MP3GAIN + 1)):
            frame[lame + start : lame + end] = bytes(end - start)
        music = lame + _LAME_MUSIC_LENGTH
        frame[music : music + 4] = stream_bytes.to_bytes(4, "big")
        frame[lame + _LAME_MUSIC_CRC : lame + _LAME_TAG_CRC] = b"\0\0"
        frame[lame + LAME_BYTES :] = bytes(len(frame) - lame - LAME_BYTES)
        crc = crc16(bytes(frame[: lame + _LAME_TAG_CRC]))
        frame[lame + _LAME_TAG_CRC : lame + LAME_BYTES] = crc.to_bytes(2, "big")
    return bytes(frame) + stream[len(frame) :]


def audio_bytes(path: Path) -> int:
    """The file's size without any ID3v2 tag at its start."""
    with open(path, "rb") as handle:
        head = handle.read(ID3_HEADER)
    return os.path.getsize(path) - existing_tag_bytes(head)


def _length_for(largest_audio: int) -> int:
    return math.ceil((largest_audio + 2 * EDGE_BYTES) / ROUND_BYTES) * ROUND_BYTES


def padded_length(paths: Iterable[Path]) -> int:
    """The common length of files served together: the tag, the largest, the zeros, rounded."""
    return _length_for(max(audio_bytes(p) for p in paths))


def padded_audio(path: Path, length: int, payload: bytes) -> bytes:
    """The file as served: exactly ``length`` bytes laid out as the module docstring says.

    A file that has grown since ``length`` was worked out (re-rendered in place) gets the
    next length with room for the tag and the zeros rather than an error. Files other
    than MP3 are served as they are.
    """
    data = Path(path).read_bytes()
    if path.suffix.lower() != ".mp3":
        return data
    stream = data[existing_tag_bytes(data[:ID3_HEADER]) :]
    if length < _length_for(len(stream)):
        length = _length_for(len(stream))
    served = length - EDGE_BYTES
    stream = neutral_info_frame(stream, served)
    return id3_tag(payload) + stream + bytes(served - len(stream) - len(ID3V1_TAG)) + ID3V1_TAG

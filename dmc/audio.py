"""Audio input/output, resampling, loudness and MP3.

Every array in this project is laid out ``(channels, samples)`` as float32, the layout
PyTorch uses, so audio passes between NumPy and the models without transposes. The
conversion to soundfile's ``(samples, channels)`` happens only here.

Listening tests compare mixes at equal loudness (ITU-R BS.1770 integrated loudness,
-23 LUFS by default, as in the paper) and serve them as VBR MP3, so loudness
normalisation, true-peak measurement and the MP3 round trip live beside the file I/O.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import pyloudnorm
import soundfile as sf
from scipy import signal

from dmc.contracts.files import atomic_write
from dmc.contracts.policies import (
    DEFAULT_MAX_TRUE_PEAK_DBTP,
    DEFAULT_TARGET_LUFS,
    DEFAULT_VBR_QUALITY,
)

#: File suffixes read and written losslessly.
LOSSLESS_SUFFIXES = {".wav": "WAV", ".flac": "FLAC"}

#: Integrated loudness below this is treated as silence (the BS.1770 absolute gate).
SILENCE_LUFS = -70.0


class AudioError(ValueError):
    """A file could not be read or written; the message names the file."""


def _as_channels_first(audio: np.ndarray) -> np.ndarray:
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        return audio[None, :]
    if audio.ndim != 2:
        raise ValueError(
            f"audio must be (samples,) or (channels, samples), got shape {audio.shape}"
        )
    return audio


def audio_info(path: str | os.PathLike) -> tuple[int, int, int]:
    """Return ``(sample_rate, channels, frames)`` of a file without reading its samples."""
    path = Path(path)
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise AudioError(f"cannot read audio file {path}: {exc}") from None
    return int(info.samplerate), int(info.channels), int(info.frames)


def read_audio(
    path: str | os.PathLike,
    sample_rate: int | None = None,
    mono: bool = False,
    start: int = 0,
    frames: int = -1,
) -> tuple[np.ndarray, int]:
    """Read an audio file as float32 ``(channels, samples)``.

    Args:
        path: WAV, FLAC, MP3 (or anything libsndfile reads).
        sample_rate: resample to this rate (Hz) if given and different from the file's.
        mono: average the channels into one.
        start: first frame to read, in the file's own sample rate.
        frames: number of frames to read (file rate); -1 reads to the end.

    Returns:
        ``(audio, sample_rate)``.

    Raises:
        AudioError: the file is missing or unreadable; the message names it.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"audio file not found: {path}")
    try:
        data, file_rate = sf.read(
            str(path), start=start, frames=frames, dtype="float32", always_2d=True
        )
    except (sf.LibsndfileError, RuntimeError, OSError, ValueError) as exc:
        raise AudioError(f"cannot read audio file {path}: {exc}") from None
    audio = np.ascontiguousarray(data.T)
    if mono:
        audio = to_mono(audio)
    if sample_rate is not None and sample_rate != file_rate:
        audio = resample(audio, file_rate, sample_rate)
        file_rate = sample_rate
    return audio, int(file_rate)


def _replace_atomically(path: Path, write) -> None:
    """Write through a temporary file in the same folder, then rename: never a half file."""
    atomic_write(path, write)


def write_audio(
    path: str | os.PathLike, audio: np.ndarray, sample_rate: int, subtype: str | None = None
) -> Path:
    """Write WAV or FLAC (chosen by suffix) atomically.

    Args:
        subtype: libsndfile subtype; default ``FLOAT`` for WAV, ``PCM_16`` for FLAC.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in LOSSLESS_SUFFIXES:
        raise AudioError(
            f"cannot write {path}: use one of {sorted(LOSSLESS_SUFFIXES)} (or encode_mp3)"
        )
    audio = _as_channels_first(audio)
    if subtype is None:
        subtype = "FLOAT" if suffix == ".wav" else "PCM_16"
    if subtype.startswith("PCM"):
        audio = np.clip(audio, -1.0, 1.0)
    _replace_atomically(
        path,
        lambda tmp: sf.write(
            tmp, audio.T, sample_rate, subtype=subtype, format=LOSSLESS_SUFFIXES[suffix]
        ),
    )
    return path


def resample(audio: np.ndarray, orig_sample_rate: int, target_sample_rate: int) -> np.ndarray:
    """Band-limited polyphase resampling along the last axis."""
    if orig_sample_rate == target_sample_rate:
        return np.asarray(audio, dtype=np.float32)
    ratio = Fraction(int(target_sample_rate), int(orig_sample_rate))
    out = signal.resample_poly(audio, ratio.numerator, ratio.denominator, axis=-1)
    return out.astype(np.float32)


def to_mono(audio: np.ndarray) -> np.ndarray:
    """Average channels: ``(C, S) -> (1, S)``."""
    audio = _as_channels_first(audio)
    return audio.mean(axis=0, keepdims=True)


def to_stereo(audio: np.ndarray) -> np.ndarray:
    """Duplicate a mono signal to two channels; stereo passes through."""
    audio = _as_channels_first(audio)
    if audio.shape[0] == 2:
        return audio
    if audio.shape[0] == 1:
        return np.repeat(audio, 2, axis=0)
    raise ValueError(f"cannot make stereo from {audio.shape[0]} channels")


#: The one floor of every dB conversion (silence is this many dB, never minus infinity).
DB_FLOOR = -200.0


def db_to_gain(db: float | np.ndarray) -> float | np.ndarray:
    return 10.0 ** (np.asarray(db) / 20.0)


def gain_to_db(gain: float | np.ndarray, floor_db: float = DB_FLOOR) -> float | np.ndarray:
    """Amplitude (any sign) to dB, at least ``floor_db``."""
    return 20.0 * np.log10(np.maximum(np.abs(gain), 10.0 ** (floor_db / 20.0)))


def power_to_db(power: float | np.ndarray, floor_db: float = DB_FLOOR) -> float | np.ndarray:
    """Power (energy, mean square) to dB, at least ``floor_db``."""
    return 10.0 * np.log10(np.maximum(power, 10.0 ** (floor_db / 10.0)))


def difference_db(estimate, reference) -> float:
    """Energy of ``estimate - reference`` relative to the reference's, dB (-inf when equal).

    How far one rendering of the same audio is from another (an emulation from the real
    effects, a re-render from the original), whatever the signal's level.
    """
    estimate = np.asarray(estimate, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    error = np.sum((estimate - reference) ** 2)
    return float(10.0 * np.log10(error / np.sum(reference**2))) if error > 0 else -math.inf


# --------------------------------------------------------------------------- loudness


def integrated_loudness(audio: np.ndarray, sample_rate: int) -> float:
    """BS.1770-4 integrated loudness in LUFS; ``-inf`` for silence.

    Signals shorter than one 400 ms gating block are zero-padded to one block, so very
    short clips get a (conservative) value instead of an exception.
    """
    audio = _as_channels_first(audio)
    block = int(math.ceil(0.4 * sample_rate))
    if audio.shape[1] < block:
        audio = np.pad(audio, ((0, 0), (0, block - audio.shape[1])))
    if not np.any(audio):
        return -math.inf
    meter = pyloudnorm.Meter(sample_rate)
    with np.errstate(divide="ignore"):
        value = float(meter.integrated_loudness(audio.T.astype(np.float64)))
    return value if math.isfinite(value) else -math.inf


def true_peak_db(audio: np.ndarray, sample_rate: int, oversample: int = 4) -> float:
    """True peak in dBTP: the sample peak after 4x oversampling (BS.1770-4, Annex 2)."""
    audio = _as_channels_first(audio)
    if not np.any(audio):
        return -math.inf
    up = signal.resample_poly(audio, oversample, 1, axis=-1) if sample_rate < 96000 else audio
    return float(gain_to_db(np.max(np.abs(up))))


@dataclass(frozen=True)
class LoudnessReport:
    """What loudness normalisation did to one signal."""

    input_lufs: float
    output_lufs: float
    gain_db: float
    true_peak_dbtp: float
    limited: bool

    @property
    def peak_over_ceiling(self) -> bool:
        return self.true_peak_dbtp > -1.0


def normalize_loudness(
    audio: np.ndarray,
    sample_rate: int,
    target_lufs: float = DEFAULT_TARGET_LUFS,
    max_true_peak_db: float = DEFAULT_MAX_TRUE_PEAK_DBTP,
    peak_policy: str = "report",
) -> tuple[np.ndarray, LoudnessReport]:
    """Scale a signal to an integrated loudness, guarding its true peak.

    Args:
        target_lufs: integrated loudness to reach (LUFS). Default -23 (EBU R128, the paper).
        max_true_peak_db: ceiling in dBTP. Default -1.
        peak_policy: ``"report"`` keeps the exact loudness and reports a peak above the
            ceiling in the returned report; ``"limit"`` runs a true-peak-aware limiter and
            re-normalises (a few iterations) so both loudness and ceiling hold.

    Raises:
        ValueError: the signal is silent (its loudness cannot be set) or the policy is unknown.
    """
    if peak_policy not in ("report", "limit"):
        raise ValueError(f"peak_policy must be 'report' or 'limit', got {peak_policy!r}")
    audio = _as_channels_first(audio)
    measured = integrated_loudness(audio, sample_rate)
    if measured < SILENCE_LUFS:
        raise ValueError(f"cannot normalise a silent signal (integrated loudness {measured} LUFS)")
    gain_db = target_lufs - measured
    out = (audio * db_to_gain(gain_db)).astype(np.float32)
    peak = true_peak_db(out, sample_rate)
    limited = False
    if peak_policy == "limit" and peak > max_true_peak_db:
        out = _limit_true_peak(out, sample_rate, target_lufs, max_true_peak_db)
        limited = True
        peak = true_peak_db(out, sample_rate)
    report = LoudnessReport(
        input_lufs=measured,
        output_lufs=integrated_loudness(out, sample_rate),
        gain_db=float(gain_db),
        true_peak_dbtp=peak,
        limited=limited,
    )
    return out, report


def _limit_true_peak(
    audio: np.ndarray, sample_rate: int, target_lufs: float, ceiling_db: float, iterations: int = 8
) -> np.ndarray:
    """Limit, re-normalise, and lower the limiter threshold by any remaining overshoot."""
    from pedalboard import Limiter

    threshold_db = ceiling_db - 0.5
    out = audio
    for _ in range(iterations):
        out = Limiter(threshold_db=threshold_db, release_ms=60.0)(audio, sample_rate)
        out = out * db_to_gain(target_lufs - integrated_loudness(out, sample_rate))
        overshoot = true_peak_db(out, sample_rate) - ceiling_db
        if overshoot <= 0:
            break
        threshold_db -= overshoot + 0.1
    return out.astype(np.float32)


# --------------------------------------------------------------------------- MP3


def encode_mp3(
    path: str | os.PathLike,
    audio: np.ndarray,
    sample_rate: int,
    vbr_quality: int = DEFAULT_VBR_QUALITY,
) -> Path:
    """Encode VBR MP3 with LAME through libsndfile, atomically.

    Args:
        vbr_quality: LAME ``-V`` quality, 0 (best) to 9. Default 2 (about 170-210 kbps
            on music), the quality the listening test uses.

    libsndfile maps ``compression_level`` in [0, 1] linearly onto LAME's VBR quality
    0-10, so ``-V2`` is ``compression_level=0.2`` (checked against bit rates in tests).
    """
    if not 0 <= vbr_quality <= 9:
        raise ValueError(f"vbr_quality must be between 0 and 9, got {vbr_quality}")
    path = Path(path)
    audio = np.clip(_as_channels_first(audio), -1.0, 1.0)
    if audio.shape[0] > 2:
        raise ValueError(f"MP3 holds at most 2 channels, got {audio.shape[0]}")
    _replace_atomically(
        path,
        lambda tmp: sf.write(
            tmp,
            audio.T,
            sample_rate,
            format="MP3",
            subtype="MPEG_LAYER_III",
            bitrate_mode="VARIABLE",
            compression_level=vbr_quality / 10.0,
        ),
    )
    return path


def decode_mp3(path: str | os.PathLike, sample_rate: int | None = None) -> tuple[np.ndarray, int]:
    """Decode an MP3 (encoder delay and padding removed by libsndfile)."""
    return read_audio(path, sample_rate=sample_rate)


def duration_seconds(audio: np.ndarray, sample_rate: int) -> float:
    return _as_channels_first(audio).shape[1] / float(sample_rate)

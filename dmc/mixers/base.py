"""The Mixer contract: what every mixing method takes and returns.

Every mixing method (the consoles, the baselines, the Demucs adaptation) is a
:class:`Mixer`: gain-staged mono tracks in, a :class:`MixResult` out (a stereo mix and,
where the method has them, per-track parameters in real units). Conditions made from the
target instead (the hidden reference, the anchors) are
:class:`dmc.mixers.references.ReferenceCondition` s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from dmc.audio import resample


@dataclass
class MixResult:
    """A stereo mix and, for methods that have them, per-track parameters in real units.

    Args:
        audio: float32 ``(2, samples)``, same length as the input tracks.
        params: one ``{parameter_name: value}`` dict per input track (dB, Hz, ms, pan 0-1),
            or None for methods without human-readable parameters (demucs, target).
    """

    audio: np.ndarray
    params: list[dict[str, float]] | None = None

    def __post_init__(self) -> None:
        self.audio = np.asarray(self.audio, dtype=np.float32)
        if self.audio.ndim != 2 or self.audio.shape[0] != 2:
            raise ValueError(f"a mix must be (2, samples), got {self.audio.shape}")
        if not np.all(np.isfinite(self.audio)):
            raise ValueError("a mix contains NaN or infinite samples")


class Mixer(Protocol):
    """A mixing method: staged mono tracks in, stereo mix out."""

    name: str

    def mix(
        self, tracks: np.ndarray, sample_rate: int, names: Sequence[str] | None = None
    ) -> MixResult:
        """Mix ``tracks`` of shape ``(tracks, samples)`` (float32, after gain staging).

        ``names`` (one per track, e.g. file names) is for methods that read them (a
        console with side hints); the others ignore it.
        """
        ...


def check_tracks(tracks: np.ndarray, sample_rate: int) -> np.ndarray:
    """``tracks`` as float32 ``(tracks, samples)`` with at least one track and a valid rate."""
    tracks = np.asarray(tracks, dtype=np.float32)
    if tracks.ndim != 2 or tracks.shape[0] == 0:
        raise ValueError(
            f"tracks must be (tracks, samples) with at least one track, got shape {tracks.shape}"
        )
    if (
        isinstance(sample_rate, bool)
        or not isinstance(sample_rate, (int, np.integer))
        or sample_rate <= 0
    ):
        raise ValueError(f"sample_rate must be a positive integer (Hz), got {sample_rate!r}")
    return tracks


def at_model_rate(tracks: np.ndarray, sample_rate: int, model_rate: int) -> np.ndarray:
    """Finite-checked tracks resampled to a model's rate (the trained mixers' shared input path)."""
    if not np.all(np.isfinite(tracks)):
        raise ValueError("tracks contain NaN or infinite samples")
    return resample(tracks, sample_rate, model_rate) if sample_rate != model_rate else tracks


def at_caller_rate(
    audio: np.ndarray, model_rate: int, sample_rate: int, tracks: np.ndarray
) -> np.ndarray:
    """A mix back at the caller's rate, trimmed or padded to the input tracks' length."""
    if sample_rate != model_rate:
        audio = resample(audio, model_rate, sample_rate)
    length = tracks.shape[-1]
    if audio.shape[-1] >= length:
        return audio[..., :length]
    return np.pad(audio, ((0, 0), (0, length - audio.shape[-1])))

"""What every mixing method returns, so the renderer treats console, baselines and targets alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


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

    def mix(self, tracks: np.ndarray, sample_rate: int) -> MixResult:
        """Mix ``tracks`` of shape ``(tracks, samples)`` (float32, after gain staging)."""
        ...

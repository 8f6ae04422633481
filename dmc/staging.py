"""Input gain staging: the level every track has before any mixer sees it.

Raw multitracks arrive at arbitrary levels (a hot kick mic, quiet overheads). An
engineer first trims every channel to a working level; the console, the mono baseline
and the random baseline all start from the same trimmed tracks, so none of them is
judged on the recording engineer's preamp settings. Tracks are trimmed to a fixed
integrated loudness, with the boost capped so a nearly empty channel (a tom mic in a
passage without fills) is not turned into amplified bleed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dmc.audio import SILENCE_LUFS, db_to_gain, integrated_loudness


@dataclass(frozen=True)
class GainStaging:
    """Trim each track to ``target_lufs``, boosting by at most ``max_gain_db``.

    Args:
        target_lufs: integrated loudness of a staged track (LUFS). Default -30: eight
            tracks at -30 LUFS sum to roughly -21 LUFS, leaving headroom.
        max_gain_db: largest boost applied (dB). Default 30.
        min_gain_db: largest cut, as a negative number (dB). Default -40.
    """

    target_lufs: float = -30.0
    max_gain_db: float = 30.0
    min_gain_db: float = -40.0

    def gains_db(self, tracks: np.ndarray, sample_rate: int) -> np.ndarray:
        """Gain (dB) per track for ``tracks`` of shape ``(tracks, samples)``; 0 for silent tracks."""
        tracks = np.atleast_2d(tracks)
        gains = np.zeros(tracks.shape[0], dtype=np.float32)
        for i, track in enumerate(tracks):
            loudness = integrated_loudness(track[None], sample_rate)
            if loudness > SILENCE_LUFS:
                gains[i] = np.clip(self.target_lufs - loudness, self.min_gain_db, self.max_gain_db)
        return gains

    def apply(
        self, tracks: np.ndarray, sample_rate: int, gains_db: np.ndarray | None = None
    ) -> np.ndarray:
        """Staged copy of ``(tracks, samples)``; pass ``gains_db`` to reuse song-level gains on a segment."""
        tracks = np.atleast_2d(np.asarray(tracks, dtype=np.float32))
        if gains_db is None:
            gains_db = self.gains_db(tracks, sample_rate)
        return (tracks * db_to_gain(np.asarray(gains_db))[:, None]).astype(np.float32)


def active_tracks(
    tracks: np.ndarray, sample_rate: int, threshold_lufs: float = SILENCE_LUFS
) -> np.ndarray:
    """Boolean mask of tracks louder than ``threshold_lufs`` (silent tracks carry no information)."""
    return np.array(
        [integrated_loudness(t[None], sample_rate) > threshold_lufs for t in np.atleast_2d(tracks)]
    )

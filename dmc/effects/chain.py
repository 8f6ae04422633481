"""The reference channel strip, built from real effects (pedalboard).

This is the chain the transformation network learns to emulate and the chain that
renders the demo targets and the random baseline. It is mono in, mono out up to the
panner, like one channel of a console: gain -> EQ (low shelf, three peaks, high shelf)
-> compressor (+ make-up) -> reverb -> fader, then constant-power pan to stereo.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from pedalboard import (
    Compressor,
    Gain,
    HighShelfFilter,
    LowShelfFilter,
    PeakFilter,
    Pedalboard,
    Reverb,
)

from dmc.effects.params import CHANNEL_STRIP, ParameterSpace

#: Shelf filters use a Butterworth Q: no bump at the corner frequency.
SHELF_Q = 0.7071

ALL_STAGES = ("gain", "eq", "compressor", "reverb", "fader")


def _as_settings(
    params: Mapping[str, float] | Sequence[float], space: ParameterSpace
) -> dict[str, float]:
    if isinstance(params, Mapping):
        return space.to_dict(space.from_dict(params))
    return space.to_dict(params)


def channel_strip(
    params: Mapping[str, float] | Sequence[float], stages: Sequence[str] = ALL_STAGES
) -> Pedalboard:
    """A pedalboard for one channel with ``params`` (real units, dict or strip vector).

    Args:
        params: settings of :data:`CHANNEL_STRIP`, as a dict (missing names take their
            defaults) or a full real-unit vector.
        stages: which stages to include, from ``gain, eq, compressor, reverb, fader``.
    """
    unknown = set(stages) - set(ALL_STAGES)
    if unknown:
        raise ValueError(f"unknown stage(s) {sorted(unknown)}; choose from {ALL_STAGES}")
    s = _as_settings(params, CHANNEL_STRIP)
    board = Pedalboard()
    if "gain" in stages:
        board.append(Gain(gain_db=s["gain_db"]))
    if "eq" in stages:
        board.append(
            LowShelfFilter(
                cutoff_frequency_hz=s["eq_low_shelf_freq_hz"],
                gain_db=s["eq_low_shelf_gain_db"],
                q=SHELF_Q,
            )
        )
        for band in (1, 2, 3):
            board.append(
                PeakFilter(
                    cutoff_frequency_hz=s[f"eq_band{band}_freq_hz"],
                    gain_db=s[f"eq_band{band}_gain_db"],
                    q=s[f"eq_band{band}_q"],
                )
            )
        board.append(
            HighShelfFilter(
                cutoff_frequency_hz=s["eq_high_shelf_freq_hz"],
                gain_db=s["eq_high_shelf_gain_db"],
                q=SHELF_Q,
            )
        )
    if "compressor" in stages:
        board.append(
            Compressor(
                threshold_db=s["comp_threshold_db"],
                ratio=s["comp_ratio"],
                attack_ms=s["comp_attack_ms"],
                release_ms=s["comp_release_ms"],
            )
        )
        board.append(Gain(gain_db=s["comp_makeup_db"]))
    if "reverb" in stages:
        # JUCE's reverb (inside pedalboard) scales dry by 2 and wet by 3: undo that so
        # reverb_dry = 1 is unity gain and reverb_wet is the gain of the reverb path.
        board.append(
            Reverb(
                room_size=s["reverb_room_size"],
                damping=s["reverb_damping"],
                wet_level=s["reverb_wet"] / 3.0,
                dry_level=s["reverb_dry"] / 2.0,
                width=0.0,
            )
        )
    if "fader" in stages:
        board.append(Gain(gain_db=s["fader_db"]))
    return board


def process_channel(
    audio: np.ndarray,
    sample_rate: int,
    params: Mapping[str, float] | Sequence[float],
    stages: Sequence[str] = ALL_STAGES,
) -> np.ndarray:
    """Run one mono channel ``(samples,)`` or ``(1, samples)`` through the strip; returns ``(samples,)``.

    The output has the input's length: a reverb tail past the end is cut, exactly as
    the console (which works on fixed-length segments) cuts it.
    """
    mono = np.asarray(audio, dtype=np.float32).reshape(1, -1)
    board = channel_strip(params, stages)
    return board(mono, sample_rate, reset=True)[0, : mono.shape[1]].astype(np.float32)


def constant_power_pan(mono: np.ndarray, pan: float | np.ndarray) -> np.ndarray:
    """Pan ``(..., samples)`` to ``(..., 2, samples)``: theta = pan * pi/2, L = cos, R = sin.

    ``pan`` 0 is hard left, 0.5 centre (each side at -3 dB), 1 hard right.
    """
    theta = np.asarray(pan, dtype=np.float32) * (np.pi / 2)
    mono = np.asarray(mono, dtype=np.float32)
    return np.stack([np.cos(theta)[..., None] * mono, np.sin(theta)[..., None] * mono], axis=-2)


def mix(
    tracks: np.ndarray,
    sample_rate: int,
    params: Sequence[Mapping[str, float] | Sequence[float]],
    stages: Sequence[str] = ALL_STAGES,
) -> tuple[np.ndarray, np.ndarray]:
    """Mix mono tracks ``(tracks, samples)`` with one strip setting each.

    Returns:
        ``(mix, processed)``: the stereo sum ``(2, samples)`` and every panned channel
        ``(tracks, 2, samples)`` (handy for solo listening and stems).
    """
    tracks = np.atleast_2d(np.asarray(tracks, dtype=np.float32))
    if len(params) != tracks.shape[0]:
        raise ValueError(f"{tracks.shape[0]} tracks but {len(params)} parameter sets")
    channels = []
    for audio, p in zip(tracks, params):
        settings = _as_settings(p, CHANNEL_STRIP)
        processed = process_channel(audio, sample_rate, settings, stages)
        channels.append(constant_power_pan(processed, settings["pan"]))
    panned = np.stack(channels) if channels else np.zeros((0, 2, tracks.shape[1]), np.float32)
    return panned.sum(axis=0), panned

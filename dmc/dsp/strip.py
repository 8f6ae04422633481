"""The strip through the exact effects: the effect section batched over rows, and whole mixes."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch

from dmc.dsp import compressor, eq, reverb
from dmc.effects.params import CHANNEL_STRIP, TCN_PARAMETERS

#: The effect section's settings, in :data:`dmc.effects.params.TCN_PARAMETERS` order.
PARAMETER_NAMES = TCN_PARAMETERS.names
_EQ = slice(0, len(eq.PARAMETER_NAMES))
_COMPRESSOR = slice(_EQ.stop, _EQ.stop + len(compressor.PARAMETER_NAMES))
_MAKEUP = _COMPRESSOR.stop
_REVERB = slice(_MAKEUP + 1, _MAKEUP + 1 + len(reverb.PARAMETER_NAMES))

if (
    PARAMETER_NAMES[_EQ] != eq.PARAMETER_NAMES
    or PARAMETER_NAMES[_COMPRESSOR] != compressor.PARAMETER_NAMES
    or PARAMETER_NAMES[_MAKEUP] != "comp_makeup_db"
    or PARAMETER_NAMES[_REVERB] != reverb.PARAMETER_NAMES
):  # pragma: no cover - a layout change in dmc.effects.params must be mirrored here
    raise RuntimeError(f"the effect section's layout changed: {PARAMETER_NAMES}")


def process(audio: torch.Tensor, params: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """Run ``audio`` ``(rows, S)`` through EQ, compressor, make-up and reverb.

    Args:
        audio: mono rows (tracks of any number of songs), float32 or float64.
        params: ``(rows, 22)`` in real units, laid out as :data:`PARAMETER_NAMES`.
        sample_rate: of ``audio`` (Hz); any rate pedalboard accepts.

    Returns:
        ``(rows, S)``: what :func:`dmc.effects.chain.process_channel` returns with the
        ``eq``, ``compressor`` and ``reverb`` stages, to float rounding.
    """
    if audio.dim() != 2 or params.shape != (audio.shape[0], len(PARAMETER_NAMES)):
        raise ValueError(
            f"need audio (rows, samples) and params (rows, {len(PARAMETER_NAMES)}), "
            f"got {tuple(audio.shape)} and {tuple(params.shape)}"
        )
    params = params.to(audio.dtype)
    out = eq.equalize(audio, params[:, _EQ], sample_rate)
    out = compressor.compress(out, params[:, _COMPRESSOR], sample_rate)
    out = out * torch.pow(10.0, params[:, _MAKEUP : _MAKEUP + 1] / 20.0)
    return reverb.reverberate(out, params[:, _REVERB], sample_rate)


#: Rows x samples processed per call by :func:`mix` (bounds memory on long songs).
MIX_CALL_SAMPLES = 2**23


@torch.no_grad()
def mix(
    tracks: np.ndarray,
    sample_rate: int,
    params: Sequence[Mapping[str, float] | Sequence[float]],
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`dmc.effects.chain.mix` computed by the exact effects: same arguments, same result.

    Args:
        tracks: mono tracks ``(tracks, samples)``.
        sample_rate: their rate (Hz).
        params: one strip setting per track, a dict (missing names take their defaults)
            or a real-unit :data:`dmc.effects.params.CHANNEL_STRIP` vector.

    Returns:
        ``(mix, processed)``: the stereo sum ``(2, samples)`` and every panned channel
        ``(tracks, 2, samples)``, float32.
    """
    tracks = np.atleast_2d(np.asarray(tracks, dtype=np.float32))
    if len(params) != tracks.shape[0]:
        raise ValueError(f"{tracks.shape[0]} tracks but {len(params)} parameter sets")
    strip = (
        np.stack(
            [
                CHANNEL_STRIP.from_dict(p) if isinstance(p, Mapping) else np.asarray(p, np.float64)
                for p in params
            ]
        )
        if len(params)
        else np.zeros((0, len(CHANNEL_STRIP)))
    )
    count, samples = tracks.shape
    panned = np.zeros((count, 2, samples), dtype=np.float32)
    rows = max(1, MIX_CALL_SAMPLES // max(samples, 1))
    effects = [CHANNEL_STRIP.index(name) for name in PARAMETER_NAMES]
    for first in range(0, count, rows):
        chunk = slice(first, first + rows)
        settings = torch.from_numpy(strip[chunk]).float()
        audio = torch.from_numpy(tracks[chunk]) * _gain(settings, "gain_db")
        audio = process(audio, settings[:, effects], sample_rate) * _gain(settings, "fader_db")
        theta = settings[:, CHANNEL_STRIP.index("pan"), None] * (math.pi / 2)
        panned[chunk, 0] = (torch.cos(theta) * audio).numpy()
        panned[chunk, 1] = (torch.sin(theta) * audio).numpy()
    return panned.sum(axis=0), panned


def _gain(settings: torch.Tensor, name: str) -> torch.Tensor:
    return torch.pow(10.0, settings[:, CHANNEL_STRIP.index(name), None] / 20.0)

"""EQ -> compressor -> make-up -> reverb, batched over rows: the strip's effect section."""

from __future__ import annotations

import torch

from dmc.dsp import compressor, eq, reverb
from dmc.effects.params import TCN_PARAMETERS

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

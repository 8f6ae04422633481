"""pedalboard's reverb (Freeverb, as JUCE implements it) in closed form, differentiable.

At fixed settings the mono reverb is linear and time-invariant: the input, scaled by
0.015, feeds 8 parallel low-pass feedback combs (delays ``N_i``), whose sum passes 4
all-passes in series (delays ``M_j``). With feedback ``f = 0.28 room_size + 0.7`` and
damping ``d = 0.4 damping``, one comb is

    H_i(z) = z^-N_i (1 - d z^-1) / (1 - d z^-1 - f (1 - d) z^-N_i),

and one all-pass ``(-1 + 1.5 z^-M_j) / (1 - 0.5 z^-M_j)``. The output is
``0.5 * reverb_wet * reverb + reverb_dry * dry`` with the project's mapping of the wet
and dry levels (:mod:`dmc.effects.chain`). The response is evaluated on an FFT grid
long enough for the tail (:mod:`dmc.dsp.spectral`), so room size and damping get exact
gradients through the closed form.
"""

from __future__ import annotations

import functools
import math

import torch

from dmc.dsp.spectral import complex_dtype, filter_rows

COMB_DELAYS_44K = (1116, 1188, 1277, 1356, 1422, 1491, 1557, 1617)
ALLPASS_DELAYS_44K = (556, 441, 341, 225)
INPUT_GAIN = 0.015
#: Tail that the FFT grid must hold (s): at the largest in-range room size (0.7, no
#: damping) the shortest comb loses 75 dB of energy in 2 s.
TAIL_SECONDS = 2.0

#: Strip parameters the reverb reads, in this order.
PARAMETER_NAMES = ("reverb_room_size", "reverb_damping", "reverb_wet", "reverb_dry")


def scaled_delays(delays_44k: tuple[int, ...], sample_rate: int) -> tuple[int, ...]:
    """JUCE's buffer sizes at ``sample_rate``: ``int(fs) * N // 44100``."""
    return tuple(int(sample_rate) * n // 44100 for n in delays_44k)


def response(
    room_size: torch.Tensor, damping: torch.Tensor, n_fft: int, sample_rate: int
) -> torch.Tensor:
    """The reverb path's response (before the wet gain) on the rfft grid, ``(rows, F)``.

    Computed in real arithmetic (``z^-N = cos - j sin`` from cached tables), which
    autograd differentiates with fewer and cheaper passes than complex division.
    """
    cos, sin, diffusion = _tables(n_fft, sample_rate, room_size.dtype)
    feedback = (0.28 * room_size + 0.7).unsqueeze(-1)
    damp = (0.4 * damping).unsqueeze(-1)
    loop = feedback * (1 - damp)
    # the damping low-pass 1 - d z^-1, shared by every comb: (lp_re, lp_im)
    lp_re, lp_im = 1 - damp * cos[0], damp * sin[0]
    sum_re = sum_im = 0.0
    for c, s in zip(cos[1:], sin[1:]):
        den_re, den_im = lp_re - loop * c, lp_im + loop * s
        power = den_re * den_re + den_im * den_im
        sum_re = sum_re + (c * den_re - s * den_im) / power
        sum_im = sum_im - (c * den_im + s * den_re) / power
    re, im = sum_re * lp_re - sum_im * lp_im, sum_re * lp_im + sum_im * lp_re
    return INPUT_GAIN * torch.complex(re, im) * diffusion


@functools.lru_cache(maxsize=8)
def _tables(
    n_fft: int, sample_rate: int, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``cos`` and ``sin`` of ``w N`` for the unit delay and each comb ``(9, F)``, and the
    all-passes' fixed response ``(F,)`` (complex), on the rfft grid of ``n_fft`` points.

    Grids are as long as a training segment plus the tail (or twice the tail, for
    songs filtered block-wise), so a run reuses a few of them.
    """
    combs = (1, *scaled_delays(COMB_DELAYS_44K, sample_rate))
    omega = torch.arange(n_fft // 2 + 1, dtype=torch.float64) * (2 * math.pi / n_fft)
    angles = omega[None] * torch.tensor(combs, dtype=torch.float64)[:, None]
    diffusion = torch.ones_like(omega, dtype=torch.complex128)
    for delay in scaled_delays(ALLPASS_DELAYS_44K, sample_rate):
        z = torch.polar(torch.ones_like(omega), -omega * delay)
        diffusion = diffusion * (-1 + 1.5 * z) / (1 - 0.5 * z)
    return (
        torch.cos(angles).to(dtype),
        torch.sin(angles).to(dtype),
        diffusion.to(complex_dtype(dtype)),
    )


def reverberate(audio: torch.Tensor, params: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """Reverb on ``audio`` ``(rows, S)`` with settings ``(rows, 4)`` (:data:`PARAMETER_NAMES`)."""
    room_size, damping, wet, dry = params.unbind(dim=-1)
    tail = filter_rows(
        audio,
        lambda n_fft: response(room_size, damping, n_fft, sample_rate),
        math.ceil(TAIL_SECONDS * sample_rate),
    )
    return dry.unsqueeze(-1) * audio + (0.5 * wet).unsqueeze(-1) * tail

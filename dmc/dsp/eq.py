"""The strip's EQ (low shelf, three peaks, high shelf) as exact, differentiable filters.

Each band is the audio-EQ-cookbook biquad that pedalboard's ``LowShelfFilter``,
``PeakFilter`` and ``HighShelfFilter`` compute (JUCE's ``IIR::Coefficients``), with the
cutoff clamped as pedalboard clamps it: at least 2 Hz and at most ``fs / 2 - 100`` Hz
(measured: at 22.05 kHz a 16 kHz high shelf is the 10,925 Hz one). The five bands are
applied together as one frequency response (:mod:`dmc.dsp.spectral`); gradients reach
every gain, frequency and Q through the closed-form coefficients.
"""

from __future__ import annotations

import functools
import math

import torch

from dmc.dsp.spectral import filter_rows

#: Shelves use a Butterworth Q, as :mod:`dmc.effects.chain` does.
SHELF_Q = 0.7071
#: Longest impulse response of an in-range band that matters (s): a 200 Hz peak at Q 6
#: rings for about 0.26 s to -120 dB; 0.35 s leaves a margin at every rate.
TAIL_SECONDS = 0.35
LOWEST_CUTOFF_HZ = 2.0
NYQUIST_MARGIN_HZ = 100.0

#: Strip parameters the EQ reads, in this order.
PARAMETER_NAMES = (
    "eq_low_shelf_gain_db",
    "eq_low_shelf_freq_hz",
    "eq_band1_gain_db",
    "eq_band1_freq_hz",
    "eq_band1_q",
    "eq_band2_gain_db",
    "eq_band2_freq_hz",
    "eq_band2_q",
    "eq_band3_gain_db",
    "eq_band3_freq_hz",
    "eq_band3_q",
    "eq_high_shelf_gain_db",
    "eq_high_shelf_freq_hz",
)


def clamp_cutoff(freq_hz: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """The cutoff pedalboard actually uses: within [2 Hz, fs / 2 - 100 Hz]."""
    return freq_hz.clamp(LOWEST_CUTOFF_HZ, sample_rate / 2 - NYQUIST_MARGIN_HZ)


def biquad(
    kind: str, gain_db: torch.Tensor, freq_hz: torch.Tensor, q, sample_rate: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cookbook coefficients ``(b, a)``, each ``(..., 3)``, normalised so ``a[..., 0] = 1``.

    Args:
        kind: ``low_shelf``, ``peak`` or ``high_shelf``.
        gain_db, freq_hz, q: tensors of one shape (``q`` may be a float).
    """
    amp = torch.pow(10.0, gain_db / 40.0)
    w = 2 * math.pi * clamp_cutoff(freq_hz, sample_rate) / sample_rate
    cos, sin = torch.cos(w), torch.sin(w)
    if kind == "peak":
        alpha = sin / (2 * q)
        b = (1 + alpha * amp, -2 * cos, 1 - alpha * amp)
        a = (1 + alpha / amp, -2 * cos, 1 - alpha / amp)
    elif kind in ("low_shelf", "high_shelf"):
        beta = sin * torch.sqrt(amp) / q
        s = 1.0 if kind == "low_shelf" else -1.0  # the high shelf mirrors the low one
        b = (
            amp * ((amp + 1) - s * (amp - 1) * cos + beta),
            s * 2 * amp * ((amp - 1) - s * (amp + 1) * cos),
            amp * ((amp + 1) - s * (amp - 1) * cos - beta),
        )
        a = (
            (amp + 1) + s * (amp - 1) * cos + beta,
            -s * 2 * ((amp - 1) + s * (amp + 1) * cos),
            (amp + 1) + s * (amp - 1) * cos - beta,
        )
    else:
        raise ValueError(f"unknown biquad kind {kind!r}; choose low_shelf, peak or high_shelf")
    b, a = torch.stack(b, dim=-1), torch.stack(a, dim=-1)
    return b / a[..., :1], a / a[..., :1]


def bands(params: torch.Tensor, sample_rate: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The five bands' ``(b, a)`` from EQ settings ``(rows, 13)`` laid out as :data:`PARAMETER_NAMES`."""
    p = params.unbind(dim=-1)
    return [
        biquad("low_shelf", p[0], p[1], SHELF_Q, sample_rate),
        biquad("peak", p[2], p[3], p[4], sample_rate),
        biquad("peak", p[5], p[6], p[7], sample_rate),
        biquad("peak", p[8], p[9], p[10], sample_rate),
        biquad("high_shelf", p[11], p[12], SHELF_Q, sample_rate),
    ]


def response(params: torch.Tensor, n_fft: int, sample_rate: int) -> torch.Tensor:
    """The EQ's complex response on the rfft grid, ``(rows, n_fft // 2 + 1)``.

    Each band is evaluated as ``e^{jw} B(e^{jw}) / e^{jw} A(e^{jw})``, whose real parts
    are ``(c0 + c1 + c2) - (c0 + c2) (1 - cos w)``: the sums of the coefficients come
    from float64 and ``1 - cos w = 2 sin^2(w / 2)`` from a table, so a 30 Hz shelf keeps
    its digits near DC in float32, where the plain polynomial would cancel them away.
    """
    dtype = params.dtype
    versine, sine = _grid(n_fft, dtype)
    total_re = total_im = None
    for b, a in bands(params.double(), sample_rate):
        num_re, num_im = _folded(b, versine, sine, dtype)
        den_re, den_im = _folded(a, versine, sine, dtype)
        power = den_re * den_re + den_im * den_im
        re = (num_re * den_re + num_im * den_im) / power
        im = (num_im * den_re - num_re * den_im) / power
        if total_re is None:
            total_re, total_im = re, im
        else:
            total_re, total_im = total_re * re - total_im * im, total_re * im + total_im * re
    return torch.complex(total_re, total_im)


def _folded(
    c: torch.Tensor, versine: torch.Tensor, sine: torch.Tensor, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor]:
    """Real and imaginary part of ``e^{jw} (c0 + c1 z^-1 + c2 z^-2)`` for coefficients ``(rows, 3)``."""
    total = c.sum(dim=-1, keepdim=True).to(dtype)
    outer = (c[:, :1] + c[:, 2:]).to(dtype)
    return total - outer * versine, (c[:, :1] - c[:, 2:]).to(dtype) * sine


@functools.lru_cache(maxsize=8)
def _grid_table(n_fft: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    omega = torch.arange(n_fft // 2 + 1, dtype=torch.float64) * (2 * math.pi / n_fft)
    return (2 * torch.sin(omega / 2) ** 2).to(dtype), torch.sin(omega).to(dtype)


def _grid(n_fft: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """``1 - cos w`` and ``sin w`` on the rfft grid of ``n_fft`` points (cached)."""
    return _grid_table(n_fft, dtype)


def equalize(audio: torch.Tensor, params: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """EQ ``audio`` ``(rows, S)`` with settings ``(rows, 13)`` (:data:`PARAMETER_NAMES`)."""
    return filter_rows(
        audio,
        lambda n_fft: response(params, n_fft, sample_rate),
        math.ceil(TAIL_SECONDS * sample_rate),
    )

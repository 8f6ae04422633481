"""Linear, time-invariant filtering in the frequency domain, exact for decaying responses.

The EQ and the reverb of the channel strip are recursive (IIR) filters whose frequency
responses have closed forms. Multiplying the signal's spectrum by that response on an
FFT grid of ``n`` points computes a *circular* convolution with the impulse response
folded modulo ``n``; with ``n >= samples + tail_samples`` every folded term lies past
``tail_samples`` of the response, where it has decayed below the float rounding of
the signal. The output is then the filter's own output, cut at the input's length
(as the reference chain cuts a reverb tail), and its gradient with respect to the
filter settings comes from autograd through the closed form.
"""

from __future__ import annotations

import functools
import math

import torch
from scipy.fft import next_fast_len


def fft_size(samples: int, tail_samples: int) -> int:
    """An FFT length (fast to compute) that holds ``samples`` plus a response's ``tail_samples``."""
    if samples < 1 or tail_samples < 0:
        raise ValueError(f"need samples >= 1 and tail_samples >= 0, got {samples}, {tail_samples}")
    return int(next_fast_len(samples + tail_samples, real=True))


@functools.lru_cache(maxsize=32)
def _delay_table(n_fft: int, delays: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    k = torch.arange(n_fft // 2 + 1, dtype=torch.float64)
    omega = (2 * math.pi / n_fft) * k
    table = torch.stack([torch.polar(torch.ones_like(omega), -omega * d) for d in delays])
    return table.to(dtype)


def complex_dtype(dtype: torch.dtype) -> torch.dtype:
    """The complex type of a real one's spectrum (float64 -> complex128, else complex64)."""
    return torch.complex128 if dtype == torch.float64 else torch.complex64


def delays(n_fft: int, samples: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    """``z ** -d`` on the rfft grid of ``n_fft`` points for each delay ``d``: ``(len(samples), F)``.

    ``dtype`` is the real type of the signal. Computed in float64 and cached (the same
    grid serves every call of a training run).
    """
    return _delay_table(n_fft, tuple(int(s) for s in samples), complex_dtype(dtype))


def apply_response(audio: torch.Tensor, response: torch.Tensor, n_fft: int) -> torch.Tensor:
    """Filter ``audio`` ``(rows, S)`` by ``response`` ``(rows, n_fft // 2 + 1)``; ``(rows, S)`` out."""
    samples = audio.shape[-1]
    spectrum = torch.fft.rfft(audio, n=n_fft)
    return torch.fft.irfft(spectrum * response.to(spectrum.dtype), n=n_fft)[..., :samples]

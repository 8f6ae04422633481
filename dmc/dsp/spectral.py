"""Linear, time-invariant filtering in the frequency domain, exact for decaying responses.

The EQ and the reverb of the channel strip are recursive (IIR) filters whose frequency
responses have closed forms. Multiplying the signal's spectrum by that response on an
FFT grid of ``n`` points computes a *circular* convolution with the impulse response
folded modulo ``n``; with ``n >= samples + tail_samples`` every folded term lies past
``tail_samples`` of the response, where it has decayed below the float rounding of
the signal. The output is then the filter's own output, cut at the input's length
(as the reference chain cuts a reverb tail), and its gradient with respect to the
filter settings comes from autograd through the closed form.

Long signals (whole songs) take another road to the same output: the impulse response
from a grid of ``2 * tail_samples``, then block-wise overlap-add convolution, so the
closed form is evaluated on a few hundred thousand points instead of the song's
length and memory stays bounded.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from scipy.fft import next_fast_len

#: Signals up to this many samples (with their tail) are filtered with one FFT.
ONE_FFT_SAMPLES = 2**20


def fft_size(samples: int, tail_samples: int) -> int:
    """An FFT length (fast to compute) that holds ``samples`` plus a response's ``tail_samples``."""
    if samples < 1 or tail_samples < 0:
        raise ValueError(f"need samples >= 1 and tail_samples >= 0, got {samples}, {tail_samples}")
    return int(next_fast_len(samples + tail_samples, real=True))


def complex_dtype(dtype: torch.dtype) -> torch.dtype:
    """The complex type of a real one's spectrum (float64 -> complex128, else complex64)."""
    return torch.complex128 if dtype == torch.float64 else torch.complex64


def apply_response(audio: torch.Tensor, response: torch.Tensor, n_fft: int) -> torch.Tensor:
    """Filter ``audio`` ``(rows, S)`` by ``response`` ``(rows, n_fft // 2 + 1)``; ``(rows, S)`` out."""
    samples = audio.shape[-1]
    spectrum = torch.fft.rfft(audio, n=n_fft)
    return torch.fft.irfft(spectrum * response.to(spectrum.dtype), n=n_fft)[..., :samples]


def filter_rows(
    audio: torch.Tensor,
    response: Callable[[int], torch.Tensor],
    tail_samples: int,
    one_fft_samples: int = ONE_FFT_SAMPLES,
) -> torch.Tensor:
    """Filter ``audio`` ``(rows, S)`` by a decaying LTI response; ``(rows, S)`` out.

    Args:
        response: ``n_fft -> (rows, n_fft // 2 + 1)`` complex, the filter on that grid.
        tail_samples: where the impulse response has decayed below float rounding.
        one_fft_samples: longest ``S + tail_samples`` filtered with one FFT; longer
            signals are convolved block-wise with the impulse response.
    """
    samples = audio.shape[-1]
    if samples + tail_samples <= one_fft_samples:
        n_fft = fft_size(samples, tail_samples)
        return apply_response(audio, response(n_fft), n_fft)
    n_ir = fft_size(tail_samples, tail_samples)
    impulse = torch.fft.irfft(response(n_ir), n=n_ir).to(audio.dtype)
    return convolve(audio, impulse, block_samples=max(one_fft_samples - n_ir, n_ir))


def convolve(audio: torch.Tensor, impulse: torch.Tensor, block_samples: int) -> torch.Tensor:
    """Row-wise linear convolution ``audio (rows, S) * impulse (rows, K)``, cut to ``S``,
    by overlap-add of FFT blocks of ``block_samples`` input samples."""
    rows, samples = audio.shape
    taps = impulse.shape[-1]
    n_fft = fft_size(block_samples, taps)
    kernel = torch.fft.rfft(impulse, n=n_fft)
    result = audio.new_zeros(rows, samples + taps - 1)
    for start in range(0, samples, block_samples):
        block = audio[:, start : start + block_samples]
        out = torch.fft.irfft(torch.fft.rfft(block, n=n_fft) * kernel, n=n_fft)
        result[:, start : start + block.shape[-1] + taps - 1] += out[
            :, : block.shape[-1] + taps - 1
        ]
    return result[:, :samples]

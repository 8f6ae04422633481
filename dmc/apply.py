"""Apply a model to a whole song block by block: overlap-add with context and cross-fades.

:func:`overlap_add` runs any model block by block with context either side and
cross-fades between blocks, so songs of any length fit in memory (for a model whose
output depends on at most ``context_samples`` either side, the result equals the
whole-signal one). The mixers (:mod:`dmc.mixers`) use it for the TCN console and the
Demucs baseline.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def _ramp(length: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    return (torch.arange(length, dtype=dtype, device=device) + 0.5) / length


def block_starts(num_samples: int, block_samples: int, overlap_samples: int) -> list[int]:
    """Start of every block; each block but the last is ``block_samples`` long."""
    if block_samples <= 0 or not 0 <= overlap_samples < block_samples:
        raise ValueError(
            f"need block_samples > overlap_samples >= 0, got {block_samples} and {overlap_samples}"
        )
    hop = block_samples - overlap_samples
    starts = [0]
    while starts[-1] + block_samples < num_samples:
        starts.append(starts[-1] + hop)
    return starts


def overlap_add(
    fn: Callable[[torch.Tensor], torch.Tensor],
    audio: torch.Tensor,
    block_samples: int,
    overlap_samples: int = 0,
    context_samples: int = 0,
) -> torch.Tensor:
    """Apply ``fn`` to ``audio`` block by block along the last axis and join the outputs.

    Args:
        fn: maps ``(..., L)`` to ``(..., L)`` with any leading shape (e.g. tracks to a
            stereo mix); must keep the length.
        audio: ``(..., samples)``.
        block_samples: samples each call produces (the last block may be shorter).
        overlap_samples: cross-fade length between blocks. Default: 0.
        context_samples: extra input samples given on each side and discarded. Default: 0.

    Returns:
        ``fn``'s output for the whole signal, ``(..., samples)``.
    """
    total = audio.shape[-1]
    if context_samples < 0:
        raise ValueError(f"context_samples must be >= 0, got {context_samples}")
    starts = block_starts(total, block_samples, overlap_samples)
    out = None
    for i, start in enumerate(starts):
        stop = min(start + block_samples, total)
        lo, hi = max(0, start - context_samples), min(total, stop + context_samples)
        block = fn(audio[..., lo:hi])
        if block.shape[-1] != hi - lo:
            raise ValueError(
                f"fn changed the length of a block from {hi - lo} to {block.shape[-1]} samples"
            )
        block = block[..., start - lo : stop - lo]
        if overlap_samples:
            weight = torch.ones(stop - start, dtype=block.dtype, device=block.device)
            if i > 0:
                weight[:overlap_samples] = _ramp(overlap_samples, block.dtype, block.device)
            if i < len(starts) - 1:
                weight[-overlap_samples:] = 1.0 - _ramp(overlap_samples, block.dtype, block.device)
            block = block * weight
        if out is None:
            out = block.new_zeros(block.shape[:-1] + (total,))
        out[..., start:stop] += block
    return out

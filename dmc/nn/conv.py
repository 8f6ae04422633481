"""A dilated, zero-padded 1-D convolution whose backward pass is fast on CPUs.

PyTorch's CPU ``convolution_backward`` for the TCN's shapes (few channels, long
signals, kernel 15, dilations up to 512) runs at a third of the forward pass's
speed, mostly in the weight gradient. Both gradients are themselves convolutions
that oneDNN's forward kernel computes at full speed:

- the input gradient is the output gradient convolved with the flipped, transposed
  kernel (a "full" convolution at the same dilation);
- the weight gradient is a convolution of the input (channels as the batch) with the
  output gradient as a very long kernel, read with a stride of ``dilation``.

Same numbers as ``F.conv1d`` up to float rounding (tested against it), about three
times faster forward + backward on two cores (``benchmarks/bench_training.py``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


class _DilatedConv1d(torch.autograd.Function):
    """``F.conv1d(x, weight, dilation=d)`` on an already padded ``x``, with the fast backward."""

    @staticmethod
    def forward(ctx, padded: torch.Tensor, weight: torch.Tensor, dilation: int) -> torch.Tensor:
        ctx.save_for_backward(padded, weight)
        ctx.dilation = dilation
        return F.conv1d(padded, weight, dilation=dilation)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        padded, weight = ctx.saved_tensors
        dilation = ctx.dilation
        context = (weight.shape[-1] - 1) * dilation
        grad = grad.contiguous()
        grad_input = grad_weight = None
        if ctx.needs_input_grad[0]:
            flipped = weight.flip(-1).transpose(0, 1)
            grad_input = F.conv1d(F.pad(grad, (context, context)), flipped, dilation=dilation)
        if ctx.needs_input_grad[1]:
            # (in, batch, time) * (out, batch, time) -> (in, out, kernel), taps `dilation` apart
            grad_weight = F.conv1d(
                padded.transpose(0, 1), grad.transpose(0, 1), stride=dilation
            ).transpose(0, 1)
        return grad_input, grad_weight, None


def dilated_conv1d(x: torch.Tensor, weight: torch.Tensor, dilation: int) -> torch.Tensor:
    """Non-causal dilated convolution, zero-padded so the output has the input's length.

    Output sample ``t`` sees input samples ``t - c//2 .. t + c - c//2`` with
    ``c = (kernel - 1) * dilation`` (the left half rounded down).

    Args:
        x (Tensor): ``(batch, in_channels, samples)``.
        weight (Tensor): ``(out_channels, in_channels, kernel)``; no bias.
        dilation (int): spacing of the taps in samples.

    Returns:
        ``(batch, out_channels, samples)``.
    """
    context = (weight.shape[-1] - 1) * dilation
    padded = F.pad(x, (context // 2, context - context // 2))
    if not (padded.requires_grad or weight.requires_grad):
        return F.conv1d(padded, weight, dilation=dilation)
    return _DilatedConv1d.apply(padded, weight, dilation)

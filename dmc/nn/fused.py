"""The TCN block's element-wise tail as one fused operation with a hand-written backward.

After its convolution, every TCN block normalises (BatchNorm without affine terms),
modulates (FiLM: a scale and shift per item and channel), applies a PReLU and adds the
residual. In eager PyTorch that is about ten passes over the long ``(batch, channels,
samples)`` signal forward and more backward, which cost as much as the convolutions
themselves at 16 channels. Here the normalisation and FiLM fold into one affine map per
item and channel, ``z = scale * h + shift``, and the whole tail runs as:

- forward: (training only) one pass for the batch statistics, one pass for
  ``prelu(z) + residual``;
- backward: one pass for the per-item, per-channel sums, one for the input gradient
  (``z`` is recomputed from ``h`` rather than stored).

Each pass is a small function that :func:`dmc.nn.compile.maybe_compile` turns into one
fused loop (eager PyTorch where compiling is unavailable). The numbers equal
``BatchNorm1d(affine=False) -> FiLM -> PReLU -> + residual`` up to float rounding; the
tests compare both, values and gradients.
"""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

from dmc.nn.compile import maybe_compile


@maybe_compile
def _statistics(h: torch.Tensor):
    var, mean = torch.var_mean(h, dim=(0, 2), correction=0)
    return mean, var


@maybe_compile
def _forward(h, scale, shift, prelu_weight, residual):
    z = h * scale + shift
    return torch.where(z >= 0, z, prelu_weight * z) + residual


@maybe_compile
def _sums(grad, h, scale, shift, prelu_weight):
    """Per (item, channel): d/dscale, d/dshift; per channel: d/dprelu_weight."""
    z = h * scale + shift
    negative = z < 0
    dz = torch.where(negative, prelu_weight * grad, grad)
    return (
        (dz * h).sum(dim=2, keepdim=True),
        dz.sum(dim=2, keepdim=True),
        torch.where(negative, grad * z, 0.0).sum(dim=(0, 2), keepdim=True),
    )


@maybe_compile
def _input_grad(grad, h, scale, shift, prelu_weight, offset, slope):
    """``dz * scale + offset + slope * h``: the direct path plus the statistics' share."""
    z = h * scale + shift
    dz = torch.where(z < 0, prelu_weight * grad, grad)
    return dz * scale + offset + slope * h


def _affine(gamma, beta, mean, var, eps: float):
    rstd = torch.rsqrt(var + eps)
    scale = gamma * rstd
    return scale, beta - scale * mean, rstd


class _Tail(torch.autograd.Function):
    @staticmethod
    def forward(ctx, h, gamma, beta, mean, var, eps, prelu_weight, residual, training):
        # With ``training``, mean and var are h's batch statistics: the backward adds their share.
        scale, shift, rstd = _affine(gamma, beta, mean, var, eps)
        scale, shift = scale.unsqueeze(-1), shift.unsqueeze(-1)
        ctx.save_for_backward(h, gamma, mean, rstd, scale, shift, prelu_weight)
        ctx.training = training
        return _forward(h, scale, shift, prelu_weight, residual)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        h, gamma, mean, rstd, scale, shift, prelu_weight = ctx.saved_tensors
        grad = grad.contiguous()
        d_scale, d_shift, d_prelu = _sums(grad, h, scale, shift, prelu_weight)
        d_scale, d_shift = d_scale.squeeze(-1), d_shift.squeeze(-1)
        # scale = gamma * rstd, shift = beta - scale * mean
        d_scale_total = d_scale - d_shift * mean
        d_gamma = d_scale_total * rstd
        d_beta = d_shift
        offset = slope = h.new_zeros(())
        if ctx.training:  # mean and rstd depend on h as well
            count = h.shape[0] * h.shape[2]
            d_rstd = (d_scale_total * gamma).sum(dim=0)
            d_mean = -(d_shift * gamma * rstd).sum(dim=0)
            d_var = -0.5 * d_rstd * rstd**3
            slope_c = 2.0 * d_var / count
            offset = (d_mean / count - slope_c * mean).view(1, -1, 1)
            slope = slope_c.view(1, -1, 1)
        d_h = _input_grad(grad, h, scale, shift, prelu_weight, offset, slope)
        return d_h, d_gamma, d_beta, None, None, None, d_prelu, grad, None


def norm_film_prelu_residual(
    h: torch.Tensor,
    gamma: torch.Tensor,
    beta: torch.Tensor,
    running_mean: torch.Tensor,
    running_var: torch.Tensor,
    eps: float,
    prelu_weight: torch.Tensor,
    residual: torch.Tensor,
    training: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``prelu(gamma * (h - mean) / sqrt(var + eps) + beta) + residual``, fused.

    Args:
        h: ``(batch, channels, samples)``, the block's convolution output.
        gamma, beta: ``(batch, channels)`` FiLM scale and shift.
        running_mean, running_var: ``(channels,)`` statistics used when not ``training``.
        eps: BatchNorm's epsilon.
        prelu_weight: ``(1, channels, 1)`` negative slopes.
        residual: ``(batch, channels, samples)``.
        training: normalise with the batch statistics of ``h`` (biased variance).

    Returns:
        ``(output, mean, var)``: the block output and the statistics it normalised
        with (the batch's when training, for the caller's running averages).
    """
    if training and h.shape[0] * h.shape[2] < 2:
        raise ValueError(
            f"training-mode normalisation needs more than one value per channel, got {tuple(h.shape)}"
        )
    h = h.contiguous()
    if training:
        with torch.no_grad():
            mean, var = _statistics(h)
    else:
        mean, var = running_mean, running_var
    out = _Tail.apply(h, gamma, beta, mean, var, eps, prelu_weight, residual, training)
    return out, mean, var

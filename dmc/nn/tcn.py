"""The transformation network: a FiLM-conditioned temporal convolutional network (TCN).

The paper replaces the channel strip's EQ -> compressor -> reverb with one neural
network conditioned on the effect parameters, pre-trained to emulate the real effects,
so gradients flow from the mix back to every parameter. This is that network: a stack
of dilated, non-causal 1-D convolutions whose features are scaled and shifted (FiLM,
Perez et al. 2018) by an embedding of the parameters.

See Steinmetz et al., "Automatic multitrack mixing with a differentiable mixing
console of neural audio effects" (arXiv:2010.10291), and the same author's public TCN
recipe (kernel 15, 32 channels, dilation ``2 ** (n mod 10)``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from dmc import SAMPLE_RATE
from dmc.checkpoint import register_model
from dmc.effects.params import TCN_PARAMETERS, effect_activity
from dmc.nn.conv import dilated_conv1d
from dmc.nn.fused import norm_film_prelu_residual

#: Named configurations. The paper's TCN-10/20/30 differ in depth only; the dilation
#: pattern restarts every 10 blocks, so each 10 blocks add ~14.3k samples of context.
PRESETS: dict[str, dict] = {
    "tcn10": {
        "num_blocks": 10,
        "kernel_size": 15,
        "channels": 32,
        "dilation_growth": 2,
        "dilation_cycle": 10,
        "neutral_gate": True,
    },
    "tcn20": {
        "num_blocks": 20,
        "kernel_size": 15,
        "channels": 32,
        "dilation_growth": 2,
        "dilation_cycle": 10,
        "neutral_gate": True,
    },
    "tcn30": {
        "num_blocks": 30,
        "kernel_size": 15,
        "channels": 32,
        "dilation_growth": 2,
        "dilation_cycle": 10,
        "neutral_gate": True,
    },
}


def preset(name: str, **overrides) -> dict:
    """Constructor kwargs of a preset, with ``overrides`` (e.g. ``channels=16``) applied."""
    try:
        config = dict(PRESETS[name])
    except KeyError:
        raise ValueError(
            f"unknown TCN preset {name!r}; choose one of {', '.join(PRESETS)}"
        ) from None
    config.update({k: v for k, v in overrides.items() if v is not None})
    return config


class FiLM(nn.Module):
    """Feature-wise linear modulation: ``gamma(c) * x + beta(c)`` per channel.

    Args:
        cond_dim (int): size of the conditioning vector.
        channels (int): feature channels to modulate.

    Shape:
        x ``(batch, channels, samples)``, cond ``(batch, cond_dim)`` -> like x.
    """

    def __init__(self, cond_dim: int, channels: int):
        super().__init__()
        self.proj = nn.Linear(cond_dim, 2 * channels)
        # Start as the identity (gamma = 1, beta = 0): conditioning is learnt, not imposed.
        nn.init.zeros_(self.proj.weight)
        with torch.no_grad():
            self.proj.bias.copy_(torch.cat([torch.ones(channels), torch.zeros(channels)]))

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.proj(cond).unsqueeze(-1).chunk(2, dim=1)
        return gamma * x + beta


class TCNBlock(nn.Module):
    """Dilated Conv1d -> BatchNorm (no affine) -> FiLM -> PReLU, plus a residual path.

    The BatchNorm has no affine terms because FiLM supplies the scale and shift; the
    convolution is zero-padded on both sides (non-causal), so output sample ``t`` sees
    input samples ``t - (k-1)d/2 .. t + (k-1)d/2``.

    Two implementations of the same numbers: :meth:`forward` (the fast one: the
    convolution of :func:`dmc.nn.conv.dilated_conv1d` and one fused, compiled pass for
    everything after it) and :meth:`forward_reference` (plain ``nn`` modules, the
    definition the fast one is tested against).
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, dilation: int, cond_dim: int
    ):
        super().__init__()
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, dilation=dilation, bias=False)
        self.norm = nn.BatchNorm1d(out_channels, affine=False)
        self.film = FiLM(cond_dim, out_channels)
        self.act = nn.PReLU(out_channels)
        self.residual = (
            nn.Identity()
            if in_channels == out_channels
            else nn.Conv1d(in_channels, out_channels, 1, bias=False)
        )

    @property
    def context(self) -> int:
        return (self.kernel_size - 1) * self.dilation

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        h = dilated_conv1d(x, self.conv.weight, self.dilation)
        gamma, beta = self.film.proj(cond).chunk(2, dim=1)
        norm = self.norm
        y, mean, var = norm_film_prelu_residual(
            h,
            gamma,
            beta,
            norm.running_mean,
            norm.running_var,
            norm.eps,
            self.act.weight.view(1, -1, 1),
            self.residual(x),
            self.training,
        )
        if self.training:  # BatchNorm1d's running statistics: unbiased variance, momentum
            count = h.shape[0] * h.shape[2]
            with torch.no_grad():
                norm.num_batches_tracked.add_(1)
                norm.running_mean.lerp_(mean, norm.momentum)
                norm.running_var.lerp_(var * (count / (count - 1)), norm.momentum)
        return y

    def forward_reference(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        left = self.context // 2
        h = self.conv(F.pad(x, (left, self.context - left)))
        return self.act(self.film(self.norm(h), cond)) + self.residual(x)


@register_model
class TCN(nn.Module):
    """Parameter-conditioned TCN emulating a mono effects chain at 44.1 kHz.

    Args:
        num_params (int): length of the normalised parameter vector. Default: 22
            (:data:`dmc.effects.params.TCN_PARAMETERS`).
        num_blocks (int): residual blocks. Default: 10.
        kernel_size (int): taps per convolution. Default: 15.
        channels (int): feature channels of every block. Default: 32.
        dilation_growth (int): dilation of block ``n`` is ``growth ** (n mod cycle)``. Default: 2.
        dilation_cycle (int): blocks before the dilation pattern restarts. Default: 10.
        dilations (list of int, optional): explicit per-block dilations; overrides growth/cycle.
        cond_dims (list of int): hidden sizes of the parameter MLP (PReLU between).
            Default: ``[32, 64, 128]`` (the reference recipe).
        input_skip (bool): add the input to the output, so an untrained network is the
            identity (an untouched input) and only the effect is learnt. Default: True.
        internal_gain_db (float): the network works on the input raised by this gain and
            lowers its output by the same amount. Staged tracks sit near -30 dBFS while
            the normalised features are near unit scale; Adam moves every output weight by
            about the learning rate, so without this the first steps add noise as loud as
            the signal. Default: 30.
        neutral_gate (bool): scale the network's correction by how far the effects are
            from neutral, ``tanh(activity / gate_width)`` (see
            :func:`dmc.effects.params.effect_activity`), so at neutral settings the output
            *is* the input, by construction rather than by training. Needs the 22
            :data:`TCN_PARAMETERS` and ``input_skip``. Default: False (the presets set it).
        gate_width (float): activity at which the gate reaches tanh(1) = 0.76; an EQ band
            at +-1.2 dB or a reverb at wet 0.1 is that far. Default: 0.1.
        sample_rate (int): rate it was trained at (Hz), stored as metadata. Default: 44100.

    Two implementations compute the same numbers: the fast one (default) and the plain
    ``nn`` reference (``tcn.reference = True``), which the tests compare.

    Shape:
        audio ``(batch, 1, samples)``, params ``(batch, num_params)`` in [0, 1] -> ``(batch, 1, samples)``.
    """

    def __init__(
        self,
        num_params: int = 22,
        num_blocks: int = 10,
        kernel_size: int = 15,
        channels: int = 32,
        dilation_growth: int = 2,
        dilation_cycle: int = 10,
        dilations: Sequence[int] | None = None,
        cond_dims: Sequence[int] = (32, 64, 128),
        input_skip: bool = True,
        internal_gain_db: float = 30.0,
        neutral_gate: bool = False,
        gate_width: float = 0.1,
        sample_rate: int = SAMPLE_RATE,
    ):
        super().__init__()
        if num_blocks < 1 or kernel_size < 1 or channels < 1:
            raise ValueError(
                f"num_blocks, kernel_size and channels must be positive, got {num_blocks}, {kernel_size}, {channels}"
            )
        if dilations is None:
            dilations = [dilation_growth ** (n % dilation_cycle) for n in range(num_blocks)]
        if len(dilations) != num_blocks or any(d < 1 for d in dilations):
            raise ValueError(f"need {num_blocks} positive dilations, got {list(dilations)}")
        if neutral_gate and (num_params != len(TCN_PARAMETERS) or not input_skip):
            raise ValueError(
                f"neutral_gate needs the {len(TCN_PARAMETERS)} effect parameters and input_skip, "
                f"got num_params={num_params}, input_skip={input_skip}"
            )
        if gate_width <= 0:
            raise ValueError(f"gate_width must be positive, got {gate_width}")
        self.num_params = num_params
        self.neutral_gate = neutral_gate
        self.gate_width = gate_width
        #: Run the plain ``nn`` modules instead of the fast path (same numbers; for tests).
        self.reference = False
        self.sample_rate = sample_rate
        self.input_skip = input_skip
        self.internal_gain = 10.0 ** (internal_gain_db / 20.0)
        self.dilations = [int(d) for d in dilations]

        layers: list[nn.Module] = []
        width = num_params
        for hidden in cond_dims:
            layers += [nn.Linear(width, hidden), nn.PReLU()]
            width = hidden
        self.cond = nn.Sequential(*layers)
        self.blocks = nn.ModuleList(
            TCNBlock(1 if n == 0 else channels, channels, kernel_size, d, width)
            for n, d in enumerate(self.dilations)
        )
        self.output = nn.Conv1d(channels, 1, 1)
        if input_skip:
            # The skip carries the dry signal; the network starts silent beside it.
            nn.init.zeros_(self.output.weight)
            nn.init.zeros_(self.output.bias)

    @property
    def receptive_field(self) -> int:
        """Input samples that influence one output sample."""
        return 1 + sum(block.context for block in self.blocks)

    @property
    def macs_per_sample(self) -> int:
        """Multiply-accumulates per output sample (convolutions and FiLM; the MLP runs once)."""
        total = 0
        for block in self.blocks:
            cin, cout = block.conv.in_channels, block.conv.out_channels
            total += block.kernel_size * cin * cout + 3 * cout
            if not isinstance(block.residual, nn.Identity):
                total += cin * cout
        return total + self.output.in_channels

    def forward(self, audio: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        if audio.dim() != 3 or audio.shape[1] != 1:
            raise ValueError(
                f"TCN expects mono audio (batch, 1, samples), got {tuple(audio.shape)}"
            )
        if params.shape != (audio.shape[0], self.num_params):
            raise ValueError(
                f"expected params ({audio.shape[0]}, {self.num_params}), got {tuple(params.shape)}"
            )
        cond = self.cond(params)
        x = audio * self.internal_gain
        for block in self.blocks:
            x = block.forward_reference(x, cond) if self.reference else block(x, cond)
        out = self.output(x) / self.internal_gain
        if self.neutral_gate:
            out = out * self.gate(params).view(-1, 1, 1)
        return out + audio if self.input_skip else out

    def gate(self, params: torch.Tensor) -> torch.Tensor:
        """``(batch,)`` weight of the correction: 0 at neutral settings, towards 1 beyond."""
        activity = effect_activity(params).sum(dim=-1)
        return torch.tanh(activity / self.gate_width)

"""Differentiable channel-strip effects that compose like pedalboard's plugins.

Every effect is an ``nn.Module`` with one contract, ``forward(audio, params)``:
``audio`` is ``(batch, channels, samples)`` and ``params`` is ``(batch, P)`` in the real
units of :data:`dmc.effects.params.CHANNEL_STRIP`, laid out as the effect's
``parameter_names``. A :class:`Chain` is a list of effects in series whose
``parameter_names`` are its members' names in order, so one strip vector drives the
whole chain, and a chain can be indexed, iterated, appended to and nested.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import nn

from dmc import SAMPLE_RATE, dsp
from dmc.effects.params import TCN_PARAMETERS

#: The console's effect back-ends: the paper's neural proxy, or the exact DSP copy.
EFFECTS = ("tcn", "dsp")


class Effect(nn.Module):
    """Base class: an effect names the strip parameters it reads, in order."""

    parameter_names: tuple[str, ...] = ()

    def forward(
        self, audio: torch.Tensor, params: torch.Tensor
    ) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def extra_repr(self) -> str:
        return f"parameters={list(self.parameter_names)}"


class Gain(Effect):
    """Multiply by ``10 ** (db / 20)``; ``parameter`` names the dB control (``gain_db``, ``fader_db``)."""

    def __init__(self, parameter: str = "gain_db"):
        super().__init__()
        if not parameter.endswith("_db"):
            raise ValueError(
                f"a gain parameter is in dB and its name ends in _db, got {parameter!r}"
            )
        self.parameter_names = (parameter,)

    def forward(self, audio: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        return audio * torch.pow(10.0, params[:, :1, None] / 20.0)


class Pan(Effect):
    """Constant-power pan of mono to stereo: theta = pan * pi/2, L = cos, R = sin.

    ``pan`` is 0 for hard left, 0.5 for centre (-3 dB each side) and 1 for hard right,
    the law of :func:`dmc.effects.chain.constant_power_pan`.
    """

    parameter_names = ("pan",)

    def forward(self, audio: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        if audio.shape[1] != 1:
            raise ValueError(f"Pan takes mono audio (batch, 1, samples), got {tuple(audio.shape)}")
        theta = params[:, :1, None] * (math.pi / 2)
        return torch.cat([torch.cos(theta) * audio, torch.sin(theta) * audio], dim=1)


class NeuralEffects(Effect):
    """EQ -> compressor -> reverb emulated by a pre-trained TCN (the transformation network).

    Args:
        tcn: a :class:`dmc.nn.tcn.TCN` conditioned on the 22 normalised :data:`TCN_PARAMETERS`.
        trainable: fine-tune the TCN with the console (True) or keep it frozen (False).
            Either way its BatchNorm statistics stay those of pre-training.
    """

    parameter_names = TCN_PARAMETERS.names

    #: Pass audio through untouched (a training-time switch, see ``--tcn-warmup-steps``).
    bypass = False

    def __init__(self, tcn: nn.Module, trainable: bool = False):
        super().__init__()
        if tcn.num_params != len(TCN_PARAMETERS):
            raise ValueError(
                f"the TCN takes {tcn.num_params} parameters, the strip has {len(TCN_PARAMETERS)}"
            )
        self.tcn = tcn
        self.trainable = trainable
        self.tcn.requires_grad_(trainable)
        self.tcn.eval()

    def train(self, mode: bool = True) -> NeuralEffects:
        super().train(mode)
        self.tcn.eval()  # frozen normalisation statistics, and deterministic output
        return self

    def forward(self, audio: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        if self.bypass:
            return audio
        normalised = TCN_PARAMETERS.normalize(params).clamp(0.0, 1.0)
        return self.tcn(audio, normalised.to(audio.dtype))


class DSPEffects(Effect):
    """EQ -> compressor -> reverb computed exactly, as pedalboard computes them (:mod:`dmc.dsp`).

    The alternative to :class:`NeuralEffects`: no proxy error, exact gradients for every
    setting, and no weights. Works at any ``sample_rate``.

    Args:
        sample_rate (int): rate of the audio it processes (Hz). Default: 44100.
    """

    parameter_names = TCN_PARAMETERS.names

    def __init__(self, sample_rate: int = SAMPLE_RATE):
        super().__init__()
        self.sample_rate = int(sample_rate)

    def forward(self, audio: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        if audio.shape[1] != 1:
            raise ValueError(
                f"DSPEffects takes mono audio (batch, 1, samples), got {tuple(audio.shape)}"
            )
        return dsp.process(audio[:, 0], params, self.sample_rate).unsqueeze(1)

    def extra_repr(self) -> str:
        return f"sample_rate={self.sample_rate}"


class Chain(Effect):
    """Effects in series; behaves like a list (index, iterate, append, nest).

    Args:
        effects: the effects in processing order. Their parameter names must be unique.
    """

    def __init__(self, effects: Iterable[Effect] = ()):
        super().__init__()
        self.effects = nn.ModuleList()
        for effect in effects:
            self.append(effect)

    @property
    def parameter_names(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(name for effect in self.effects for name in effect.parameter_names)

    def append(self, effect: Effect) -> None:
        clash = set(effect.parameter_names) & set(self.parameter_names)
        if clash:
            raise ValueError(
                f"parameter(s) {sorted(clash)} already controlled by another effect in this chain"
            )
        self.effects.append(effect)

    def __len__(self) -> int:
        return len(self.effects)

    def __iter__(self):
        return iter(self.effects)

    def __getitem__(self, index: int) -> Effect:
        return self.effects[index]

    def forward(self, audio: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        if params.shape[-1] != len(self.parameter_names):
            raise ValueError(
                f"chain takes {len(self.parameter_names)} parameters, got {params.shape[-1]}"
            )
        offset = 0
        for effect in self.effects:
            width = len(effect.parameter_names)
            audio = effect(audio, params[:, offset : offset + width])
            offset += width
        return audio


def channel_strip(
    task: str,
    tcn: nn.Module | None = None,
    trainable_tcn: bool = False,
    effects: str = "tcn",
    sample_rate: int = SAMPLE_RATE,
) -> Chain:
    """The console's per-track strip for a task and effect back-end.

    With the TCN (``effects="tcn"``): ``drums`` is gain -> pan (the paper's ENST "basic
    mixing"); ``full`` is gain -> TCN (EQ, compressor, reverb) -> fader -> pan and needs
    ``tcn``. With the exact effects (``effects="dsp"``) every task gets the whole strip,
    gain -> EQ -> compressor -> reverb -> fader -> pan, laid out as
    :data:`dmc.effects.params.CHANNEL_STRIP`.
    """
    if effects not in EFFECTS:
        raise ValueError(f"unknown effects {effects!r}; choose one of {', '.join(EFFECTS)}")
    if task not in ("drums", "full"):
        raise ValueError(f"unknown task {task!r}; choose drums or full")
    if effects == "dsp":
        section: Effect = DSPEffects(sample_rate)
    elif task == "drums":
        return Chain([Gain("gain_db"), Pan()])
    elif tcn is None:
        raise ValueError("the full task needs a transformation network (tcn)")
    else:
        section = NeuralEffects(tcn, trainable_tcn)
    return Chain([Gain("gain_db"), section, Gain("fader_db"), Pan()])

"""The parameter space of one channel strip, in real units.

The console predicts every parameter in [0, 1] (a sigmoid); this module is the one
place that turns those numbers into decibels, hertz and milliseconds and back. Ranges
follow the author's random mixing console (pymixconsole) where the reference notes
give them, narrowed to mixing-sane values where a full range is useless for a mix
(EQ gains of +-12 dB rather than +-24 dB; a room size the TCN's receptive field can
still emulate). Every choice is documented in ``docs/model.md``.

Frequencies, Q, ratio and times are mapped logarithmically, so equal steps of the
normalised value are equal musical steps.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class Parameter:
    """One control of the channel strip.

    Args:
        name: unit-suffixed name (``threshold_db``, ``attack_ms``); unitless controls stay plain.
        minimum, maximum: the range in real units.
        default: the neutral setting (the effect does nothing, or the usual value).
        group: the effect it belongs to (``gain``, ``eq``, ``compressor``, ``reverb``, ``fader``, ``pan``).
        log: map the normalised value logarithmically (needs a positive range).
        description: what it does, for humans.
    """

    name: str
    minimum: float
    maximum: float
    default: float
    group: str
    log: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        if not self.minimum < self.maximum:
            raise ValueError(
                f"{self.name}: minimum {self.minimum} must be below maximum {self.maximum}"
            )
        if not self.minimum <= self.default <= self.maximum:
            raise ValueError(
                f"{self.name}: default {self.default} outside [{self.minimum}, {self.maximum}]"
            )
        if self.log and self.minimum <= 0:
            raise ValueError(f"{self.name}: a log-mapped range must be positive")

    def normalize(self, value):
        """Real value -> [0, 1]. Works on floats, NumPy arrays and tensors."""
        if self.log:
            return (_log(value) - math.log(self.minimum)) / (
                math.log(self.maximum) - math.log(self.minimum)
            )
        return (value - self.minimum) / (self.maximum - self.minimum)

    def denormalize(self, x):
        """[0, 1] -> real value. Works on floats, NumPy arrays and tensors."""
        if self.log:
            return _exp(
                math.log(self.minimum) + x * (math.log(self.maximum) - math.log(self.minimum))
            )
        return self.minimum + x * (self.maximum - self.minimum)


def _log(x):
    return torch.log(x) if isinstance(x, torch.Tensor) else np.log(x)


def _exp(x):
    return torch.exp(x) if isinstance(x, torch.Tensor) else np.exp(x)


class ParameterSpace:
    """An ordered set of :class:`Parameter` s: the layout of a parameter vector.

    Vectors are ``(..., len(space))`` arrays or tensors in this order; the same space
    converts them to real units, samples them and reads/writes human-readable dicts.
    """

    def __init__(self, parameters: Sequence[Parameter]):
        self.parameters: tuple[Parameter, ...] = tuple(parameters)
        self._index = {p.name: i for i, p in enumerate(self.parameters)}
        if len(self._index) != len(self.parameters):
            raise ValueError("parameter names must be unique")

    def __len__(self) -> int:
        return len(self.parameters)

    def __iter__(self):
        return iter(self.parameters)

    def __getitem__(self, name: str) -> Parameter:
        return self.parameters[self.index(name)]

    def __contains__(self, name: str) -> bool:
        return name in self._index

    def __repr__(self) -> str:
        return f"ParameterSpace({list(self.names)})"

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    @property
    def groups(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.group for p in self.parameters))

    def index(self, name: str) -> int:
        try:
            return self._index[name]
        except KeyError:
            raise KeyError(f"unknown parameter {name!r}; known: {', '.join(self.names)}") from None

    def subset(self, names: Iterable[str]) -> ParameterSpace:
        return ParameterSpace([self[name] for name in names])

    def select(self, values, names: Iterable[str]):
        """The columns of ``values`` (laid out in this space) named ``names``."""
        return values[..., [self.index(n) for n in names]]

    # ------------------------------------------------------------------ conversions
    def denormalize(self, x):
        """``(..., P)`` in [0, 1] -> real units, same type as the input."""
        columns = [p.denormalize(x[..., i]) for i, p in enumerate(self.parameters)]
        return (
            torch.stack(columns, dim=-1)
            if isinstance(x, torch.Tensor)
            else np.stack(columns, axis=-1)
        )

    def normalize(self, values):
        """``(..., P)`` real units -> [0, 1], same type as the input."""
        columns = [p.normalize(values[..., i]) for i, p in enumerate(self.parameters)]
        return (
            torch.stack(columns, dim=-1)
            if isinstance(values, torch.Tensor)
            else np.stack(columns, axis=-1)
        )

    def defaults(self) -> np.ndarray:
        """The neutral setting in real units, ``(P,)``."""
        return np.array([p.default for p in self.parameters], dtype=np.float64)

    def defaults_normalized(self) -> np.ndarray:
        return np.asarray(self.normalize(self.defaults()), dtype=np.float32)

    # ------------------------------------------------------------------ sampling
    def sample(
        self,
        rng: np.random.Generator,
        count: int,
        bypass_probability: Mapping[str, float] | None = None,
    ) -> np.ndarray:
        """Random normalised settings ``(count, P)``, uniform in the normalised range.

        Args:
            bypass_probability: per effect group, the chance that the whole group is left
                at its defaults (so a model also sees an EQ that is off, an uncompressed
                signal, a dry channel). Default: no bypass.
        """
        x = rng.random((count, len(self))).astype(np.float32)
        if bypass_probability:
            neutral = self.defaults_normalized()
            for group, probability in bypass_probability.items():
                columns = [i for i, p in enumerate(self.parameters) if p.group == group]
                if not columns:
                    raise ValueError(
                        f"no parameter in group {group!r}; groups: {', '.join(self.groups)}"
                    )
                off = rng.random(count) < probability
                x[np.ix_(off, columns)] = neutral[columns]
        return x

    # ------------------------------------------------------------------ human-readable form
    def to_dict(self, values: Sequence[float]) -> dict[str, float]:
        """Real-unit vector ``(P,)`` -> ``{name: value}`` with plain floats."""
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        if values.shape[0] != len(self):
            raise ValueError(f"expected {len(self)} values, got {values.shape[0]}")
        return {p.name: float(v) for p, v in zip(self.parameters, values)}

    def from_dict(self, settings: Mapping[str, float], fill_defaults: bool = True) -> np.ndarray:
        """``{name: value}`` -> real-unit vector ``(P,)``, validating names and ranges.

        Raises:
            ValueError: an unknown name, a missing one (unless ``fill_defaults``), a
                non-number or a value outside its range; the message names it.
        """
        unknown = sorted(set(settings) - set(self.names))
        if unknown:
            raise ValueError(
                f"unknown parameter(s) {', '.join(unknown)}; known: {', '.join(self.names)}"
            )
        out = self.defaults()
        for i, p in enumerate(self.parameters):
            if p.name not in settings:
                if not fill_defaults:
                    raise ValueError(f"missing parameter {p.name}")
                continue
            value = settings[p.name]
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
            ):
                raise ValueError(f"{p.name} must be a finite number, got {value!r}")
            tolerance = 1e-6 * (p.maximum - p.minimum)
            if not p.minimum - tolerance <= value <= p.maximum + tolerance:
                raise ValueError(f"{p.name}={value} outside its range [{p.minimum}, {p.maximum}]")
            out[i] = min(max(float(value), p.minimum), p.maximum)
        return out


def _eq_band(n: int, low_hz: float, high_hz: float, default_hz: float) -> list[Parameter]:
    prefix = f"eq_band{n}"
    return [
        Parameter(
            f"{prefix}_gain_db", -12.0, 12.0, 0.0, "eq", description=f"peaking band {n} gain"
        ),
        Parameter(
            f"{prefix}_freq_hz",
            low_hz,
            high_hz,
            default_hz,
            "eq",
            log=True,
            description=f"peaking band {n} centre frequency",
        ),
        Parameter(
            f"{prefix}_q",
            0.3,
            6.0,
            0.7,
            "eq",
            log=True,
            description=f"peaking band {n} quality factor",
        ),
    ]


#: The full channel strip in processing order:
#: gain -> EQ -> compressor -> reverb -> fader -> pan.
CHANNEL_STRIP = ParameterSpace(
    [
        Parameter("gain_db", -24.0, 24.0, 0.0, "gain", description="input trim before the effects"),
        Parameter("eq_low_shelf_gain_db", -12.0, 12.0, 0.0, "eq", description="low shelf gain"),
        Parameter(
            "eq_low_shelf_freq_hz",
            30.0,
            600.0,
            100.0,
            "eq",
            log=True,
            description="low shelf corner",
        ),
        *_eq_band(1, 200.0, 5000.0, 500.0),
        *_eq_band(2, 500.0, 6000.0, 1500.0),
        *_eq_band(3, 2000.0, 10000.0, 4000.0),
        Parameter("eq_high_shelf_gain_db", -12.0, 12.0, 0.0, "eq", description="high shelf gain"),
        Parameter(
            "eq_high_shelf_freq_hz",
            3000.0,
            16000.0,
            8000.0,
            "eq",
            log=True,
            description="high shelf corner",
        ),
        Parameter(
            "comp_threshold_db", -40.0, 0.0, 0.0, "compressor", description="compressor threshold"
        ),
        Parameter(
            "comp_ratio",
            1.0,
            10.0,
            1.0,
            "compressor",
            log=True,
            description="compression ratio (1 = off)",
        ),
        Parameter(
            "comp_attack_ms", 0.3, 100.0, 10.0, "compressor", log=True, description="attack time"
        ),
        Parameter(
            "comp_release_ms",
            10.0,
            1000.0,
            100.0,
            "compressor",
            log=True,
            description="release time",
        ),
        Parameter(
            "comp_makeup_db",
            0.0,
            12.0,
            0.0,
            "compressor",
            description="make-up gain after compression",
        ),
        Parameter(
            "reverb_room_size",
            0.0,
            0.7,
            0.3,
            "reverb",
            description="room size, 0-0.7 (longer rooms outlast the TCN's receptive field)",
        ),
        Parameter(
            "reverb_damping",
            0.0,
            1.0,
            0.5,
            "reverb",
            description="high-frequency decay of the tail, 0-1",
        ),
        Parameter(
            "reverb_wet",
            0.0,
            1.0,
            0.0,
            "reverb",
            description="gain of the reverb path, 0-1 (at 1 the tail sits about 16 dB below the direct sound)",
        ),
        Parameter(
            "reverb_dry",
            0.4,
            1.0,
            1.0,
            "reverb",
            description="gain of the direct sound, 0.4-1 (1 = unity)",
        ),
        Parameter(
            "fader_db", -24.0, 12.0, 0.0, "fader", description="channel fader after the effects"
        ),
        Parameter(
            "pan", 0.0, 1.0, 0.5, "pan", description="0 = hard left, 0.5 = centre, 1 = hard right"
        ),
    ]
)

#: What the transformation network is conditioned on: EQ -> compressor -> reverb (22 values).
EFFECT_GROUPS = ("eq", "compressor", "reverb")
TCN_PARAMETERS = ParameterSpace([p for p in CHANNEL_STRIP if p.group in EFFECT_GROUPS])

#: Per effect group, the controls whose neutral values switch the effect off whatever
#: the others say: an EQ with every gain at 0 dB, a compressor at ratio 1 without
#: make-up gain, a reverb with no wet path and unity dry.
EFFECT_SWITCHES = {
    "eq": tuple(p.name for p in TCN_PARAMETERS if p.group == "eq" and p.name.endswith("gain_db")),
    "compressor": ("comp_ratio", "comp_makeup_db"),
    "reverb": ("reverb_wet", "reverb_dry"),
}


def effect_activity(normalized: torch.Tensor) -> torch.Tensor:
    """How far each effect group is from doing nothing, ``(..., 22)`` -> ``(..., 3)`` in [0, 1].

    Per group (:data:`EFFECT_GROUPS` order), the largest distance of a switch control
    (:data:`EFFECT_SWITCHES`) from its neutral value, as a fraction of the farthest it
    can go: 0 exactly when the group is off, 1 at a range end (+-12 dB, ratio 10, wet 1).
    """
    columns = []
    for group in EFFECT_GROUPS:
        distances = []
        for name in EFFECT_SWITCHES[group]:
            neutral = float(TCN_PARAMETERS[name].normalize(TCN_PARAMETERS[name].default))
            span = max(neutral, 1.0 - neutral)
            distances.append((normalized[..., TCN_PARAMETERS.index(name)] - neutral).abs() / span)
        columns.append(torch.stack(distances, dim=-1).amax(dim=-1))
    return torch.stack(columns, dim=-1)


#: The parameters the console predicts per task: the paper's ENST "basic mixing" task
#: controls gain and pan only; "full" mixing controls the whole strip.
TASK_PARAMETERS = {
    "drums": CHANNEL_STRIP.subset(["gain_db", "pan"]),
    "full": CHANNEL_STRIP,
}
TASKS = tuple(TASK_PARAMETERS)


def task_parameters(task: str) -> ParameterSpace:
    """The parameter space of a task; raises a ValueError naming an unknown task."""
    try:
        return TASK_PARAMETERS[task]
    except KeyError:
        raise ValueError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}") from None


def expand_to_strip(values: np.ndarray, space: ParameterSpace) -> np.ndarray:
    """Real-unit ``(..., len(space))`` -> full strip ``(..., len(CHANNEL_STRIP))``, defaults elsewhere."""
    values = np.asarray(values, dtype=np.float64)
    out = np.broadcast_to(
        CHANNEL_STRIP.defaults(), values.shape[:-1] + (len(CHANNEL_STRIP),)
    ).copy()
    for i, p in enumerate(space):
        out[..., CHANNEL_STRIP.index(p.name)] = values[..., i]
    return out

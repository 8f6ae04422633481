"""The rating scale: what a rater's slider spans, and the 0-1 every stored rating is on.

A listening test chooses its scale in the test config (key ``scale``, parsed by
:mod:`evaluation.design.config`): its range, the slider's step, the labels of its equal
bands (bottom up) and from where a rating counts as "at the top" (the check that at
least one condition is rated at the top). The default is the BS.1534-3 continuous
quality scale on 0-1 in steps of 0.01 with five bands, Bad to Excellent; a MUSHRA test
on 0-100 is ``{min: 0, max: 100, step: 1}``.

Whatever the scale, a stored rating is normalised to 0-1 (:meth:`RatingScale.normalise`:
the bottom of the scale is 0, the top 1), so the ratings contract
(:mod:`dmc.contracts.ratings`), the exports, the screening thresholds and every
statistic stay the same; on the default scale normalising changes no value at all.
The figures draw the bands of the normalised scale (:data:`QUALITY_BANDS` unless told).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

#: The five equal bands of the BS.1534-3 continuous quality scale, bottom up.
QUALITY_BANDS = ("Bad", "Poor", "Fair", "Good", "Excellent")
#: Most band labels a scale may have (each needs room beside the sliders).
MAX_BANDS = 10
#: Most slider positions a scale may have (range / step).
MAX_STEPS = 10_000


def _plain(value: float) -> str:
    """``0``, ``100``, ``0.5``: a number as a person writes it."""
    return f"{value:g}"


@dataclass(frozen=True)
class RatingScale:
    """A rating scale (see the module docstring); the defaults are BS.1534-3 on 0-1.

    Attributes:
        minimum, maximum: the ends of the slider, in the scale's own units.
        step: the slider's step; a whole number of steps spans the range.
        bands: labels of equal bands from the bottom up (empty: no band labels).
        top: a rating at or above this counts as "at the top" (``None``: the maximum).

    Raises:
        ValueError: an empty or reversed range, a step that does not divide it, a top
            outside it, or more than :data:`MAX_BANDS` bands; the message names the key.
    """

    minimum: float = 0.0
    maximum: float = 1.0
    step: float = 0.01
    bands: tuple[str, ...] = field(default=QUALITY_BANDS)
    top: float | None = None

    def __post_init__(self) -> None:
        for name in ("minimum", "maximum", "step"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"scale.{_KEYS[name]} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"scale.{_KEYS[name]} must be finite, got {value!r}")
        if self.maximum <= self.minimum:
            raise ValueError(
                f"scale.max ({_plain(self.maximum)}) must be above scale.min "
                f"({_plain(self.minimum)})"
            )
        span = self.maximum - self.minimum
        steps = span / self.step if self.step > 0 else 0.0
        if self.step <= 0 or steps > MAX_STEPS or abs(steps - round(steps)) > 1e-6 * steps:
            raise ValueError(
                f"scale.step must divide the range {_plain(self.minimum)}-{_plain(self.maximum)} "
                f"into at most {MAX_STEPS} whole steps, got {_plain(self.step)}"
            )
        if self.top is not None:
            if isinstance(self.top, bool) or not isinstance(self.top, (int, float)):
                raise ValueError(f"scale.top must be a number, got {self.top!r}")
            if not self.minimum < self.top <= self.maximum:
                raise ValueError(
                    f"scale.top must lie above scale.min and at most scale.max "
                    f"({_plain(self.minimum)}-{_plain(self.maximum)}), got {_plain(self.top)}"
                )
        if not isinstance(self.bands, tuple) or not all(
            isinstance(b, str) and b.strip() for b in self.bands
        ):
            raise ValueError(f"scale.bands must be a list of labels, got {self.bands!r}")
        if len(self.bands) > MAX_BANDS:
            raise ValueError(
                f"scale.bands has {len(self.bands)} labels; at most {MAX_BANDS} fit beside "
                "the sliders"
            )

    # ------------------------------------------------------------------ values
    @property
    def top_value(self) -> float:
        """Where "at the top" starts, in the scale's units."""
        return self.maximum if self.top is None else float(self.top)

    @property
    def decimals(self) -> int:
        """Decimal places of a value on this scale (those of the step: 0.01 -> 2, 1 -> 0)."""
        for places in range(7):
            if abs(round(self.step, places) - self.step) <= 1e-9 * max(1.0, abs(self.step)):
                return places
        return 6

    def normalise(self, value: float) -> float:
        """``value`` on 0-1 (the bottom of the scale 0, its top 1): what is stored.

        Exact on the default scale (``(x - 0) / 1 == x``), so default ratings keep every bit.
        """
        return (float(value) - self.minimum) / (self.maximum - self.minimum)

    def denormalise(self, fraction: float) -> float:
        """The value on this scale of a normalised rating (the inverse of :meth:`normalise`)."""
        return self.minimum + float(fraction) * (self.maximum - self.minimum)

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies on the scale (its ends included)."""
        return self.minimum <= value <= self.maximum

    def at_top(self, value: float) -> bool:
        """Whether a rating counts as "at the top" (within float rounding of :attr:`top_value`)."""
        return value >= self.top_value - 1e-9 * (self.maximum - self.minimum)

    def format(self, value: float) -> str:
        """``value`` with the step's decimals, as the slider shows it (``1.00``, ``100``)."""
        return f"{value:.{self.decimals}f}"

    def plain(self, value: float) -> str:
        """``value`` as a person writes it (``0``, ``1``, ``100``), for texts."""
        return _plain(value)

    def to_json(self) -> dict[str, Any]:
        """What the trial page needs: the range, step, decimals, bands and the top."""
        return {
            "min": self.minimum,
            "max": self.maximum,
            "step": self.step,
            "decimals": self.decimals,
            "bands": list(self.bands),
            "top": self.top_value,
        }


#: The config keys of the fields, for messages.
_KEYS = {"minimum": "min", "maximum": "max", "step": "step"}

#: BS.1534-3's continuous quality scale on 0-1, in steps of 0.01, five bands.
DEFAULT_SCALE = RatingScale()

"""Conditions made from the target mix itself: the hidden reference and the BS.1534-3 anchors.

ITU-R BS.1534-3 (MUSHRA) asks for two anchors among the rated conditions: the
reference low-passed at 3.5 kHz (low anchor) and at 7 kHz (mid anchor). They calibrate
the scale and let the analysis screen out listeners who cannot hear an obvious loss of
bandwidth. They are rendered here, at whatever sample rate the passage has, so the web
app only ever plays files.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from dmc.contracts.conditions import LOW_ANCHOR, MID_ANCHOR, REFERENCE
from dmc.effects.params import TASKS
from dmc.mixers.base import MixResult
from dmc.mixers.spec import ON_REQUEST, MethodSpec

#: The anchors (:data:`dmc.contracts.conditions.ANCHORS`) and their cut-off frequencies (Hz).
ANCHOR_CUTOFFS_HZ = {LOW_ANCHOR: 3500.0, MID_ANCHOR: 7000.0}
#: Butterworth order of one pass; the filter runs forwards and backwards (zero phase),
#: so the slope is 2 x 8 x 6 = 96 dB per octave and the response is -6 dB at the cut-off.
FILTER_ORDER = 8


def lowpass(audio: np.ndarray, sample_rate: int, cutoff_hz: float) -> np.ndarray:
    """Zero-phase low-pass of ``(channels, samples)`` at ``cutoff_hz``.

    Zero phase keeps the anchor time-aligned with the other conditions, so switching
    between them in the listening test does not shift transients. A cut-off at or above
    the Nyquist frequency leaves the signal unchanged: it is already band-limited below it.

    Raises:
        ValueError: a non-positive cut-off or sample rate.
    """
    if not sample_rate > 0:
        raise ValueError(f"sample_rate must be positive (Hz), got {sample_rate!r}")
    if not cutoff_hz > 0:
        raise ValueError(f"cutoff_hz must be positive, got {cutoff_hz!r}")
    audio = np.atleast_2d(np.asarray(audio, dtype=np.float32))
    if cutoff_hz >= sample_rate / 2:
        return audio.copy()
    sos = signal.butter(FILTER_ORDER, cutoff_hz, btype="low", fs=sample_rate, output="sos")
    padlen = min(audio.shape[-1] - 1, 3 * sample_rate // 100)
    return signal.sosfiltfilt(sos, audio, axis=-1, padlen=max(padlen, 0)).astype(np.float32)


class ReferenceCondition:
    """A condition rendered from the target mix: the target itself or a low-passed anchor.

    Unlike a :class:`dmc.mixers.base.Mixer` it reads the target, not the tracks.

    Args:
        name: ``target``, ``anchor_3k5`` or ``anchor_7k``.
    """

    def __init__(self, name: str):
        if name != REFERENCE and name not in ANCHOR_CUTOFFS_HZ:
            raise ValueError(
                f"unknown reference condition {name!r}; choose {REFERENCE}, "
                f"{', '.join(ANCHOR_CUTOFFS_HZ)}"
            )
        self.name = name
        self.cutoff_hz = ANCHOR_CUTOFFS_HZ.get(name)

    def __repr__(self) -> str:
        return f"ReferenceCondition({self.name!r})"

    def render(self, target: np.ndarray, sample_rate: int) -> MixResult:
        """The condition's audio from the stereo target ``(2, samples)``."""
        target = np.asarray(target, dtype=np.float32)
        audio = (
            target.copy()
            if self.cutoff_hz is None
            else lowpass(target, sample_rate, self.cutoff_hz)
        )
        return MixResult(audio=audio, params=None)


METHODS = [
    MethodSpec(REFERENCE, TASKS, "target", lambda request: ReferenceCondition(REFERENCE)),
    *(
        MethodSpec(
            name,
            TASKS,
            "target",
            lambda request, name=name: ReferenceCondition(name),
            default=ON_REQUEST,
        )
        for name in ANCHOR_CUTOFFS_HZ
    ),
]

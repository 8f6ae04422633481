"""Stereo balance when the two orientations of an estimate fit the target's panning equally.

``stereo_image_metrics`` measures every error in the orientation (as it is, or with its
channels swapped) whose panning is closer to the target's, and on an exact tie in the
one whose broadband lean is closer. The other tests make ties only with centred
estimates, whose two orientations lean alike, so choosing the worse one on a tie passed
them. Here the tie is exact and the leans differ: the estimate puts a 500 Hz part to the
right and keeps a 4 kHz part centred; the target keeps the 500 Hz part centred and puts
the 4 kHz part to the left. Each side's off-centre part sits where the other holds its
part in the middle, so swapping the estimate's channels changes no panning error, yet it
leans +3.98 dB as it is and -3.98 dB swapped against the target's -2.04 dB: 1.94 dB
apart in the closer orientation, 6.02 dB in the other.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from dmc.metrics import stereo_image_metrics

LOW, HIGH = 500.0, 4000.0


def two_parts(rate: int, low_lr, high_lr, seconds: float = 2.0) -> np.ndarray:
    """``(2, samples)``: a LOW Hz and a HIGH Hz sine with the given (left, right) amplitudes."""
    t = np.arange(round(seconds * rate)) / rate
    low, high = np.sin(2 * np.pi * LOW * t), np.sin(2 * np.pi * HIGH * t)
    return np.stack(
        [low_lr[0] * low + high_lr[0] * high, low_lr[1] * low + high_lr[1] * high]
    ).astype(np.float32)


def lean_db(low_lr, high_lr) -> float:
    """R-L level (dB) of :func:`two_parts`, from the amplitudes."""
    right, left = low_lr[1] ** 2 + high_lr[1] ** 2, low_lr[0] ** 2 + high_lr[0] ** 2
    return 10 * math.log10(right / left)


@pytest.mark.parametrize("rate", [44100, 48000])
def test_a_tie_in_panning_is_measured_in_the_orientation_that_leans_like_the_target(rate):
    estimate_parts, target_parts = ((0.1, 0.2), (0.1, 0.1)), ((0.1, 0.1), (0.1, 0.05))
    estimate, target = two_parts(rate, *estimate_parts), two_parts(rate, *target_parts)
    est_lean, tgt_lean = lean_db(*estimate_parts), lean_db(*target_parts)
    assert (round(est_lean, 2), round(tgt_lean, 2)) == (3.98, -2.04)
    as_is = stereo_image_metrics(estimate, target, rate)
    swapped = stereo_image_metrics(estimate[::-1], target, rate)
    # a true tie: both orientations fit the panning exactly as well
    assert as_is["panning_error_mi"] == pytest.approx(swapped["panning_error_mi"], abs=1e-9)
    assert as_is["panning_error_mi"] > 0.1  # and neither fits it well
    # the lean is reported as it is...
    assert as_is["rl_level_db"] == pytest.approx(est_lean, abs=0.05)
    assert swapped["rl_level_db"] == pytest.approx(-est_lean, abs=0.05)
    # ...and the balance error in the orientation closer to the target's lean: 1.94, not 6.02
    closer = abs(-est_lean - tgt_lean)
    for metrics in (as_is, swapped):
        assert metrics["balance_error_db"] == pytest.approx(closer, abs=0.05)
        assert metrics["balance_error_db_any_view"] == pytest.approx(closer, abs=0.05)

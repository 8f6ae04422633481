"""Loudness at every sample rate a mix may come at, against EBU Tech 3341 case 1.

Case 1: a 1 kHz sine at -23 dBFS on both channels reads -23.0 LUFS (+-0.1). The other
loudness tests run at 44.1 kHz or re-measure with the same meter, so a BS.1770 meter
built for 44.1 kHz whatever the audio's rate would pass them; it reads this sine -20.7
LUFS at 22.05 kHz, -23.2 at 48 kHz and -23.7 at 96 kHz. Normalising is checked by the
sine's amplitude, which no loudness meter computes. (The render and import paths, where
a target is applied to whole mixes: ``tests/dmc/render/test_import_rates.py``.)
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from dmc.audio import integrated_loudness, normalize_loudness

RATES = (22050, 44100, 48000, 96000)


def sine(rate: int, dbfs: float, seconds: float = 5.0) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return np.repeat((10 ** (dbfs / 20) * np.sin(2 * np.pi * 1000 * t))[None], 2, axis=0)


def sine_dbfs(audio: np.ndarray) -> float:
    """The peak level (dBFS) of a sine, from its mean square."""
    return 10 * math.log10(2 * np.mean(np.asarray(audio, dtype=np.float64) ** 2))


@pytest.mark.parametrize("rate", RATES)
def test_case_1_reads_minus_23_lufs_at_every_rate(rate):
    assert integrated_loudness(sine(rate, -23.0), rate) == pytest.approx(-23.0, abs=0.1)
    # the meter follows the level: 10 dB down reads 10 LU down
    assert integrated_loudness(sine(rate, -33.0), rate) == pytest.approx(-33.0, abs=0.1)


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("target_lufs", [-23.0, -16.0])
def test_normalising_a_sine_puts_it_at_the_target_in_dbfs(rate, target_lufs):
    out, report = normalize_loudness(sine(rate, -30.0), rate, target_lufs)
    assert sine_dbfs(out) == pytest.approx(target_lufs, abs=0.1)
    assert report.gain_db == pytest.approx(target_lufs + 30.0, abs=0.1)

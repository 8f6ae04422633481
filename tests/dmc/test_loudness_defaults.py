"""The loudness defaults every caller relies on without naming them: -23 LUFS, -1 dBTP.

Several callers (the transform table, the web app's volume page, scripts) normalise
with ``dmc.audio.normalize_loudness`` and no explicit target; mutation testing
(``benchmarks/bench_mutation.py``) found that a default of -22 LUFS passed every test.
"""

from __future__ import annotations

import pytest

from dmc import audio
from dmc.contracts.policies import LoudnessPolicy

SR = 44100


def test_normalize_loudness_defaults_to_minus_23_lufs_and_a_minus_1_dbtp_ceiling(make_drums):
    drums = make_drums(4.0, SR, seed=2)
    out, report = audio.normalize_loudness(drums, SR)
    assert audio.integrated_loudness(out, SR) == pytest.approx(-23.0, abs=0.05)
    assert report.output_lufs == pytest.approx(-23.0, abs=0.05)
    spiky = drums.copy()
    spiky[SR : SR + 32] += 2.0  # one click: about +13 dBTP at -23 LUFS
    _, unlimited = audio.normalize_loudness(spiky, SR)
    assert unlimited.true_peak_dbtp > -1.0 and not unlimited.limited
    limited, report = audio.normalize_loudness(spiky, SR, peak_policy="limit")
    assert report.limited and audio.true_peak_db(limited, SR) <= -1.0
    assert audio.integrated_loudness(limited, SR) == pytest.approx(-23.0, abs=0.1)
    assert (LoudnessPolicy().target_lufs, LoudnessPolicy().max_true_peak_dbtp) == (-23.0, -1.0)

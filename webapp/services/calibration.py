"""What the volume page plays: music the rater will never rate, or a generated excerpt.

Setting the level on a scored trial's hidden reference would let the rater hear it,
unlabelled but first, before rating it, and every rater would meet it in the same way.
So the volume page plays the mix of a passage that is not in this rater's plan (neither
scored nor training), chosen by the rater's seed, at the test's level. When every rater
rates every passage there is no such passage, and the page plays a generated
calibration excerpt instead: pink noise (numpy, fixed seed) at the loudness of the
test's reference mixes, encoded once per loudness as MP3.
"""

from __future__ import annotations

import io
import statistics
from functools import lru_cache

import numpy as np
import soundfile as sf

from dmc.audio import normalize_loudness
from dmc.contracts.conditions import REFERENCE

SAMPLE_RATE = 44100
NOISE_S = 8.0
SEED = 1534


def unrated_file(progress, study) -> str | None:
    """The file of a passage outside this rater's plan (its reference mix), or ``None``."""
    mine = {(a.task, a.passage_id) for a in progress.assignments}
    spare = sorted(
        {(t.task, t.passage_id): t for t in study.design.trials}.items(),
        key=lambda item: item[0],
    )
    spare = [trial for key, trial in spare if key not in mine]
    if not spare:
        return None
    trial = spare[(progress.rater.seed or 0) % len(spare)]
    method = REFERENCE if REFERENCE in trial.files else sorted(trial.files)[0]
    return trial.files[method]


def reference_loudness(study) -> float:
    """The median loudness (LUFS) of the test's reference mixes, else the test's loudness policy."""
    values = [
        c.loudness_lufs
        for passages in study.manifest.tasks.values()
        for passage in passages
        for c in passage.conditions
        if c.method == REFERENCE and np.isfinite(c.loudness_lufs)
    ]
    # no measured reference (a test without one): the level the render's policy set
    return round(statistics.median(values), 1) if values else study.manifest.loudness.target_lufs


@lru_cache(maxsize=4)
def pink_noise_mp3(loudness_lufs: float) -> bytes:
    """Stereo pink noise (independent channels) at ``loudness_lufs``, as MP3 bytes."""
    rng = np.random.default_rng(SEED)
    n = int(NOISE_S * SAMPLE_RATE)
    spectrum = np.fft.rfft(rng.standard_normal((2, n)), axis=1)
    frequencies = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    spectrum[:, 1:] /= np.sqrt(frequencies[1:])  # 1/f power: -3 dB per octave
    spectrum[:, frequencies < 20] = 0
    noise = np.fft.irfft(spectrum, n, axis=1)
    fade = int(0.05 * SAMPLE_RATE)
    ramp = np.linspace(0.0, 1.0, fade)
    noise[:, :fade] *= ramp
    noise[:, -fade:] *= ramp[::-1]
    audio, _ = normalize_loudness(noise.astype(np.float32), SAMPLE_RATE, loudness_lufs)
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(audio, -1, 1).T, SAMPLE_RATE, format="MP3")
    return buffer.getvalue()

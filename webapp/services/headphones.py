"""The headphone screening: the anti-phase three-tone test of Woods et al. (2017).

Each trial plays three 200 Hz tones of one second. One is 6 dB quieter than the other
two; another is in anti-phase between the left and right channels. Over headphones the
anti-phase tone is as loud as the normal one, so the quiet tone is easy to pick; over
loudspeakers the two channels of the anti-phase tone partly cancel in the air, so it
often sounds the quietest and a loudspeaker listener picks it instead. A rater passes
with at least ``min_correct`` of ``trials`` right (5 of 6 in the original).

Everything is made here with numpy and soundfile: no downloads. The tones are the same
for everybody; only the order of the three differs per rater and trial, drawn from a
keyed hash of the rater's token, so the order cannot be guessed from the link or from
another rater's answers, and the server alone scores the answers. Every file has the
same length and format, so neither its size nor its headers tell the order.

Reference: K. J. P. Woods, M. H. Siegel, J. Traer, J. H. McDermott, "Headphone screening
to facilitate web-based auditory experiments", Attention, Perception, & Psychophysics
79, 2064-2072 (2017).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import itertools
import random
from functools import lru_cache

import numpy as np
import soundfile as sf

SAMPLE_RATE = 16000
TONE_HZ = 200.0
TONE_S = 1.0
RAMP_S = 0.1
GAP_S = 0.5
EDGE_S = 0.25
#: Level of the normal tones (dBFS peak); the quiet one is 6 dB below.
TONE_DBFS = -20.0
QUIET_DB = -6.0
#: The three kinds of tone in a trial.
NORMAL, QUIET, ANTIPHASE = "normal", "quiet", "antiphase"
#: The fixed seed of the tones' sub-audible dither (the audio is the same on every run).
SEED = 2017


def answer_key(secret: str, token: str, trials: int) -> list[tuple[str, str, str]]:
    """The order of the three tones in each trial of one rater.

    Drawn from an HMAC of the rater's token under the app's secret key, so it is fixed
    for the rater (a reload plays the same trials) and unknown to anybody without the key.
    """
    digest = hmac.new(secret.encode(), f"headphones:{token}".encode(), hashlib.sha256).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))
    orders = list(itertools.permutations((NORMAL, QUIET, ANTIPHASE)))
    return [orders[rng.randrange(len(orders))] for _ in range(trials)]


def correct_answers(key: list[tuple[str, str, str]]) -> list[int]:
    """The right answer of each trial: the position (1-3) of the quiet tone."""
    return [order.index(QUIET) + 1 for order in key]


def _tone(kind: str) -> np.ndarray:
    n = int(TONE_S * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    ramp = int(RAMP_S * SAMPLE_RATE)
    envelope = np.ones(n)
    rise = 0.5 - 0.5 * np.cos(np.pi * np.arange(ramp) / ramp)
    envelope[:ramp], envelope[-ramp:] = rise, rise[::-1]
    gain = 10 ** ((TONE_DBFS + (QUIET_DB if kind == QUIET else 0.0)) / 20)
    left = gain * envelope * np.sin(2 * np.pi * TONE_HZ * t)
    right = -left if kind == ANTIPHASE else left
    return np.stack([left, right])


@lru_cache(maxsize=8)
def trial_audio(order: tuple[str, str, str]) -> bytes:
    """One trial as 16-bit stereo WAV bytes: silence, three tones with gaps, silence.

    Every order gives a file of the same length. A sub-audible dither (about -90 dBFS,
    seeded) keeps the silences from being digital zero, as in the original stimuli.
    """
    edge = np.zeros((2, int(EDGE_S * SAMPLE_RATE)))
    gap = np.zeros((2, int(GAP_S * SAMPLE_RATE)))
    parts = [edge]
    for i, kind in enumerate(order):
        parts += [_tone(kind)] + ([gap] if i < 2 else [])
    parts.append(edge)
    audio = np.concatenate(parts, axis=1)
    audio += np.random.default_rng(SEED).normal(0, 10 ** (-90 / 20), audio.shape)
    buffer = io.BytesIO()
    sf.write(buffer, audio.T.astype(np.float32), SAMPLE_RATE, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def score(answers: list[int], key: list[tuple[str, str, str]]) -> int:
    """How many answers name the quiet tone."""
    return sum(int(a == b) for a, b in zip(answers, correct_answers(key), strict=True))

"""Tiny synthetic multitracks for smoke tests and benchmarks (``--data synthetic``).

Not a dataset to learn mixing from: each song is a few seconds of simple drum and
instrument sounds whose target mix follows a fixed per-role convention (kick loud and
centred, hi-hat right, ...) with a little per-song variation, rendered by the real
channel strip. That is enough for a console to have something learnable, so training
tests can check that a loss goes down, and it needs no files.
"""

from __future__ import annotations

import numpy as np

from dmc import SAMPLE_RATE
from dmc.effects.chain import mix as chain_mix
from dmc.multitrack import Song, Track

#: role -> (gain_db, pan) of the synthetic "engineer".
CONVENTION = {
    "kick": (3.0, 0.5),
    "snare": (0.0, 0.45),
    "hihat": (-6.0, 0.75),
    "tom": (-3.0, 0.3),
    "overhead": (-4.0, 0.6),
    "bass": (2.0, 0.5),
    "keys": (-3.0, 0.25),
    "vocals": (1.0, 0.5),
}
ROLES_BY_TASK = {
    "drums": ("kick", "snare", "hihat", "tom", "overhead"),
    "full": ("kick", "snare", "bass", "keys", "vocals"),
}


def _hits(rng, n, sample_rate, period_s, offset_s, sound):
    out = np.zeros(n, np.float32)
    step, start = int(period_s * sample_rate), int(offset_s * sample_rate)
    for position in range(start, n - sound.size, step):
        out[position : position + sound.size] += sound * rng.uniform(0.6, 1.0)
    return out


def _voice(role: str, n: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / sample_rate
    short = np.arange(int(0.2 * sample_rate)) / sample_rate
    noise = rng.standard_normal(short.size)
    if role == "kick":
        return _hits(
            rng, n, sample_rate, 0.5, 0.0, np.sin(2 * np.pi * 55 * short) * np.exp(-short * 20)
        )
    if role == "snare":
        return _hits(
            rng,
            n,
            sample_rate,
            1.0,
            0.5,
            (0.6 * noise + np.sin(2 * np.pi * 190 * short)) * np.exp(-short * 25),
        )
    if role == "hihat":
        return _hits(
            rng, n, sample_rate, 0.25, 0.0, np.diff(noise, prepend=0.0) * np.exp(-short * 60)
        )
    if role == "tom":
        return _hits(
            rng, n, sample_rate, 2.0, 1.5, np.sin(2 * np.pi * 110 * short) * np.exp(-short * 12)
        )
    if role == "overhead":
        return (
            0.3
            * np.diff(rng.standard_normal(n), prepend=0.0)
            * (0.5 + 0.5 * np.sin(2 * np.pi * 2 * t) ** 2)
        )
    root = {"bass": 55.0, "keys": 220.0, "vocals": 330.0}[role] * rng.uniform(0.9, 1.1)
    vibrato = 1 + (0.01 * np.sin(2 * np.pi * 5 * t) if role == "vocals" else 0)
    partials = (1, 2, 3) if role != "keys" else (1, 1.25, 1.5, 2)
    tone = sum(np.sin(2 * np.pi * root * k * vibrato * t) / k for k in partials)
    return tone * (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t + rng.uniform(0, 6)) ** 2)


def synthetic_song(
    task: str, index: int, seconds: float = 4.0, sample_rate: int = SAMPLE_RATE, seed: int = 0
) -> Song:
    """One deterministic synthetic song for ``task`` (``drums`` or ``full``), tracks at -30 dBFS RMS."""
    if task not in ROLES_BY_TASK:
        raise ValueError(f"unknown task {task!r}; choose drums or full")
    rng = np.random.default_rng([seed, index, 0 if task == "drums" else 1])
    n = int(seconds * sample_rate)
    roles = list(ROLES_BY_TASK[task])
    if index % 2:  # songs differ in their number of tracks
        roles = roles[:-1]
    audio = []
    for role in roles:
        voice = _voice(role, n, sample_rate, rng).astype(np.float32)
        audio.append(voice * (0.0316 / max(float(np.sqrt(np.mean(voice**2))), 1e-9)))
    tracks = np.stack(audio)
    settings = []
    for role in roles:
        gain_db, pan = CONVENTION[role]
        settings.append(
            {
                "gain_db": gain_db + rng.uniform(-1, 1),
                "pan": float(np.clip(pan + rng.uniform(-0.05, 0.05), 0, 1)),
            }
        )
        if task == "full" and role == "vocals":
            settings[-1].update({"reverb_wet": 0.5, "eq_high_shelf_gain_db": 4.0})
    target, _ = chain_mix(tracks, sample_rate, settings)
    song_tracks = [
        Track(f"{role}_{i}", role, audio=a[None]) for i, (role, a) in enumerate(zip(roles, tracks))
    ]
    return Song(
        f"synthetic-{task}-{index:03d}",
        song_tracks,
        sample_rate,
        n,
        target=Track("mix", "other", audio=target),
        metadata={"synthetic": True},
    )


def synthetic_songs(
    task: str, split: str, count: int = 6, seconds: float = 4.0, sample_rate: int = SAMPLE_RATE
) -> list[Song]:
    """``count`` songs for a split (disjoint seeds per split)."""
    offsets = {"train": 0, "val": 1000, "test": 2000}
    if split not in offsets:
        raise ValueError(f"unknown split {split!r}; choose train, val or test")
    return [synthetic_song(task, offsets[split] + i, seconds, sample_rate) for i in range(count)]

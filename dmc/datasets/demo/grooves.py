"""Seeded drum performances: grooves, fills, crashes and a human drummer's timing.

A performance is a list of :class:`Hit` s (time, piece, velocity). It is built bar by
bar from a groove style (rock, funk, half-time, shuffle, disco, swing), with a tom fill
closing every phrase, a crash on the downbeat after it, a switch from hi-hat to ride in
the second half of some songs, and the small timing and velocity deviations that make
a programmed beat sound played. Everything depends on the ``numpy.random.Generator``
passed in, so a seed gives the same performance every time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Groove styles and their tempo ranges (BPM); every range lies in 70-170.
STYLES = {
    "rock": (80.0, 150.0),
    "funk": (84.0, 118.0),
    "half_time": (120.0, 170.0),
    "shuffle": (76.0, 132.0),
    "disco": (104.0, 128.0),
    "swing": (110.0, 170.0),
    "ballad": (70.0, 88.0),
}


@dataclass(frozen=True)
class Hit:
    """One stroke: ``time_seconds`` from the song start, the piece, MIDI-like velocity 1-127."""

    time_seconds: float
    piece: str
    velocity: float


@dataclass(frozen=True)
class Drummer:
    """How one drummer plays: timing spread, velocity spread, how the snare sits."""

    timing_ms: float
    velocity_spread: float
    snare_lag_ms: float
    hat_accent: float
    fill_rate: float


def _steps_per_bar(style: str) -> int:
    return 12 if style in ("shuffle", "swing") else 16


def _bar_pattern(style: str, rng: np.random.Generator, ride: bool) -> list[tuple[int, str, float]]:
    """One bar of a groove as ``(step, piece, velocity)``; the grid has 16 or 12 steps."""
    cymbal = "ride" if ride else "hihat_closed"
    out: list[tuple[int, str, float]] = []
    if style in ("rock", "ballad", "half_time"):
        eighths = range(0, 16, 2) if style != "half_time" or rng.random() < 0.5 else range(16)
        for step in eighths:
            out.append((step, cymbal, 100 if step % 4 == 0 else 72))
        if style == "half_time":
            out.append((8, "snare", 118))
            out += [(s, "kick", 110) for s in (0, 3) if s == 0 or rng.random() < 0.6]
            out += [(s, "kick", 98) for s in (10, 11, 14) if rng.random() < 0.3]
        else:
            out += [(4, "snare", 115), (12, "snare", 118), (0, "kick", 112), (8, "kick", 106)]
            out += [
                (s, "kick", 95)
                for s in (6, 10, 14)
                if rng.random() < (0.35 if style == "rock" else 0.15)
            ]
    elif style == "funk":
        for step in range(16):
            out.append((step, cymbal, 98 if step % 4 == 0 else (78 if step % 2 == 0 else 55)))
        out += [(4, "snare", 116), (12, "snare", 118), (0, "kick", 112)]
        out += [(s, "kick", 100) for s in (3, 6, 10, 11, 14) if rng.random() < 0.45]
        out += [(s, "snare", 38) for s in (7, 9, 15) if rng.random() < 0.5]
        if not ride and rng.random() < 0.5:
            open_step = int(rng.choice([6, 14]))
            out = [h for h in out if not (h[0] == open_step and h[1] == cymbal)] + [
                (open_step, "hihat_open", 90)
            ]
    elif style == "disco":
        for step in range(0, 16, 2):
            piece = "hihat_open" if step % 4 == 2 and not ride else cymbal
            out.append((step, piece, 96 if step % 4 == 2 else 70))
        out += [(s, "kick", 112) for s in (0, 4, 8, 12)] + [(4, "snare", 112), (12, "snare", 116)]
    elif style == "shuffle":
        for beat in range(4):
            out += [(beat * 3, cymbal, 98 if beat % 2 == 0 else 86), (beat * 3 + 2, cymbal, 66)]
        out += [(0, "kick", 110), (6, "kick", 104), (3, "snare", 114), (9, "snare", 116)]
        out += [(s, "kick", 92) for s in (5, 11) if rng.random() < 0.35]
        out += [(s, "snare", 36) for s in (2, 8, 11) if rng.random() < 0.35]
    elif style == "swing":
        for step in (0, 3, 5, 6, 9, 11):
            out.append((step, "ride", 96 if step in (3, 9) else 78))
        out += [(3, "hihat_pedal", 84), (9, "hihat_pedal", 86)]
        out += [(s, "kick", 48) for s in (0, 3, 6, 9)]  # feathered quarter notes
        out += [(s, "snare", float(rng.uniform(40, 85))) for s in range(12) if rng.random() < 0.12]
    else:
        raise ValueError(f"unknown groove style {style!r}; known: {', '.join(STYLES)}")
    return out


def _fill(style: str, rng: np.random.Generator) -> list[tuple[int, str, float]]:
    """A tom fill over the last one or two beats of a bar (16- or 12-step grid)."""
    steps = _steps_per_bar(style)
    per_beat = steps // 4
    beats = 2 if rng.random() < 0.45 else 1
    start = steps - beats * per_beat
    toms = ["snare", "tom_high", "tom_mid", "tom_low"]
    out = []
    slots = list(range(start, steps))
    if rng.random() < 0.4:
        slots = slots[::2]  # sparser fill in eighths
    for i, step in enumerate(slots):
        # Walk down the kit, snare -> high -> mid -> floor tom, with a random skip now and then.
        position = min(len(toms) - 1, int(i * len(toms) / len(slots) + rng.integers(0, 2)))
        out.append((step, toms[position], float(rng.uniform(88, 124))))
    out.append((start, "kick", 100.0))
    return out


def make_drummer(rng: np.random.Generator) -> Drummer:
    return Drummer(
        timing_ms=float(rng.uniform(2.0, 8.0)),
        velocity_spread=float(rng.uniform(4.0, 10.0)),
        snare_lag_ms=float(rng.uniform(-2.0, 8.0)),
        hat_accent=float(rng.uniform(0.7, 1.2)),
        fill_rate=float(rng.uniform(0.6, 1.0)),
    )


def perform(
    style: str,
    tempo_bpm: float,
    duration_seconds: float,
    rng: np.random.Generator,
    drummer: Drummer | None = None,
    phrase_bars: int = 4,
    ride_from_bar: int | None = None,
) -> list[Hit]:
    """Play ``style`` at ``tempo_bpm`` for ``duration_seconds``: the hits in time order.

    Args:
        phrase_bars: a fill closes every phrase (with probability ``drummer.fill_rate``)
            and a crash marks the first downbeat of the next one.
        ride_from_bar: from this bar on the cymbal pattern moves from hi-hat to ride
            (a chorus); None keeps the hi-hat throughout.
    """
    if style not in STYLES:
        raise ValueError(f"unknown groove style {style!r}; known: {', '.join(STYLES)}")
    if not 20.0 <= tempo_bpm <= 300.0:
        raise ValueError(f"tempo_bpm must be between 20 and 300, got {tempo_bpm}")
    drummer = drummer or make_drummer(rng)
    bar_seconds = 240.0 / tempo_bpm
    steps = _steps_per_bar(style)
    step_seconds = bar_seconds / steps
    bars = int(np.ceil(duration_seconds / bar_seconds)) + 1
    hits: list[Hit] = [Hit(0.0, "crash", 112.0)]
    for bar in range(bars):
        ride = ride_from_bar is not None and bar >= ride_from_bar
        pattern = _bar_pattern(style, rng, ride or style == "swing")
        if bar % phrase_bars == phrase_bars - 1 and rng.random() < drummer.fill_rate:
            fill = _fill(style, rng)
            first = min(step for step, _, _ in fill)
            pattern = [h for h in pattern if h[0] < first] + fill
        if bar > 0 and bar % phrase_bars == 0:
            pattern = [h for h in pattern if not (h[0] == 0 and h[1] in ("hihat_closed", "ride"))]
            pattern.append((0, "crash", float(rng.uniform(105, 125))))
        for step, piece, velocity in pattern:
            if piece in ("hihat_closed", "ride", "hihat_open"):
                velocity = 64 + (velocity - 64) * drummer.hat_accent
            lag = drummer.snare_lag_ms if piece == "snare" else 0.0
            jitter_ms = rng.normal(0.0, drummer.timing_ms) + lag
            time = bar * bar_seconds + step * step_seconds + jitter_ms / 1000.0
            velocity = float(np.clip(velocity + rng.normal(0.0, drummer.velocity_spread), 15, 127))
            if 0.0 <= time < duration_seconds:
                hits.append(Hit(float(time), piece, velocity))
    hits.sort(key=lambda h: (h.time_seconds, h.piece))
    return hits


def hits_per_second(hits: list[Hit], pieces: tuple[str, ...], duration_seconds: float) -> float:
    """How busy a part of the kit is: strokes per second on ``pieces``."""
    return sum(h.piece in pieces for h in hits) / max(duration_seconds, 1e-9)

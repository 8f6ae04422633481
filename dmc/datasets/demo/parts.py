"""Accompaniment parts over a :class:`~dmc.datasets.demo.music.SongPlan`: bass, keys, guitars, pads.

Each part is a pattern family a session player would use (driving eighths, walking
quarters, offbeat stabs, strummed chords, sustained pads) turned into
:class:`~dmc.datasets.demo.music.Note` s that follow the chords, with voice leading
(each chord voiced close to the previous one), small timing and velocity deviations, and
sections: some parts rest or thin out in the verse so the arrangement breathes.
"""

from __future__ import annotations

import numpy as np

from dmc.datasets.demo.music import Note, SongPlan, nearest_pitch

BASS_PATTERNS = ("whole", "quarters", "eighths", "root_fifth", "syncopated", "walking", "octaves")
KEYS_PATTERNS = ("whole", "halves", "quarters", "charleston", "arpeggio", "offbeats")
GUITAR_PATTERNS = ("strum", "power", "arpeggio", "skank")
#: Onsets (beats) and lengths (beats) of one bar of each rhythmic pattern.
_RHYTHMS = {
    "whole": ((0.0, 4.0),),
    "halves": ((0.0, 2.0), (2.0, 2.0)),
    "quarters": tuple((b, 0.9) for b in range(4)),
    "eighths": tuple((b / 2, 0.45) for b in range(8)),
    "charleston": ((0.0, 1.2), (1.5, 0.8), (3.0, 0.6)),
    "offbeats": tuple((b + 0.5, 0.35) for b in range(4)),
    "syncopated": ((0.0, 0.6), (0.75, 0.25), (1.5, 0.4), (2.5, 0.5), (3.0, 0.4), (3.5, 0.4)),
    "strum": ((0.0, 1.0), (1.0, 0.5), (1.5, 1.0), (2.5, 0.5), (3.0, 0.5), (3.5, 0.5)),
    "skank": ((1.0, 0.3), (3.0, 0.3)),
}


def _humanise(
    plan: SongPlan,
    rng: np.random.Generator,
    bar: int,
    beat: float,
    length_beats: float,
    pitch: int,
    velocity: float,
    timing_ms: float = 7.0,
) -> Note:
    start = plan.time(bar, beat) + float(rng.normal(0.0, timing_ms / 1000.0))
    return Note(
        max(0.0, start),
        length_beats * plan.beat_seconds,
        int(pitch),
        float(np.clip(velocity + rng.normal(0.0, 6.0), 20, 127)),
    )


def voicing(
    pitch_classes: tuple[int, ...], centre: float, low: int, high: int, size: int = 4
) -> list[int]:
    """A close voicing of the chord around ``centre``: ``size`` notes, root doubled if needed."""
    tones = list(pitch_classes) + [pitch_classes[0]] * max(0, size - len(pitch_classes))
    bottom = nearest_pitch(tones[0], centre - 6, low, high)
    out = [bottom]
    for pc in tones[1:size]:
        nxt = out[-1] + 1
        while nxt % 12 != pc:
            nxt += 1
        out.append(nxt if nxt <= high else nxt - 12)
    return sorted(out)


def _lead_voicing(previous: list[int] | None, pitch_classes, low, high, size) -> list[int]:
    """Voice the chord as close as possible to the previous voicing (smooth voice leading)."""
    if previous is None:
        return voicing(pitch_classes, (low + high) / 2, low, high, size)
    centre = float(np.mean(previous))
    options = [
        voicing(pitch_classes, centre + shift, low, high, size) for shift in (-4, -2, 0, 2, 4)
    ]
    return min(options, key=lambda v: abs(np.mean(v) - centre) + 0.1 * abs(v[0] - previous[0]))


def bass_part(
    plan: SongPlan, rng: np.random.Generator, pattern: str, low: int = 28, high: int = 55
) -> list[Note]:
    """A bass line on the chord roots (fifths, octaves and approach notes per pattern)."""
    if pattern not in BASS_PATTERNS:
        raise ValueError(f"unknown bass pattern {pattern!r}; known: {', '.join(BASS_PATTERNS)}")
    notes = []
    for bar in range(plan.bars):
        chord = plan.chord_at(plan.time(bar, 0.0) + 1e-3)
        next_chord = plan.chord_at(plan.time(bar + 1, 0.0) + 1e-3)
        root = nearest_pitch(chord.root, 36, max(low, 28), min(high, 47))
        fifth = root + 7
        target = nearest_pitch(next_chord.root, root, max(low, 28), min(high, 47))
        approach = target - 1 if target > root else target + 1
        if pattern == "walking":
            third = nearest_pitch(chord.pitch_classes[1], root + 4, low, high)
            line = [(0, root), (1, third), (2, fifth), (3, approach)]
            notes += [_humanise(plan, rng, bar, b, 0.95, p, 92) for b, p in line]
            continue
        if pattern == "root_fifth":
            line = [(0.0, 1.5, root), (1.5, 0.5, root), (2.0, 1.5, fifth), (3.5, 0.5, approach)]
        elif pattern == "octaves":
            line = [(b / 2, 0.4, root + 12 * (b % 2)) for b in range(8)]
        else:
            line = [(b, n, root) for b, n in _RHYTHMS[pattern]]
            if pattern == "quarters":
                line[-1] = (3.0, 0.9, approach)
        for beat, length, pitch in line:
            accent = 100 if beat in (0.0, 2.0) else 86
            notes.append(_humanise(plan, rng, bar, beat, length, pitch, accent))
    return notes


def keys_part(
    plan: SongPlan,
    rng: np.random.Generator,
    pattern: str,
    low: int = 50,
    high: int = 77,
    left_hand: bool = False,
) -> list[Note]:
    """Chord comping: held chords, stabs, a charleston figure or an arpeggio."""
    if pattern not in KEYS_PATTERNS:
        raise ValueError(f"unknown keys pattern {pattern!r}; known: {', '.join(KEYS_PATTERNS)}")
    notes, previous = [], None
    for bar in range(plan.bars):
        chord = plan.chord_at(plan.time(bar, 0.0) + 1e-3)
        chords = _lead_voicing(previous, chord.pitch_classes, low, high, 4)
        previous = chords
        verse = plan.section_at(bar) == "verse"
        if pattern == "arpeggio":
            order = chords + chords[1:3][::-1]
            for step in range(8):
                notes.append(
                    _humanise(
                        plan, rng, bar, step / 2, 0.9, order[step % len(order)], 78 - 6 * verse
                    )
                )
        else:
            for beat, length in _RHYTHMS[pattern]:
                for k, pitch in enumerate(chords):
                    notes.append(
                        _humanise(
                            plan,
                            rng,
                            bar,
                            beat + 0.004 * k,
                            length,
                            pitch,
                            82 - 8 * verse - 4 * (k == 0),
                            timing_ms=4.0,
                        )
                    )
        if left_hand:
            # A low root under the chord; 45 is the lowest sampled piano note, so stay near it.
            notes.append(
                _humanise(plan, rng, bar, 0.0, 3.5, nearest_pitch(chord.root, 47, 43, 54), 80)
            )
    return notes


def guitar_part(
    plan: SongPlan,
    rng: np.random.Generator,
    pattern: str,
    low: int = 40,
    high: int = 76,
    rest_in_verse: bool = False,
) -> list[Note]:
    """Strummed chords (down/up strokes), power chords, picked arpeggios or offbeat chops."""
    if pattern not in GUITAR_PATTERNS:
        raise ValueError(f"unknown guitar pattern {pattern!r}; known: {', '.join(GUITAR_PATTERNS)}")
    notes = []
    for bar in range(plan.bars):
        if rest_in_verse and plan.section_at(bar) == "verse":
            continue
        chord = plan.chord_at(plan.time(bar, 0.0) + 1e-3)
        root = nearest_pitch(chord.root, 45, low, low + 11)
        if pattern == "power":
            shape = [root, root + 7, root + 12]
            for step in range(8):
                for k, pitch in enumerate(shape):
                    notes.append(
                        _humanise(
                            plan,
                            rng,
                            bar,
                            step / 2 + 0.003 * k,
                            0.42,
                            pitch,
                            96 if step % 2 == 0 else 84,
                            timing_ms=4.0,
                        )
                    )
            continue
        third = nearest_pitch(chord.pitch_classes[1], root + 16, low, high)
        shape = sorted({root, root + 7, root + 12, third, min(root + 19, high)})
        if pattern == "arpeggio":
            order = shape + shape[1:-1][::-1]
            for step in range(8):
                notes.append(_humanise(plan, rng, bar, step / 2, 1.2, order[step % len(order)], 80))
            continue
        strums = _RHYTHMS["strum" if pattern == "strum" else "skank"]
        for beat, length in strums:
            down = abs(beat - round(beat)) < 1e-6
            strings = shape if down else shape[::-1][:3]
            spread = float(rng.uniform(0.008, 0.02)) / plan.beat_seconds
            for k, pitch in enumerate(strings):
                notes.append(
                    _humanise(
                        plan,
                        rng,
                        bar,
                        beat + k * spread,
                        length,
                        pitch,
                        (92 if down else 74) - 3 * k,
                        timing_ms=5.0,
                    )
                )
    return notes


def pad_part(plan: SongPlan, rng: np.random.Generator, low: int = 52, high: int = 79) -> list[Note]:
    """Sustained chords, one per bar, quieter in the verse."""
    notes, previous = [], None
    for bar in range(plan.bars):
        chord = plan.chord_at(plan.time(bar, 0.0) + 1e-3)
        voiced = _lead_voicing(previous, chord.pitch_classes, low, high, 3)
        previous = voiced
        velocity = 70 if plan.section_at(bar) == "verse" else 86
        for pitch in voiced:
            notes.append(_humanise(plan, rng, bar, 0.0, 4.05, pitch, velocity, timing_ms=10.0))
    return notes

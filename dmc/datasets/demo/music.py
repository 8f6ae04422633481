"""Seeded songs for the band task: key, chord progression, sections and a lead melody.

A :class:`SongPlan` fixes what every part plays over: a key (major or minor), a tempo,
one chord per bar (two bars per chord at fast tempos) taken from common pop, rock and
jazz progressions, and 4-bar sections alternating verse and chorus, the chorus on its own
progression. :func:`melody` writes the lead line over it: 2-bar phrases from a library
of rhythms, chord tones on strong beats, mostly stepwise motion in the scale, phrases
that come back varied (A A' B A'), and a chorus that sits higher and louder.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII")
#: Progressions as scale degrees (0 = tonic), one chord per bar.
PROGRESSIONS = {
    "major": (
        (0, 4, 5, 3),
        (0, 5, 3, 4),
        (5, 3, 0, 4),
        (0, 3, 4, 3),
        (0, 3, 5, 4),
        (1, 4, 0, 0),
        (0, 2, 3, 4),
        (3, 4, 0, 0),
    ),
    "minor": ((0, 5, 2, 6), (0, 3, 4, 0), (0, 6, 5, 6), (0, 3, 6, 2), (0, 5, 3, 4)),
}
#: Lead rhythms for one 2-bar phrase: (beats, is_rest), summing to 8 beats.
PHRASE_RHYTHMS = (
    ((1, False), (1, False), (1, False), (1, False), (2, False), (2, True)),
    ((0.5, False), (0.5, False), (1, False), (1, False), (1, False), (3, False), (1, True)),
    ((1.5, False), (0.5, False), (1, False), (1, False), (1.5, False), (0.5, False), (2, True)),
    (
        (0.5, False),
        (0.5, False),
        (0.5, False),
        (0.5, False),
        (1, False),
        (1, False),
        (2, False),
        (2, True),
    ),
    ((2, False), (1, False), (1, False), (3, False), (1, True)),
    (
        (1, True),
        (0.5, False),
        (0.5, False),
        (1, False),
        (1, False),
        (1, False),
        (1, False),
        (2, False),
    ),
    ((0.5, False), (1, False), (0.5, False), (1, False), (1, False), (2.5, False), (1.5, True)),
)


@dataclass(frozen=True)
class Note:
    """A note event: onset and length in seconds, MIDI pitch, velocity 1-127."""

    start_seconds: float
    duration_seconds: float
    pitch: int
    velocity: float


@dataclass(frozen=True)
class Chord:
    """A chord over a time span: its root and pitch classes (root first)."""

    start_seconds: float
    end_seconds: float
    root: int
    pitch_classes: tuple[int, ...]
    symbol: str


@dataclass
class SongPlan:
    """Everything the parts share: key, tempo, chords, sections, swing."""

    key_root: int
    mode: str
    tempo_bpm: float
    bars: int
    chords: list[Chord]
    sections: list[tuple[int, int, str]]
    swing: bool

    @property
    def beat_seconds(self) -> float:
        return 60.0 / self.tempo_bpm

    @property
    def bar_seconds(self) -> float:
        return 4 * self.beat_seconds

    @property
    def scale(self) -> tuple[int, ...]:
        return tuple(
            (self.key_root + step) % 12 for step in (MAJOR if self.mode == "major" else MINOR)
        )

    def chord_at(self, time_seconds: float) -> Chord:
        for chord in self.chords:
            if chord.start_seconds <= time_seconds < chord.end_seconds:
                return chord
        return self.chords[-1] if time_seconds >= self.chords[-1].start_seconds else self.chords[0]

    def section_at(self, bar: int) -> str:
        for start, length, name in self.sections:
            if start <= bar < start + length:
                return name
        return self.sections[-1][2]

    def time(self, bar: int, beat: float) -> float:
        """Seconds of ``beat`` (0-based, fractional) in ``bar``, with swung off-beats if the song swings."""
        whole = np.floor(beat)
        frac = beat - whole
        if self.swing and abs(frac - 0.5) < 1e-6:
            frac = 2.0 / 3.0
        return bar * self.bar_seconds + (whole + frac) * self.beat_seconds

    def describe(self) -> dict:
        return {
            "key": f"{NOTE_NAMES[self.key_root]} {self.mode}",
            "tempo_bpm": round(self.tempo_bpm, 2),
            "bars": self.bars,
            "swing": self.swing,
            "chords": [c.symbol for c in self.chords],
            "sections": [{"start_bar": s, "bars": n, "name": name} for s, n, name in self.sections],
        }


def _triad(
    key_root: int, scale_steps: tuple[int, ...], degree: int, seventh: bool
) -> tuple[int, ...]:
    tones = [scale_steps[(degree + k) % 7] for k in ((0, 2, 4, 6) if seventh else (0, 2, 4))]
    return tuple((key_root + t) % 12 for t in tones)


def _symbol(degree: int, pcs: tuple[int, ...]) -> str:
    third = (pcs[1] - pcs[0]) % 12
    numeral = ROMAN[degree] if third == 4 else ROMAN[degree].lower()
    return numeral + ("7" if len(pcs) == 4 else "")


def make_plan(
    rng: np.random.Generator,
    tempo_bpm: float,
    duration_seconds: float,
    swing: bool,
    sevenths: bool = False,
) -> SongPlan:
    """A seeded plan: key, verse and chorus progressions, 4-bar sections covering the song."""
    mode = "major" if rng.random() < 0.65 else "minor"
    key_root = int(rng.integers(0, 12))
    steps = MAJOR if mode == "major" else MINOR
    options = PROGRESSIONS[mode]
    verse, chorus = (options[i] for i in rng.choice(len(options), size=2, replace=False))
    bar_seconds = 240.0 / tempo_bpm
    bars = int(np.ceil(duration_seconds / bar_seconds)) + 1
    bars_per_chord = 2 if tempo_bpm > 135 else 1
    sections, chords = [], []
    start_with_chorus = rng.random() < 0.3
    for index, start in enumerate(range(0, bars, 4)):
        name = "chorus" if (index % 2 == 1) != start_with_chorus else "verse"
        sections.append((start, min(4, bars - start), name))
        progression = chorus if name == "chorus" else verse
        for bar in range(start, min(start + 4, bars)):
            step = ((bar - start) // bars_per_chord) % len(progression)
            degree = progression[step]
            pcs = _triad(key_root, steps, degree, sevenths)
            if mode == "minor" and degree == 4 and rng.random() < 0.5:
                pcs = (pcs[0], (pcs[1] + 1) % 12) + pcs[2:]  # harmonic-minor dominant
            start_s = bar * bar_seconds
            if (
                chords
                and chords[-1].symbol == _symbol(degree, pcs)
                and chords[-1].end_seconds == start_s
            ):
                last = chords.pop()
                chords.append(
                    Chord(
                        last.start_seconds,
                        start_s + bar_seconds,
                        last.root,
                        last.pitch_classes,
                        last.symbol,
                    )
                )
            else:
                chords.append(
                    Chord(start_s, start_s + bar_seconds, pcs[0], pcs, _symbol(degree, pcs))
                )
    return SongPlan(key_root, mode, float(tempo_bpm), bars, chords, sections, swing)


def nearest_pitch(pitch_class: int, target: float, low: int, high: int) -> int:
    """The pitch of ``pitch_class`` closest to ``target`` within ``[low, high]``."""
    candidates = [p for p in range(low, high + 1) if p % 12 == pitch_class]
    if not candidates:
        raise ValueError(f"no pitch class {pitch_class} between {low} and {high}")
    return min(candidates, key=lambda p: (abs(p - target), p))


def _scale_pitches(plan: SongPlan, low: int, high: int) -> list[int]:
    scale = set(plan.scale)
    return [p for p in range(low, high + 1) if p % 12 in scale]


def melody(
    plan: SongPlan,
    rng: np.random.Generator,
    low: int,
    high: int,
    duration_seconds: float,
    legato: float = 0.92,
) -> list[Note]:
    """The lead line over ``plan`` within ``[low, high]`` (MIDI)."""
    pitches = _scale_pitches(plan, low, high)
    if len(pitches) < 8:
        raise ValueError(f"range {low}-{high} too narrow for a melody")
    centre = (low + high) / 2 - 2
    phrases = [PHRASE_RHYTHMS[i] for i in rng.choice(len(PHRASE_RHYTHMS), size=2, replace=False)]
    contour: list[int] | None = None
    notes: list[Note] = []
    for phrase_index, bar in enumerate(range(0, plan.bars, 2)):
        section = plan.section_at(bar)
        lift = 3 if section == "chorus" else 0
        use_b = phrase_index % 4 == 2
        rhythm = phrases[1] if use_b else phrases[0]
        beat = 0.0
        index = _closest_index(pitches, centre)
        new_contour: list[int] = []
        for k, (beats, rest) in enumerate(rhythm):
            start = plan.time(bar, beat) if beat < 4 else plan.time(bar + 1, beat - 4)
            beat += beats
            if rest:
                continue
            chord = plan.chord_at(start + 1e-3)
            strong = abs(beat - beats - round(beat - beats)) < 1e-6 and round(beat - beats) % 2 == 0
            played = len(new_contour)
            if contour is not None and not use_b and played < len(contour):
                index = (
                    _closest_index(pitches, centre) + contour[played] + lift
                )  # repeat the A shape
            else:
                move = rng.choice(
                    [-2, -1, -1, 0, 1, 1, 2], p=[0.1, 0.22, 0.1, 0.08, 0.22, 0.18, 0.1]
                )
                index = int(np.clip(index + move + (lift if k == 0 else 0), 0, len(pitches) - 1))
            pitch = pitches[int(np.clip(index, 0, len(pitches) - 1))]
            if strong or k == len(rhythm) - 1:
                pitch = nearest_pitch(
                    chord.pitch_classes[int(rng.integers(0, 3))] if strong else chord.root,
                    pitch,
                    low,
                    high,
                )
            new_contour.append(_closest_index(pitches, pitch) - _closest_index(pitches, centre))
            velocity = float(
                np.clip(rng.normal(84 + 10 * (section == "chorus") + 6 * strong, 5), 40, 127)
            )
            length = beats * plan.beat_seconds * legato
            if start < duration_seconds:
                notes.append(
                    Note(start + float(rng.normal(0, 0.006)), length, int(pitch), velocity)
                )
        if contour is None and not use_b:
            contour = new_contour
    return notes


def _closest_index(pitches: list[int], target: float) -> int:
    return int(np.argmin([abs(p - target) for p in pitches]))

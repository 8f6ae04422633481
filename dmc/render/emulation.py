"""What the emulation table plays: passages of clean sources, and the chain settings of each.

The paper's demo page opens with six passages (A-F) of clean audio, each shown as the
input, the real EQ -> compressor -> reverb at random settings (the target) and the
outputs of TCN-10/20/30 at the same settings. This module chooses those passages and
draws their settings; :mod:`dmc.render.transform` renders them.

Passages come from held-out sources only (the demo's test split, or SignalTrain's
``Test`` folder), one track each, in a fixed order of instrument roles so the table
covers drums, bass, keys, guitar, a lead voice and a sustained part; each passage is
the loudest window of its track. Settings are drawn as the TCN's training examples are
(:class:`dmc.train.data.EffectTriples`): an input gain of +-12 dB on the staged track,
then the 22 parameters uniform in the normalised range, except that no effect group is
bypassed, so every row shows all three effects.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from string import ascii_uppercase

import numpy as np

from dmc.effects.params import TCN_PARAMETERS, expand_to_strip
from dmc.multitrack import Passage, Song, find_passages

#: The task name of the table in the manifest.
TASK = "emulation"
#: The table's conditions besides the TCNs, in table order.
INPUT, TARGET = "input", "target"
#: Labels of the passages, in order (the paper's table has A-F).
LABELS = tuple(ascii_uppercase)
#: Role groups the passages are drawn from, one group per passage in turn (the first role
#: of a group a song has wins): drums, bass, keys, guitar, a lead voice, a sustained part.
ROLE_GROUPS: tuple[tuple[str, ...], ...] = (
    ("overhead", "snare", "kick", "drums", "percussion"),
    ("bass",),
    ("keys",),
    ("guitar",),
    ("lead", "vocals"),
    ("strings", "pad", "synth", "brass", "woodwind"),
)
#: Input gain drawn uniformly in +-this (dB), as ``EffectTriples``' default.
GAIN_RANGE_DB = 12.0
#: The chain's stages the TCN emulates.
STAGES = ("eq", "compressor", "reverb")


@dataclass(frozen=True)
class Source:
    """One row of the table: a track of a song and its passage."""

    label: str
    song: Song
    track: int
    passage: Passage

    @property
    def track_name(self) -> str:
        return self.song.tracks[self.track].name

    @property
    def role(self) -> str:
        return self.song.tracks[self.track].role

    @property
    def passage_id(self) -> str:
        """``<song>.<track>@<start>s``: stable across runs, like a test set's passage ids."""
        return f"{self.song.song_id}.{self.track_name}@{self.passage.start_seconds:07.2f}s"

    def audio(self) -> np.ndarray:
        """The passage of the track, mono ``(samples,)`` float32 at the song's rate."""
        start, length = self.passage.sample_range(self.song.sample_rate)
        return self.song.tracks[self.track].read(self.song.sample_rate, start, length).mean(axis=0)


def _candidates(songs: Sequence[Song], index: int) -> Iterator[tuple[Song, int]]:
    """Tracks for passage ``index``: its role group's, songs taken in turn from song ``index``;
    then every other track in the same order (a song without that role, silent tracks)."""
    order = [songs[(index + j) % len(songs)] for j in range(len(songs))]
    group = ROLE_GROUPS[index % len(ROLE_GROUPS)]
    for song in order:
        for role in group:
            for t, track_role in enumerate(song.roles):
                if track_role == role:
                    yield song, t
    for song in order:
        for t in range(len(song.tracks)):
            yield song, t


def _spread(songs: Sequence[Song], index: int) -> Iterator[tuple[Song, int]]:
    """Single-track sources (SignalTrain): passage ``index`` of 6 starts at an evenly spaced song."""
    first = round(index * len(songs) / len(ROLE_GROUPS)) % len(songs)
    for j in range(len(songs)):
        yield songs[(first + j) % len(songs)], 0


def iter_sources(songs: Sequence[Song], seconds: float) -> Iterator[Source]:
    """The table's rows in order (A, B, ...), each a different track, until none is left.

    A track without a ``seconds`` window loud enough for a passage is passed over.

    Raises:
        ValueError: every song is shorter than ``seconds``.
    """
    if not songs:
        return
    if all(song.duration_seconds + 1e-9 < seconds for song in songs):
        longest = max(song.duration_seconds for song in songs)
        raise ValueError(
            f"passage of {seconds:g} s is longer than every source (longest {longest:.2f} s)"
        )
    single = all(len(song.tracks) == 1 for song in songs)
    used: set[tuple[str, int]] = set()
    for index, label in enumerate(LABELS):
        found = None
        for song, t in (_spread if single else _candidates)(songs, index):
            if (song.song_id, t) in used or song.duration_seconds + 1e-9 < seconds:
                continue
            used.add((song.song_id, t))
            alone = Song(song.song_id, [song.tracks[t]], song.sample_rate, song.num_samples)
            try:
                found = Source(label, song, t, find_passages(alone, seconds, count=1)[0])
            except ValueError:  # a silent or sparse track: the next candidate
                continue
            break
        if found is None:
            return
        yield found


@dataclass(frozen=True)
class ChainSettings:
    """One passage's random settings: the input gain and the 22 effect parameters."""

    input_gain_db: float
    normalized: np.ndarray  # (22,) float32 in [0, 1], what the TCN is conditioned on

    @property
    def values(self) -> np.ndarray:
        """Real units ``(22,)``, in :data:`TCN_PARAMETERS` order."""
        return np.asarray(TCN_PARAMETERS.denormalize(self.normalized.astype(np.float64)))

    @property
    def strip(self) -> np.ndarray:
        """The full channel-strip vector the real chain takes (defaults outside the effects)."""
        return expand_to_strip(self.values, TCN_PARAMETERS)

    def as_dict(self) -> dict[str, float]:
        """Human-readable: ``input_gain_db`` and every parameter in real units."""
        return {"input_gain_db": float(self.input_gain_db), **TCN_PARAMETERS.to_dict(self.values)}


def draw_settings(seed: int) -> ChainSettings:
    """Settings for one passage from its seed: the TCN's training distribution, nothing bypassed."""
    rng = np.random.default_rng(seed)
    gain_db = float(rng.uniform(-GAIN_RANGE_DB, GAIN_RANGE_DB))
    return ChainSettings(gain_db, TCN_PARAMETERS.sample(rng, 1)[0])

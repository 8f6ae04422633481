"""The multitrack data model shared by every dataset, model and renderer.

A :class:`Song` is a set of named :class:`Track` s with instrument roles, one sample
rate, an optional stereo target mix and free-form metadata. Tracks either hold their
audio or point to a file, so a loader can describe a 100-song dataset without reading
it; :meth:`Song.excerpt` reads just the frames a training segment or a listening-test
:class:`Passage` needs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from dmc.audio import SILENCE_LUFS, audio_info, integrated_loudness, read_audio, resample
from dmc.roles import check_role


@dataclass
class Track:
    """One channel of a multitrack: audio in memory or a file on disk.

    Args:
        name: unique name within its song (``"kick"``, ``"tom_2"``, ``"Bass DI"``).
        role: instrument role from :data:`dmc.roles.ROLES`.
        audio: float32 ``(channels, samples)`` at the song's rate, or None when ``path`` is set.
        path: file to read lazily; any sample rate (resampled on read).
    """

    name: str
    role: str = "other"
    audio: np.ndarray | None = None
    path: Path | None = None

    def __post_init__(self) -> None:
        check_role(self.role)
        if (self.audio is None) == (self.path is None):
            raise ValueError(f"track {self.name!r}: give exactly one of audio or path")
        if self.audio is not None:
            self.audio = np.atleast_2d(np.asarray(self.audio, dtype=np.float32))
        else:
            self.path = Path(self.path)

    @property
    def num_channels(self) -> int:
        if self.audio is not None:
            return self.audio.shape[0]
        return audio_info(self.path)[1]

    def read(self, sample_rate: int, start: int = 0, num_samples: int | None = None) -> np.ndarray:
        """Audio ``(channels, num_samples)`` from ``start`` (both in ``sample_rate`` samples).

        Reads past the end are zero-padded, so every track of a song yields the same length.
        """
        if self.audio is not None:
            stop = self.audio.shape[1] if num_samples is None else start + num_samples
            out = self.audio[:, start:stop]
        else:
            file_rate = audio_info(self.path)[0]
            file_start = int(round(start * file_rate / sample_rate))
            file_frames = (
                -1
                if num_samples is None
                else int(math.ceil(num_samples * file_rate / sample_rate)) + 1
            )
            out, _ = read_audio(self.path, start=file_start, frames=file_frames)
            if file_rate != sample_rate:
                out = resample(out, file_rate, sample_rate)
            if num_samples is not None:
                out = out[:, :num_samples]
        if num_samples is not None and out.shape[1] < num_samples:
            out = np.pad(out, ((0, 0), (0, num_samples - out.shape[1])))
        return np.ascontiguousarray(out, dtype=np.float32)


@dataclass
class Song:
    """A multitrack song: tracks, sample rate, optional stereo target, metadata.

    Args:
        song_id: unique id within its dataset (used for splits and passage ids).
        tracks: the channels, in the dataset's order (the console does not care).
        sample_rate: rate of every array this song returns (Hz).
        num_samples: length of the song in samples at ``sample_rate``.
        target: the reference stereo mix as a track, if the dataset has one.
        metadata: anything else (tempo, genre, source paths, engineer settings...).
    """

    song_id: str
    tracks: list[Track]
    sample_rate: int
    num_samples: int
    target: Track | None = None
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = [t.name for t in self.tracks]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"song {self.song_id!r}: duplicate track names {duplicates}")

    @property
    def duration_seconds(self) -> float:
        return self.num_samples / self.sample_rate

    @property
    def track_names(self) -> list[str]:
        return [t.name for t in self.tracks]

    @property
    def roles(self) -> list[str]:
        return [t.role for t in self.tracks]

    def track_audio(
        self, start: int = 0, num_samples: int | None = None, mono: bool = True
    ) -> np.ndarray:
        """All tracks stacked: ``(tracks, samples)`` if mono else a list-like ``(tracks, 2, samples)``.

        Stereo tracks are averaged to mono when ``mono`` (the console's channels are mono);
        with ``mono=False`` every track is returned with two channels.
        """
        n = self.num_samples - start if num_samples is None else num_samples
        out = np.zeros((len(self.tracks), 1 if mono else 2, n), dtype=np.float32)
        for i, track in enumerate(self.tracks):
            audio = track.read(self.sample_rate, start, n)
            if mono:
                out[i, 0] = audio.mean(axis=0)
            else:
                out[i] = audio if audio.shape[0] == 2 else np.repeat(audio[:1], 2, axis=0)
        return out[:, 0] if mono else out

    def target_audio(self, start: int = 0, num_samples: int | None = None) -> np.ndarray:
        """The stereo target ``(2, samples)``; raises if the song has none."""
        if self.target is None:
            raise ValueError(f"song {self.song_id!r} has no target mix")
        n = self.num_samples - start if num_samples is None else num_samples
        audio = self.target.read(self.sample_rate, start, n)
        return audio if audio.shape[0] == 2 else np.repeat(audio[:1], 2, axis=0)

    def excerpt(self, start: int, num_samples: int) -> Song:
        """A new in-memory song holding ``num_samples`` from ``start`` of every track and the target."""
        if start < 0 or start + num_samples > self.num_samples:
            raise ValueError(
                f"song {self.song_id!r}: excerpt {start}+{num_samples} samples outside its "
                f"{self.num_samples} samples ({self.duration_seconds:.2f} s)"
            )
        tracks = [
            Track(t.name, t.role, audio=t.read(self.sample_rate, start, num_samples))
            for t in self.tracks
        ]
        target = None
        if self.target is not None:
            target = Track(
                self.target.name, self.target.role, audio=self.target_audio(start, num_samples)
            )
        return replace(
            self,
            tracks=tracks,
            num_samples=num_samples,
            target=target,
            metadata={**self.metadata, "excerpt_start": start},
        )

    def load(self) -> Song:
        """The whole song in memory."""
        return self.excerpt(0, self.num_samples)


@dataclass(frozen=True)
class Passage:
    """A fixed-length excerpt of a song: the unit a listener rates.

    ``passage_id`` is stable across runs (song id and start time), so ratings can be
    joined back to the audio they judged.
    """

    song_id: str
    start_seconds: float
    length_seconds: float

    @property
    def passage_id(self) -> str:
        return f"{self.song_id}@{self.start_seconds:07.2f}s"

    def sample_range(self, sample_rate: int) -> tuple[int, int]:
        """``(start, num_samples)`` at ``sample_rate``."""
        return int(round(self.start_seconds * sample_rate)), int(
            round(self.length_seconds * sample_rate)
        )


def find_passages(
    song: Song,
    length_seconds: float,
    count: int = 1,
    hop_seconds: float = 1.0,
    min_loudness_lufs: float = -50.0,
) -> list[Passage]:
    """Choose ``count`` non-overlapping passages where the target mix is loudest.

    Candidate windows start every ``hop_seconds``; windows whose target is quieter than
    ``min_loudness_lufs`` (or that hold silence of more than a quarter of their length)
    are never chosen. Among the rest the loudest come first, then passages are returned
    in time order. Without a target, the sum of the tracks stands in for it.

    Raises:
        ValueError: the song is shorter than one passage, or no window is loud enough.
    """
    if length_seconds <= 0:
        raise ValueError(f"passage length must be positive, got {length_seconds}")
    if length_seconds > song.duration_seconds + 1e-9:
        raise ValueError(
            f"passage of {length_seconds:g} s is longer than song {song.song_id!r} "
            f"({song.duration_seconds:.2f} s)"
        )
    sr = song.sample_rate
    reference = (
        song.target_audio()
        if song.target is not None
        else song.track_audio().sum(axis=0, keepdims=True)
    )
    win = int(round(length_seconds * sr))
    hop = max(1, int(round(hop_seconds * sr)))
    starts = list(range(0, reference.shape[1] - win + 1, hop)) or [0]
    # 100 ms RMS frames find dropouts that integrated loudness would average away.
    frame = sr // 10
    scored: list[tuple[float, int]] = []
    for start in starts:
        chunk = reference[:, start : start + win]
        loudness = integrated_loudness(chunk, sr)
        if loudness < max(min_loudness_lufs, SILENCE_LUFS):
            continue
        frames = chunk[:, : chunk.shape[1] // frame * frame].reshape(chunk.shape[0], -1, frame)
        rms_db = 10 * np.log10(np.mean(frames**2, axis=(0, 2)) + 1e-12)
        if np.mean(rms_db < loudness - 40) > 0.25:
            continue
        scored.append((loudness, start))
    if not scored:
        raise ValueError(
            f"song {song.song_id!r}: no {length_seconds:g} s window is loud enough for a passage"
        )
    chosen: list[int] = []
    for _, start in sorted(scored, key=lambda s: (-s[0], s[1])):
        if all(abs(start - other) >= win for other in chosen):
            chosen.append(start)
        if len(chosen) == count:
            break
    return [Passage(song.song_id, round(s / sr, 3), length_seconds) for s in sorted(chosen)]

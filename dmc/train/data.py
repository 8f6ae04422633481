"""Torch datasets for the three training tasks, all deterministic per item index.

Item ``i`` of every dataset is drawn from a generator seeded with ``(seed, i)``, so a
batch is a pure function of the step, the process rank and the seed: runs resume
exactly and DistributedDataParallel ranks see different data without coordination.

- :class:`ConsoleSegments`: segments of staged multitracks and their target mixes
  (the console), padded with a mask by :func:`collate_tracks`.
- :class:`EffectTriples`: (input, parameters, target) made on the fly by running a clean
  track through the real EQ -> compressor -> reverb at random settings (the TCN).
- :class:`RoleExcerpts`: track excerpts labelled with their role (the encoder).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm import tqdm

from dmc.audio import db_to_gain
from dmc.effects.chain import process_channel
from dmc.effects.params import TCN_PARAMETERS, expand_to_strip
from dmc.multitrack import Song
from dmc.roles import ROLES
from dmc.staging import GainStaging

#: Excerpts quieter than this (RMS, dBFS) are redrawn: silence teaches nothing.
MIN_RMS_DB = -60.0


@dataclass
class StagedSong:
    """A song in memory: staged mono tracks ``(T, S)``, target ``(2, S)`` or None, roles."""

    song_id: str
    tracks: np.ndarray
    target: np.ndarray | None
    roles: list[str]
    sample_rate: int


def stage_songs(songs: Sequence[Song], staging: GainStaging = GainStaging(), progress: bool = True,
                sample_rate: int | None = None) -> list[StagedSong]:
    """Read songs and trim every track with song-level gain-staging gains (as every mixer sees them)."""
    out = []
    for song in tqdm(songs, desc="loading songs", disable=not progress, leave=False):
        if sample_rate is not None and song.sample_rate != sample_rate:
            raise ValueError(f"song {song.song_id!r} is at {song.sample_rate} Hz; the models need {sample_rate} Hz")
        tracks = song.track_audio()
        staged = staging.apply(tracks, song.sample_rate)
        target = song.target_audio() if song.target is not None else None
        out.append(StagedSong(song.song_id, staged, target, song.roles, song.sample_rate))
    return out


def _rms_db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-20))


def _start(rng: np.random.Generator, length: int, segment: int) -> int:
    return int(rng.integers(0, length - segment + 1)) if length > segment else 0


def _excerpt(audio: np.ndarray, start: int, segment: int) -> np.ndarray:
    piece = audio[..., start : start + segment]
    if piece.shape[-1] < segment:
        piece = np.pad(piece, [(0, 0)] * (piece.ndim - 1) + [(0, segment - piece.shape[-1])])
    return piece


class ConsoleSegments(Dataset):
    """Random segments of whole multitracks: ``{"tracks": (T, S), "target": (2, S)}``.

    Args:
        songs: staged songs with targets.
        segment_samples: segment length.
        length: items per "epoch" (only for ``len``; any index is valid). Default: 10000.
        seed: base seed. Default: 0.
        tries: starts tried per item; the one with the loudest target wins. Default: 4.
    """

    def __init__(self, songs: Sequence[StagedSong], segment_samples: int, length: int = 10000, seed: int = 0,
                 tries: int = 4):
        if not songs:
            raise ValueError("no songs to draw segments from")
        missing = [s.song_id for s in songs if s.target is None]
        if missing:
            raise ValueError(f"songs without a target mix cannot train a console: {', '.join(missing[:5])}")
        self.songs = list(songs)
        self.segment_samples = segment_samples
        self.length = length
        self.seed = seed
        self.tries = tries

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([self.seed, index])
        song = self.songs[int(rng.integers(len(self.songs)))]
        n = song.tracks.shape[1]
        starts = [_start(rng, n, self.segment_samples) for _ in range(self.tries)]
        start = max(starts, key=lambda s: _rms_db(song.target[:, s : s + self.segment_samples]))
        return {
            "tracks": torch.from_numpy(_excerpt(song.tracks, start, self.segment_samples)),
            "target": torch.from_numpy(_excerpt(song.target, start, self.segment_samples)),
        }


def collate_tracks(items: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Stack items with different track counts: zero-pad tracks and add a ``mask`` ``(B, T_max)``."""
    count = max(item["tracks"].shape[0] for item in items)
    samples = items[0]["tracks"].shape[1]
    tracks = torch.zeros(len(items), count, samples)
    mask = torch.zeros(len(items), count, dtype=torch.bool)
    for i, item in enumerate(items):
        tracks[i, : item["tracks"].shape[0]] = item["tracks"]
        mask[i, : item["tracks"].shape[0]] = True
    return {"tracks": tracks, "mask": mask, "target": torch.stack([item["target"] for item in items])}


class EffectTriples(Dataset):
    """``{"input": (1, S), "params": (22,), "target": (1, S)}`` from the real effects chain.

    The input is a clean staged track excerpt with a random input gain (the console's
    gain stage sits before the effects); the parameters are drawn uniformly in the
    normalised space, each effect group bypassed with ``bypass_probability`` so the TCN
    also learns the neutral settings the console starts from.

    Args:
        songs: staged songs (only their tracks are used).
        segment_samples: excerpt length.
        gain_range_db: input gain drawn uniformly in +-this. Default: 12.
        bypass_probability: chance per group (eq, compressor, reverb). Default: 0.25.
        length, seed: as :class:`ConsoleSegments`.
    """

    def __init__(self, songs: Sequence[StagedSong], segment_samples: int, gain_range_db: float = 12.0,
                 bypass_probability: float = 0.25, length: int = 10000, seed: int = 0):
        self.tracks = [track for song in songs for track in song.tracks if _rms_db(track) > MIN_RMS_DB]
        if not self.tracks:
            raise ValueError("no audible tracks to draw effect examples from")
        self.sample_rate = songs[0].sample_rate
        self.segment_samples = segment_samples
        self.gain_range_db = gain_range_db
        self.bypass = {group: bypass_probability for group in ("eq", "compressor", "reverb")}
        self.length = length
        self.seed = seed

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([self.seed, index])
        for _ in range(10):
            track = self.tracks[int(rng.integers(len(self.tracks)))]
            start = _start(rng, track.shape[-1], self.segment_samples)
            excerpt = _excerpt(track, start, self.segment_samples)
            if _rms_db(excerpt) > MIN_RMS_DB:
                break
        excerpt = excerpt * np.float32(db_to_gain(rng.uniform(-self.gain_range_db, self.gain_range_db)))
        params = TCN_PARAMETERS.sample(rng, 1, self.bypass)[0]
        strip = expand_to_strip(TCN_PARAMETERS.denormalize(params.astype(np.float64)), TCN_PARAMETERS)
        target = process_channel(excerpt, self.sample_rate, strip, stages=("eq", "compressor", "reverb"))
        return {
            "input": torch.from_numpy(excerpt.astype(np.float32)[None]),
            "params": torch.from_numpy(params),
            "target": torch.from_numpy(target[None]),
        }


class RoleExcerpts(Dataset):
    """``{"audio": (S,), "role": int}``: excerpts of tracks labelled with their :data:`ROLES` index.

    Roles are drawn uniformly among those present, then a track of that role, so rare
    roles are not drowned by common ones. A random gain of +-``gain_range_db`` makes the
    classifier level-blind (level reaches the console through explicit features).
    """

    def __init__(self, songs: Sequence[StagedSong], segment_samples: int, gain_range_db: float = 10.0,
                 length: int = 10000, seed: int = 0):
        self.by_role: dict[int, list[np.ndarray]] = {}
        for song in songs:
            for track, role in zip(song.tracks, song.roles):
                if _rms_db(track) > MIN_RMS_DB:
                    self.by_role.setdefault(ROLES.index(role), []).append(track)
        if not self.by_role:
            raise ValueError("no audible tracks to draw role examples from")
        self.roles = sorted(self.by_role)
        self.segment_samples = segment_samples
        self.gain_range_db = gain_range_db
        self.length = length
        self.seed = seed

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([self.seed, index])
        role = self.roles[int(rng.integers(len(self.roles)))]
        tracks = self.by_role[role]
        for _ in range(10):
            track = tracks[int(rng.integers(len(tracks)))]
            excerpt = _excerpt(track, _start(rng, track.shape[-1], self.segment_samples), self.segment_samples)
            if _rms_db(excerpt) > MIN_RMS_DB:
                break
        excerpt = excerpt * np.float32(db_to_gain(rng.uniform(-self.gain_range_db, self.gain_range_db)))
        return {"audio": torch.from_numpy(excerpt.astype(np.float32)), "role": torch.tensor(role)}


def batch_indices(step: int, rank: int, world_size: int, batch_size: int) -> list[int]:
    """Dataset indices of one process's batch at ``step``: disjoint across ranks and steps."""
    first = (step * world_size + rank) * batch_size
    return list(range(first, first + batch_size))


def fixed_items(dataset: Dataset, count: int) -> list:
    """The first ``count`` items: a fixed validation set (the dataset's own seed makes it differ from training)."""
    return [dataset[i] for i in range(count)]

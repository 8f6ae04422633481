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

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm import tqdm

from dmc.audio import db_to_gain, power_to_db
from dmc.effects.chain import process_channel
from dmc.effects.params import TCN_PARAMETERS, expand_to_strip
from dmc.multitrack import Song
from dmc.roles import DRUM_ROLES, ROLES, side_from_name
from dmc.staging import GainStaging
from dmc.stereo_image import KIT_ROLES, MixFit, PanEstimate, fit_mix

#: Excerpts quieter than this (RMS, dBFS) are redrawn: silence teaches nothing.
MIN_RMS_DB = -60.0


@dataclass
class StagedSong:
    """A song and its song-level gain-staging gains; audio is read (lazily) already staged.

    Songs whose tracks point at files are read excerpt by excerpt, so a 300-song dataset
    needs no more memory than one batch.
    """

    song: Song
    gains_db: np.ndarray

    @property
    def song_id(self) -> str:
        return self.song.song_id

    @property
    def roles(self) -> list[str]:
        return self.song.roles

    @property
    def num_samples(self) -> int:
        return self.song.num_samples

    @property
    def sample_rate(self) -> int:
        return self.song.sample_rate

    def tracks(self, start: int = 0, num_samples: int | None = None) -> np.ndarray:
        """Staged mono tracks ``(T, num_samples)``."""
        audio = self.song.track_audio(start, num_samples)
        return (audio * db_to_gain(self.gains_db)[:, None]).astype(np.float32)

    def track(self, index: int, start: int, num_samples: int) -> np.ndarray:
        """One staged mono track ``(num_samples,)``."""
        audio = self.song.tracks[index].read(self.sample_rate, start, num_samples).mean(axis=0)
        return (audio * db_to_gain(self.gains_db[index])).astype(np.float32)

    def target(self, start: int = 0, num_samples: int | None = None) -> np.ndarray:
        return self.song.target_audio(start, num_samples)


def song_gains_db(song: Song, staging: GainStaging | None = None) -> np.ndarray:
    """Song-level staging gains: from the song's metadata when its dataset recorded them
    (``staging_gain_db``, top level or under ``engineer``, as the demo generator does), else measured."""
    for place in (song.metadata, song.metadata.get("engineer", {})):
        recorded = place.get("staging_gain_db") if isinstance(place, dict) else None
        if recorded is not None and len(recorded) == len(song.tracks):
            return np.asarray(recorded, dtype=np.float32)
    return (staging or GainStaging()).gains_db(song.track_audio(), song.sample_rate)


def stage_songs(
    songs: Sequence[Song],
    staging: GainStaging | None = None,
    progress: bool = True,
    sample_rate: int | None = None,
) -> list[StagedSong]:
    """Pair every song with the gains that trim its tracks to the working level (as every mixer sees them)."""
    out = []
    for song in tqdm(songs, desc="gain staging", disable=not progress, leave=False):
        if sample_rate is not None and song.sample_rate != sample_rate:
            raise ValueError(
                f"song {song.song_id!r} is at {song.sample_rate} Hz; the models need {sample_rate} Hz"
            )
        out.append(StagedSong(song, song_gains_db(song, staging)))
    return out


@dataclass(frozen=True)
class DrumBus:
    """How one song looks when its drum microphones arrive as one mono drum bus.

    Sessions often come with the kit already summed ("drums.wav"). The bus is the staged
    microphones' sum, staged again as a track of its own (``gain_db``), so it reaches the
    console at the level any track does. A mono bus cannot be spread the way the
    engineer spread the microphones, and an engineer given one keeps it in the middle,
    so the target changes too: the side signal the microphones put into the mix (read
    off ``fit``, :meth:`dmc.stereo_image.MixFit.side`) is taken out, which centres them
    and leaves everything else, reverb included, where it was.

    Attributes:
        microphones: indices of the summed drum tracks.
        others: indices of the tracks that stay as they are, in order.
        gain_db: staging gain of the summed microphones (dB).
        fit: the song's target fitted on its staged tracks (:func:`dmc.stereo_image.fit_mix`).
    """

    microphones: np.ndarray
    others: np.ndarray
    gain_db: float
    fit: MixFit

    def tracks(self, tracks: np.ndarray) -> np.ndarray:
        """``others`` then the bus, from the song's staged ``tracks`` ``(T, S)``."""
        bus = tracks[self.microphones].sum(axis=0) * db_to_gain(self.gain_db)
        return np.concatenate([tracks[self.others], bus[None].astype(np.float32)])

    def target(self, tracks: np.ndarray, target: np.ndarray) -> np.ndarray:
        """The ``target`` ``(2, S)`` of the same excerpt as ``tracks``, with the drums centred."""
        side = self.fit.side(tracks, self.microphones)
        return (target + np.stack([-side, side])).astype(np.float32)

    def reference(self, song_pans: PanEstimate) -> PanEstimate:
        """Pans and shares of ``others`` then the bus (centre, the microphones' shares)."""
        pans = np.append(song_pans.pans[self.others], 0.5).astype(np.float32)
        shares = np.append(song_pans.shares[self.others], song_pans.shares[self.microphones].sum())
        return PanEstimate(pans, shares.astype(np.float32))


def drum_bus_view(
    song: StagedSong, tracks: np.ndarray | None = None, fit: MixFit | None = None
) -> DrumBus | None:
    """The drum-bus view of ``song``, or None if it has fewer than two drum microphones.

    A track already labelled ``drums`` is a bus itself and is never summed again. The bus
    is staged by the default :class:`GainStaging`, as every mixer stages a track.
    ``tracks`` and ``fit``: the song's staged tracks and its target's fit on them, when
    the caller has them already.
    """
    roles = song.roles
    microphones = [i for i, role in enumerate(roles) if role in DRUM_ROLES and role != "drums"]
    if len(microphones) < 2:
        return None
    others = [i for i in range(len(roles)) if i not in microphones]
    tracks = song.tracks() if tracks is None else tracks
    if fit is None:
        fit = fit_mix(tracks, song.target(), song.sample_rate)
    bus = tracks[microphones].sum(axis=0)
    gain_db = float(GainStaging().gains_db(bus[None], song.sample_rate)[0])
    return DrumBus(np.asarray(microphones), np.asarray(others, dtype=int), gain_db, fit)


def _rms_db(x: np.ndarray) -> float:
    return float(power_to_db(np.mean(np.square(x, dtype=np.float64))))


def _start(rng: np.random.Generator, length: int, segment: int) -> int:
    return int(rng.integers(0, length - segment + 1)) if length > segment else 0


def _audible_excerpt(
    rng: np.random.Generator,
    songs: Sequence[StagedSong],
    choices: Sequence[tuple[int, int]],
    segment: int,
    tries: int = 10,
) -> np.ndarray:
    """A staged excerpt of a random (song, track) from ``choices``, redrawn while it is silent."""
    for _ in range(tries):
        s, t = choices[int(rng.integers(len(choices)))]
        excerpt = songs[s].track(t, _start(rng, songs[s].num_samples, segment), segment)
        if _rms_db(excerpt) > MIN_RMS_DB:
            break
    return excerpt


def follow_envelope(
    drums: np.ndarray, floor: float, frame_samples: int = 1024, smooth_frames: int = 3
) -> np.ndarray:
    """A gain ``(S,)`` from ``floor`` to 1 that rides the level of ``drums`` ``(S,)``.

    Frame RMS (``frame_samples``), smoothed over ``smooth_frames`` frames and scaled to
    its peak, mapped to ``floor + (1 - floor) * level`` and interpolated to samples: a
    part multiplied by it swells with every hit, as a strummed or comped part does.
    """
    samples = drums.shape[-1]
    frames = max(1, samples // frame_samples)
    used = drums[: frames * frame_samples].reshape(frames, -1)
    level = np.sqrt(np.mean(used.astype(np.float64) ** 2, axis=1))
    window = np.ones(smooth_frames)
    # a moving mean that does not sag at the ends
    level = np.convolve(level, window, mode="same") / np.convolve(np.ones(frames), window, "same")
    level = level / level.max() if level.max() > 0 else np.ones_like(level)
    centres = (np.arange(frames) + 0.5) * frame_samples
    gain = floor + (1.0 - floor) * np.interp(np.arange(samples), centres, level)
    return gain.astype(np.float32)


class ConsoleSegments(Dataset):
    """Random segments of whole multitracks: ``{"tracks": (T, S), "target": (2, S), "side": (T,)}``.

    ``side`` is each track's side hint from its name (:func:`dmc.roles.side_from_name`);
    with ``side_dropout`` an item loses all its hints with that probability, so a console
    with side hints also learns to mix a pair whose names say nothing (``OH1``, ``OH2``).

    With ``reference_pans`` items also hold ``"reference_pan"``, ``"pan_share"`` and
    ``"kit"`` ``(T,)``: where the target mix put each track, its share of the mix's energy
    and whether it belongs to the drum kit (1; :data:`dmc.stereo_image.KIT_ROLES`),
    estimated once per song from the whole song (:func:`dmc.stereo_image.estimate_pans`,
    about 0.5 s a 20 s song), all at construction so that training steps cost what they
    always cost.

    Args:
        songs: staged songs with targets.
        segment_samples: segment length.
        length: items per "epoch" (only for ``len``; any index is valid). Default: 10000.
        seed: base seed. Default: 0.
        tries: starts tried per item; the one with the loudest target wins. Default: 4.
        reference_pans: add the target's per-track pans. Default: False.
        side_dropout: probability that an item's side hints are all zero. Default: 0.
        drum_bus: probability that an item shows the song's drum microphones summed into
            one mono bus, as many sessions arrive, against the target with the drums
            centred (:class:`DrumBus`); songs with fewer than two drum microphones never
            do. Default: 0.
        follow_drums: probability that one accompaniment track of an item (a role
            outside :data:`dmc.stereo_image.KIT_ROLES`) follows the drums, as strummed or
            comped parts do: its level rides the kit's envelope (:func:`follow_envelope`)
            and the target changes with it by the track's fitted contribution
            (:meth:`dmc.stereo_image.MixFit.contribution`). The demo's parts seldom follow
            the drums, and a console that weighs tracks by envelope correlation
            (``context="mean+related"``) met such a part only on held-out songs. Default: 0.
    """

    def __init__(
        self,
        songs: Sequence[StagedSong],
        segment_samples: int,
        length: int = 10000,
        seed: int = 0,
        tries: int = 4,
        reference_pans: bool = False,
        progress: bool = True,
        side_dropout: float = 0.0,
        drum_bus: float = 0.0,
        follow_drums: float = 0.0,
    ):
        for name, probability in (
            ("side_dropout", side_dropout),
            ("drum_bus", drum_bus),
            ("follow_drums", follow_drums),
        ):
            if not 0.0 <= probability <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {probability}")
        if not songs:
            raise ValueError("no songs to draw segments from")
        missing = [s.song_id for s in songs if s.song.target is None]
        if missing:
            raise ValueError(
                f"songs without a target mix cannot train a console: {', '.join(missing[:5])}"
            )
        self.songs = list(songs)
        self.segment_samples = segment_samples
        self.length = length
        self.seed = seed
        self.tries = tries
        self.reference_pans = reference_pans
        self.side_dropout = side_dropout
        self.drum_bus = drum_bus
        self.follow_drums = follow_drums
        # read off the names and roles once per song, not per item
        self.kits = [
            torch.tensor([float(role in KIT_ROLES) for role in song.roles]) for song in self.songs
        ]
        self.sides = [
            torch.tensor([side_from_name(name) for name in song.song.track_names])
            for song in self.songs
        ]
        self.pans: list[PanEstimate] = []
        self.buses: list[DrumBus | None] = []
        self.fits: list[MixFit] = []
        if reference_pans or drum_bus or follow_drums:
            for song in tqdm(
                self.songs, desc="fitting the targets", disable=not progress, leave=False
            ):
                tracks = song.tracks()
                fit = fit_mix(tracks, song.target(), song.sample_rate)  # one fit serves both
                if reference_pans:
                    self.pans.append(fit.pans())
                if drum_bus:
                    self.buses.append(drum_bus_view(song, tracks=tracks, fit=fit))
                if follow_drums:
                    self.fits.append(fit)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([self.seed, index])
        song_index = int(rng.integers(len(self.songs)))
        song = self.songs[song_index]
        segment = self.segment_samples
        starts = [_start(rng, song.num_samples, segment) for _ in range(self.tries)]
        targets = [song.target(start, segment) for start in starts]
        best = max(range(len(starts)), key=lambda i: _rms_db(targets[i]))
        item = {
            "tracks": torch.from_numpy(song.tracks(starts[best], segment)),
            "target": torch.from_numpy(np.ascontiguousarray(targets[best], dtype=np.float32)),
            "side": self.sides[song_index],
        }
        if self.side_dropout and rng.random() < self.side_dropout:  # drawn last: segments stay
            item["side"] = torch.zeros_like(item["side"])
        estimate = self.pans[song_index] if self.reference_pans else None
        kit = self.kits[song_index]
        bus = self.buses[song_index] if self.drum_bus else None
        use_bus = bus is not None and rng.random() < self.drum_bus
        if self.follow_drums:
            self._follow_drums(item, self.fits[song_index], kit.numpy() > 0, rng)
        if use_bus:
            tracks = item["tracks"].numpy()
            item["target"] = torch.from_numpy(bus.target(tracks, item["target"].numpy()))
            item["tracks"] = torch.from_numpy(bus.tracks(tracks))
            item["side"] = torch.cat([item["side"][bus.others], torch.zeros(1)])
            kit = torch.cat([kit[bus.others], torch.ones(1)])
            estimate = bus.reference(estimate) if estimate is not None else None
        if estimate is not None:
            item["reference_pan"] = torch.from_numpy(estimate.pans)
            item["pan_share"] = torch.from_numpy(estimate.shares)
            item["kit"] = kit
        return item

    def _follow_drums(
        self, item: dict, fit: MixFit, in_kit: np.ndarray, rng: np.random.Generator
    ) -> None:
        """With probability ``follow_drums``, one part of ``item`` rides the kit (in place)."""
        kit_tracks, parts = np.flatnonzero(in_kit), np.flatnonzero(~in_kit)
        if not (kit_tracks.size and parts.size and rng.random() < self.follow_drums):
            return
        tracks = item["tracks"].numpy().copy()
        part = int(rng.choice(parts))
        gain = follow_envelope(tracks[kit_tracks].sum(axis=0), floor=rng.uniform(0.1, 0.4))
        change = np.zeros_like(tracks)
        change[part] = tracks[part] * (gain - 1.0)
        contribution = fit.contribution(change, [part])
        tracks[part] += change[part]
        item["tracks"] = torch.from_numpy(tracks)
        item["target"] = item["target"] + torch.from_numpy(contribution.astype(np.float32))


def collate_tracks(items: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Stack items with different track counts: zero-pad tracks and add a ``mask`` ``(B, T_max)``.

    Per-track fields (``side``, ``reference_pan``, ``pan_share``, ``kit``), where the
    items have them, are padded with no side, centre, no share and not kit.
    """
    count = max(item["tracks"].shape[0] for item in items)
    samples = items[0]["tracks"].shape[1]
    tracks = torch.zeros(len(items), count, samples)
    mask = torch.zeros(len(items), count, dtype=torch.bool)
    for i, item in enumerate(items):
        tracks[i, : item["tracks"].shape[0]] = item["tracks"]
        mask[i, : item["tracks"].shape[0]] = True
    batch = {
        "tracks": tracks,
        "mask": mask,
        "target": torch.stack([item["target"] for item in items]),
    }
    for name, padding in (("side", 0.0), ("reference_pan", 0.5), ("pan_share", 0.0), ("kit", 0.0)):
        if name in items[0]:
            values = torch.full((len(items), count), padding)
            for i, item in enumerate(items):
                values[i, : item[name].shape[0]] = item[name]
            batch[name] = values
    return batch


#: How :class:`EffectTriples` makes its targets: the real chain (pedalboard, one item at a
#: time) or its exact copy (dmc.dsp, a whole batch in one call; the same audio to -70 dB).
TARGET_SOURCES = ("chain", "dsp")


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
        targets: ``chain`` (pedalboard per item) or ``dsp`` (:mod:`dmc.dsp`, batched in
            :meth:`batch`: several times faster, and the input pipeline of a GPU run).
            Default: ``chain``.
    """

    def __init__(
        self,
        songs: Sequence[StagedSong],
        segment_samples: int,
        gain_range_db: float = 12.0,
        bypass_probability: float = 0.25,
        length: int = 10000,
        seed: int = 0,
        targets: str = "chain",
    ):
        if targets not in TARGET_SOURCES:
            raise ValueError(f"unknown targets {targets!r}; choose {' or '.join(TARGET_SOURCES)}")
        self.targets = targets
        self.songs = list(songs)
        self.tracks = [(s, t) for s, song in enumerate(self.songs) for t in range(len(song.roles))]
        if not self.tracks:
            raise ValueError("no tracks to draw effect examples from")
        self.sample_rate = self.songs[0].sample_rate
        self.segment_samples = segment_samples
        self.gain_range_db = gain_range_db
        self.bypass = dict.fromkeys(("eq", "compressor", "reverb"), bypass_probability)
        self.length = length
        self.seed = seed

    def __len__(self) -> int:
        return self.length

    def _draw(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Item ``index``'s input excerpt ``(S,)`` and normalised parameters ``(22,)``."""
        rng = np.random.default_rng([self.seed, index])
        excerpt = _audible_excerpt(rng, self.songs, self.tracks, self.segment_samples)
        excerpt = excerpt * np.float32(
            db_to_gain(rng.uniform(-self.gain_range_db, self.gain_range_db))
        )
        return excerpt.astype(np.float32), TCN_PARAMETERS.sample(rng, 1, self.bypass)[0]

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {key: value[0] for key, value in self.batch([index]).items()}

    def batch(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        """Items ``indices``, stacked into ``(B, 1, S)`` / ``(B, 22)`` tensors."""
        drawn = [self._draw(i) for i in indices]
        inputs = np.stack([excerpt for excerpt, _ in drawn])
        params = np.stack([p for _, p in drawn])
        real = TCN_PARAMETERS.denormalize(params.astype(np.float64))
        if self.targets == "dsp":
            from dmc.dsp import process

            with torch.no_grad():
                targets = process(
                    torch.from_numpy(inputs), torch.from_numpy(real), self.sample_rate
                ).numpy()
        else:
            targets = np.stack(
                [
                    process_channel(
                        excerpt,
                        self.sample_rate,
                        expand_to_strip(values, TCN_PARAMETERS),
                        stages=("eq", "compressor", "reverb"),
                    )
                    for excerpt, values in zip(inputs, real)
                ]
            )
        return {
            "input": torch.from_numpy(inputs[:, None]),
            "params": torch.from_numpy(params),
            "target": torch.from_numpy(targets.astype(np.float32)[:, None]),
        }


class RoleExcerpts(Dataset):
    """``{"audio": (S,), "role": int}``: excerpts of tracks labelled with their :data:`ROLES` index.

    Roles are drawn uniformly among those present, then a track of that role, so rare
    roles are not drowned by common ones. A random gain of +-``gain_range_db`` makes the
    classifier level-blind (level reaches the console through explicit features).
    """

    def __init__(
        self,
        songs: Sequence[StagedSong],
        segment_samples: int,
        gain_range_db: float = 10.0,
        length: int = 10000,
        seed: int = 0,
    ):
        self.songs = list(songs)
        self.by_role: dict[int, list[tuple[int, int]]] = {}
        for s, song in enumerate(self.songs):
            for t, role in enumerate(song.roles):
                self.by_role.setdefault(ROLES.index(role), []).append((s, t))
        if not self.by_role:
            raise ValueError("no tracks to draw role examples from")
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
        excerpt = _audible_excerpt(rng, self.songs, self.by_role[role], self.segment_samples)
        excerpt = excerpt * np.float32(
            db_to_gain(rng.uniform(-self.gain_range_db, self.gain_range_db))
        )
        return {"audio": torch.from_numpy(excerpt.astype(np.float32)), "role": torch.tensor(role)}


#: Validation datasets are built with ``seed + VAL_SEED_OFFSET``: the same songs' data
#: seeded apart from training, and equal across recipes so their validation sets match.
VAL_SEED_OFFSET = 7919


def batch_indices(step: int, rank: int, world_size: int, batch_size: int) -> list[int]:
    """Dataset indices of one process's batch at ``step``: disjoint across ranks and steps."""
    first = (step * world_size + rank) * batch_size
    return list(range(first, first + batch_size))


def fixed_items(dataset: Dataset, count: int) -> list:
    """The first ``count`` items: a fixed validation set (the dataset's own seed makes it differ from training)."""
    return [dataset[i] for i in range(count)]

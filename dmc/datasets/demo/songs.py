"""One demo song from its seed: the performance, the raw multitrack and the engineer's target.

``generate_song(task, split, index)`` is a pure function of its arguments (and of the
shipped assets and this code): the seed comes from ``(task, split, index)``, so the test
split is fixed by its own seeds whatever the size of the training split. Independent
random streams drive the music, the microphones, the preamp gains and the engineer, so
changing one stage's rules does not reshuffle the others.

Raw tracks and the target are rounded to the 16-bit grid they are cached in, and the
target is mixed from the rounded tracks: a song loaded from the cache is bit-identical
to one generated in memory, and re-rendering the target from the cached tracks with
the stored settings reproduces it.
"""

from __future__ import annotations

import numpy as np

from dmc.audio import db_to_gain
from dmc.datasets.demo import assets, band, drumkit, engineer, grooves
from dmc.multitrack import Song, Track

#: Bump when the generator changes what it produces (also names the cache folder).
GENERATOR_VERSION = 1
TASKS = ("drums", "full")
SPLITS = ("train", "val", "test")
SPLIT_SIZES = {
    "drums": {"train": 200, "val": 20, "test": 5},
    "full": {"train": 100, "val": 10, "test": 6},
}
#: Song length range per split (seconds); test songs are fixed at 18 s.
DURATION_SECONDS = {"train": (18.0, 22.0), "val": (18.0, 22.0), "test": (18.0, 18.0)}
_SEED_BASE = 20_102_291  # the paper's arXiv number, so seeds are not 0, 1, 2...
#: The test split is a showcase (one passage per song in the listening test): each song
#: gets its own groove or genre and its own kit instead of a random draw.
TEST_DRUM_GROOVES = ("rock", "funk", "shuffle", "half_time", "disco")
TEST_DRUM_KITS = ("fluid_standard", "rumpf", "fluid_power", "fluid_jazz", "fluid_room")
TEST_GENRES = ("rock", "funk", "ballad", "disco", "swing", "half_time")
TEST_BAND_KITS = (
    "fluid_room",
    "fluid_standard",
    "fluid_brush",
    "fluid_power",
    "fluid_jazz",
    "rumpf",
)
SAMPLE_RATE = assets.SAMPLE_RATE


def check_song_index(task: str, split: str, index: int) -> None:
    """Raise a ValueError naming a bad task, split or index."""
    if task not in TASKS:
        raise ValueError(f"unknown demo task {task!r}; choose one of {', '.join(TASKS)}")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    size = SPLIT_SIZES[task][split]
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < size:
        raise ValueError(f"demo {task}/{split} has songs 0-{size - 1}, got index {index!r}")


def song_id(task: str, split: str, index: int) -> str:
    """Stable, readable id, e.g. ``demo-drums-test-003``."""
    return f"demo-{task}-{split}-{index:03d}"


def quantize_pcm16(audio: np.ndarray) -> np.ndarray:
    """Round to the values a 16-bit FLAC stores (libsndfile scales by 32768 both ways)."""
    # Scaling by a power of two is exact in float32, so no float64 copy is needed.
    scaled = np.rint(np.asarray(audio, dtype=np.float32) * np.float32(32768.0))
    return np.clip(scaled, -32768.0, 32767.0) * np.float32(1.0 / 32768.0)


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return round(float(value), 6)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _drum_take(
    rng: np.random.Generator,
    duration: float,
    num_samples: int,
    style: str | None,
    kit_name: str | None,
):
    drawn = str(rng.choice(list(grooves.STYLES)))
    style = drawn if style is None else style
    tempo = float(rng.uniform(*grooves.STYLES[style]))
    drummer = grooves.make_drummer(rng)
    ride_from = 4 if rng.random() < 0.35 and style != "swing" else None
    hits = grooves.perform(style, tempo, duration, rng, drummer, ride_from_bar=ride_from)
    kit = drumkit.choose_kit(rng, kit_name)
    return (
        hits,
        kit,
        drumkit.render_sources(hits, kit, num_samples),
        {
            "groove": style,
            "tempo_bpm": round(tempo, 2),
            "drummer": vars(drummer),
            "ride_from_bar": ride_from,
        },
    )


def generate_song(task: str, split: str, index: int) -> Song:
    """Generate one demo song in memory (tracks, target and metadata)."""
    check_song_index(task, split, index)
    seeds = np.random.SeedSequence([_SEED_BASE, TASKS.index(task), SPLITS.index(split), int(index)])
    music_rng, mic_rng, gain_rng, engineer_rng = (np.random.default_rng(s) for s in seeds.spawn(4))
    low, high = DURATION_SECONDS[split]
    duration = round(float(music_rng.uniform(low, high)), 2) if high > low else low
    num_samples = round(duration * SAMPLE_RATE)
    if task == "drums":
        test = split == "test"
        hits, kit, sources, facts = _drum_take(
            music_rng,
            duration,
            num_samples,
            TEST_DRUM_GROOVES[index] if test else None,
            TEST_DRUM_KITS[index] if test else None,
        )
        recording = drumkit.record(sources, drumkit.DRUM_CHANNELS, mic_rng)
        channels = recording.channels
        roles = dict(drumkit.CHANNEL_ROLES)
        instruments = dict.fromkeys(channels, kit.name)
        facts |= {"kit": kit.name, "kit_tuning_semitones": kit.tuning, "mics": recording.metadata}
        positions = recording.metadata["positions_m"]
    else:
        test = split == "test"
        take = band.play(
            music_rng,
            duration,
            TEST_GENRES[index] if test else None,
            TEST_BAND_KITS[index] if test else None,
        )
        channels, roles, instruments, hits = take.channels, take.roles, take.instruments, take.hits
        facts = take.metadata
        positions = take.metadata["drums"]["positions_m"]
    names = list(channels)
    preamp_db, loudness = drumkit.raw_gains(channels, gain_rng)
    raw = quantize_pcm16(
        np.stack([channels[n] * np.float32(db_to_gain(preamp_db[n])) for n in names])
    )
    raw_loudness = [loudness[n] + preamp_db[n] for n in names]
    context = {
        "hihat_hits_per_second": round(
            grooves.hits_per_second(hits, ("hihat_closed", "hihat_open", "hihat_pedal"), duration),
            3,
        ),
        "accompaniment_tracks": sum(
            roles[n] in ("bass", "keys", "guitar", "strings", "pad") for n in names
        ),
        "guitars": sum(roles[n] == "guitar" for n in names),
        "drum_x_m": {
            n: positions[drumkit.CLOSE_MIC_SOURCE[n]][0]
            for n in names
            if n in drumkit.CLOSE_MIC_SOURCE
        },
    }
    result = engineer.mix_song(
        task,
        raw,
        names,
        [roles[n] for n in names],
        raw_loudness,
        SAMPLE_RATE,
        engineer_rng,
        context,
    )
    target = quantize_pcm16(result.target)
    metadata = _jsonable(
        {
            "task": task,
            "split": split,
            "index": int(index),
            "generator_version": GENERATOR_VERSION,
            "duration_seconds": duration,
            "track_names": names,
            "roles": [roles[n] for n in names],
            "instruments": instruments,
            **facts,
            "raw_gain_db": [preamp_db[n] for n in names],
            "raw_loudness_lufs": raw_loudness,
            "engineer": {
                "style": result.style,
                "context": result.context,
                "stages": list(result.stages),
                "settings": result.settings,
                "staged_settings": result.staged_settings,
                "staging_gain_db": result.staging_gain_db,
            },
        }
    )
    tracks = [Track(n, roles[n], audio=raw[i : i + 1]) for i, n in enumerate(names)]
    return Song(
        song_id(task, split, index),
        tracks,
        SAMPLE_RATE,
        num_samples,
        target=Track("target", "other", audio=target),
        metadata=metadata,
    )

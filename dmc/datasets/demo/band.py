"""A band plays a seeded song: genre, arrangement, and the audio of every instrument track.

A genre ties the parts together (rock: driving bass, strummed or power-chord guitars,
organ or piano; funk: syncopated bass, offbeat chops, Rhodes; swing: walking bass,
charleston piano, swung eighths...). :func:`play` draws one, arranges 6-10 tracks
(drum channels, bass, keys, one or two guitars, a pad or strings, a lead standing in for
the vocal), writes their notes over a :class:`~dmc.datasets.demo.music.SongPlan` and
renders each from the sample bank; the drum channels come from the same kit recording
as the ``drums`` task.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dmc.datasets.demo import assets, drumkit, grooves, music, parts

SAMPLE_RATE = assets.SAMPLE_RATE


@dataclass(frozen=True)
class Genre:
    """What a genre lets each part play: groove, tempo range (BPM), patterns and instruments."""

    groove: str
    tempo_bpm: tuple[float, float]
    swing: bool
    bass: tuple[str, ...]
    keys: tuple[tuple[str, str], ...]
    guitars: tuple[tuple[str, str], ...]
    pads: tuple[str, ...]
    leads: tuple[str, ...]


GENRES = {
    "rock": Genre(
        "rock",
        (88, 148),
        False,
        ("eighths", "root_fifth", "quarters"),
        (("grand_piano", "quarters"), ("drawbar_organ", "whole"), ("grand_piano", "halves")),
        (("steel_guitar", "strum"), ("overdrive_guitar", "power"), ("clean_guitar", "arpeggio")),
        ("strings", "warm_pad"),
        ("alto_sax", "saw_lead", "trumpet", "choir"),
    ),
    "funk": Genre(
        "funk",
        (88, 116),
        False,
        ("syncopated", "octaves"),
        (("rhodes", "offbeats"), ("rhodes", "charleston"), ("drawbar_organ", "offbeats")),
        (("clean_guitar", "skank"), ("clean_guitar", "strum")),
        ("strings",),
        ("alto_sax", "trumpet", "flute"),
    ),
    "ballad": Genre(
        "ballad",
        (70, 90),
        False,
        ("whole", "root_fifth"),
        (("grand_piano", "arpeggio"), ("rhodes", "whole"), ("grand_piano", "whole")),
        (("steel_guitar", "arpeggio"), ("clean_guitar", "arpeggio"), ("steel_guitar", "strum")),
        ("strings", "warm_pad"),
        ("flute", "choir", "alto_sax"),
    ),
    "disco": Genre(
        "disco",
        (108, 126),
        False,
        ("octaves", "eighths"),
        (("grand_piano", "offbeats"), ("rhodes", "quarters")),
        (("clean_guitar", "skank"), ("clean_guitar", "strum")),
        ("strings",),
        ("saw_lead", "trumpet", "flute"),
    ),
    "swing": Genre(
        "swing",
        (110, 160),
        True,
        ("walking",),
        (("grand_piano", "charleston"), ("rhodes", "charleston")),
        (("clean_guitar", "skank"),),
        (),
        ("alto_sax", "trumpet", "flute"),
    ),
    "shuffle": Genre(
        "shuffle",
        (80, 128),
        True,
        ("root_fifth", "quarters"),
        (("drawbar_organ", "quarters"), ("grand_piano", "charleston")),
        (("clean_guitar", "strum"), ("overdrive_guitar", "power")),
        ("warm_pad",),
        ("alto_sax", "trumpet", "saw_lead"),
    ),
    "half_time": Genre(
        "half_time",
        (130, 165),
        False,
        ("whole", "eighths"),
        (("drawbar_organ", "whole"), ("grand_piano", "whole")),
        (("overdrive_guitar", "power"), ("clean_guitar", "arpeggio")),
        ("warm_pad", "strings"),
        ("saw_lead", "choir"),
    ),
}
#: Comfortable melody range (MIDI) of each lead instrument.
LEAD_RANGES = {
    "flute": (67, 86),
    "alto_sax": (55, 75),
    "trumpet": (58, 77),
    "choir": (55, 74),
    "saw_lead": (60, 80),
}
#: How long a note takes to die away after its note-off (seconds).
RELEASE_SECONDS = {
    "bass": 0.06,
    "keys": 0.15,
    "guitar": 0.08,
    "strings": 0.35,
    "pad": 0.5,
    "lead": 0.12,
}
DRUM_SETS = (
    ("kick", "snare", "overhead_L", "overhead_R"),
    ("kick", "snare", "hihat", "overhead_L", "overhead_R"),
    ("kick", "overhead_L", "overhead_R"),
)


@dataclass
class BandTake:
    """The un-gained tracks of a band song and what was played."""

    channels: dict[str, np.ndarray]
    roles: dict[str, str]
    instruments: dict[str, str]
    hits: list[grooves.Hit]
    metadata: dict


def _sustain(audio: np.ndarray, length: int, loop_from: int) -> np.ndarray:
    """Extend a held note by cross-fading loops of its steady part until it is ``length`` long."""
    if audio.size >= length:
        return audio[:length]
    loop = audio[loop_from:]
    fade = max(1, min(int(0.05 * SAMPLE_RATE), loop.size // 4))
    ramp = np.sqrt(np.linspace(0.0, 1.0, fade, dtype=np.float32))
    out = audio
    while out.size < length:
        joint = out[-fade:] * ramp[::-1] + loop[:fade] * ramp
        out = np.concatenate([out[:-fade], joint, loop[fade:]])
    return out[:length]


def render_part(
    notes: list[music.Note], instrument: str, release_seconds: float, num_samples: int
) -> np.ndarray:
    """The audio of one instrument playing ``notes``: float32 ``(num_samples,)``."""
    out = np.zeros(num_samples, dtype=np.float32)
    release = int(release_seconds * SAMPLE_RATE)
    for note in notes:
        audio, sustained = assets.note(instrument, note.pitch, note.velocity)
        held = max(1, int(note.duration_seconds * SAMPLE_RATE))
        if sustained:
            body = _sustain(
                audio, held + release, loop_from=min(int(0.3 * SAMPLE_RATE), audio.size // 3)
            ).copy()
        else:
            body = audio[: held + release].copy()
        if body.size > held:
            tail = body.size - held
            body[held:] *= np.cos(np.linspace(0.0, np.pi / 2, tail, dtype=np.float32)) ** 2
        start = max(0, round(note.start_seconds * SAMPLE_RATE))
        stop = min(num_samples, start + body.size)
        if stop > start:
            out[start:stop] += body[: stop - start]
    return out


def _choose(rng: np.random.Generator, options):
    return options[int(rng.integers(0, len(options)))]


def play(
    rng: np.random.Generator,
    duration_seconds: float,
    genre_name: str | None = None,
    kit_name: str | None = None,
) -> BandTake:
    """Arrange and render one band song of ``duration_seconds`` (genre and kit drawn unless given)."""
    drawn = str(rng.choice(list(GENRES)))
    genre_name = drawn if genre_name is None else genre_name
    genre = GENRES[genre_name]
    tempo = float(rng.uniform(*genre.tempo_bpm))
    plan = music.make_plan(
        rng, tempo, duration_seconds, genre.swing, sevenths=genre_name == "swing"
    )
    num_samples = round(duration_seconds * SAMPLE_RATE)
    # What the band plays: (name, role, instrument, notes).
    lines: list[tuple[str, str, str, list[music.Note]]] = []
    bass = str(rng.choice(assets.instrument_names("bass")))
    lines.append(("bass", "bass", bass, parts.bass_part(plan, rng, _choose(rng, genre.bass))))
    guitars = []
    if rng.random() < 0.85:
        guitars.append(_choose(rng, genre.guitars))
        if rng.random() < 0.4:
            guitars.append(_choose(rng, genre.guitars))
    has_keys = rng.random() < 0.8 or not guitars
    if has_keys:
        instrument, pattern = _choose(rng, genre.keys)
        notes = parts.keys_part(
            plan, rng, pattern, left_hand=instrument == "grand_piano" and pattern != "arpeggio"
        )
        lines.append(("keys", "keys", instrument, notes))
    for i, (instrument, pattern) in enumerate(guitars):
        name = "guitar" if len(guitars) == 1 else f"guitar_{i + 1}"
        lines.append(
            (
                name,
                "guitar",
                instrument,
                parts.guitar_part(plan, rng, pattern, rest_in_verse=i == 1),
            )
        )
    if genre.pads and rng.random() < 0.6:
        pad = str(rng.choice(genre.pads))
        role = "strings" if pad == "strings" else "pad"
        lines.append((role, role, pad, parts.pad_part(plan, rng)))
    lead = str(rng.choice(genre.leads))
    lines.append(
        ("lead", "lead", lead, music.melody(plan, rng, *LEAD_RANGES[lead], duration_seconds))
    )
    # 6-10 tracks in all: the drum channels fill the gap.
    drum_set = DRUM_SETS[int(rng.integers(0, len(DRUM_SETS)))]
    while len(lines) + len(drum_set) > 10:
        drum_set = DRUM_SETS[2]
        if len(lines) + len(drum_set) > 10:
            lines = [line for line in lines if line[0] != "guitar_2"]
    if len(lines) + len(drum_set) < 6:
        drum_set = DRUM_SETS[1]
    hits = grooves.perform(
        genre.groove,
        tempo,
        duration_seconds,
        rng,
        ride_from_bar=4 if rng.random() < 0.3 and genre.groove != "swing" else None,
    )
    kit = drumkit.choose_kit(rng, kit_name)
    recording = drumkit.record(drumkit.render_sources(hits, kit, num_samples), drum_set, rng)
    channels = dict(recording.channels)
    roles = {name: drumkit.CHANNEL_ROLES[name] for name in drum_set}
    instruments = dict.fromkeys(drum_set, kit.name)
    for name, role, instrument, notes in lines:
        channels[name] = render_part(notes, instrument, RELEASE_SECONDS[role], num_samples)
        roles[name] = role
        instruments[name] = instrument
    metadata = {
        "genre": genre_name,
        "groove": genre.groove,
        **plan.describe(),
        "kit": kit.name,
        "kit_tuning_semitones": kit.tuning,
        "drums": recording.metadata,
        "notes_per_track": {name: len(notes) for name, _, _, notes in lines},
    }
    return BandTake(channels, roles, instruments, hits, metadata)

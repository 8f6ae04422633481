"""Held-out multitracks: songs made from samples the demo dataset never uses.

The shipped consoles learned from the demo multitracks (FluidR3 and two hydrogen kits);
whether they mix a stereo image an engineer would accept is only worth checking on
material they never heard. This script builds small sessions from other Debian packages,
read at run time (nothing derived from them is committed, so GPL and CC-BY-SA kits are
fine here):

- drums from ``hydrogen-drumkits``: The Black Pearl 1.0 (GPL-2, Glen MacArthur),
  BJA_Pacific (CC-BY-SA-3.0-us) and Millo_MultiLayered3 (GPL-2, Emiliano Grilli), with
  their velocity layers; never rumpf_kit_z01_h2 or Audiophob, which the demo uses;
- band instruments from ``timgm6mb-soundfont`` (TimGM6mb.sf2, GPL-2, Tim Brechbill),
  rendered note by note with fluidsynth. MuseScore General is not used: most of its
  instruments are the FluidR3 recordings the demo was built from.

The performances come from the demo generator's own machinery (grooves, song plans,
parts, the close-mic and spaced-pair recording with bleed, the preamp gains), imported
and not changed. Each song is a folder of role-named mono FLAC tracks that
``python -m dmc.mix`` reads (``kick.flac``, ``overhead_L.flac``, ``bass.flac``...) and an
``info.json`` without any reference mix: roles, sources, licences, the mic geometry and
how much louder the hi-hat and the floor tom are in each overhead.

Usage::

    python scripts/make_heldout_multitracks.py                    # into ~/.cache/dmc/heldout
    python scripts/make_heldout_multitracks.py --out DIR --songs 3 --seed 0

Needs: ``apt-get install fluidsynth hydrogen-drumkits timgm6mb-soundfont``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from heldout_sources import (  # this script's folder is on sys.path when it runs
    APT_LINE,
    DEFAULT_OUT,
    GM_PROGRAMS,
    HYDROGEN,
    HYDROGEN_COPYRIGHT,
    KITS,
    SAMPLE_RATE,
    SOUNDFONT,
    SOUNDFONT_SOURCE,
    DrumBank,
    render_kit,
    render_part,
    soundfont_presets,
)

from dmc.audio import db_to_gain, write_audio
from dmc.datasets.demo import band, drumkit, grooves, music, parts
from dmc.roles import role_from_name

KEYS_FILE = {"grand_piano": "piano", "rhodes": "rhodes", "drawbar_organ": "organ"}
DRUM_STYLES = ("rock", "funk", "shuffle", "half_time", "disco", "ballad")
BAND_GENRES = ("rock", "ballad", "funk", "disco", "half_time", "shuffle")
#: Band drum channels by song: a mono drum bus, or close mics and overheads.
BAND_DRUMS = (
    ("drums",),
    ("kick", "snare", "overhead_L", "overhead_R"),
    ("kick", "snare", "hihat", "overhead_L", "overhead_R"),
)


# ---------------------------------------------------------------------------- songs
@dataclass
class Session:
    """A song's raw tracks (before preamp gains) and what ``info.json`` says about it."""

    tracks: dict[str, np.ndarray]
    sources: dict[str, str]
    info: dict


def _streams(seed: int, task: str, index: int) -> list[np.random.SeedSequence]:
    """Independent seeds for the music, the microphones and the preamp gains of one song."""
    return np.random.SeedSequence([seed, ("drums", "full").index(task), index]).spawn(3)


def _tuning(rng: np.random.Generator, kit: str) -> dict[str, float]:
    toms = float(rng.uniform(-1.0, 1.0))
    tuning = {
        "kick": float(rng.uniform(-1, 1)),
        "snare": float(rng.uniform(-1, 1)),
        "tom_high": toms + (3.0 if kit == "bja_pacific" else 0.0),
        "tom_mid": toms,
        "tom_low": toms,
    }
    return {piece: round(value * 4) / 4 for piece, value in tuning.items()}


def _record_kit(
    hits, bank: DrumBank, kit: str, tuning, num_samples, channels, mic_seed
) -> tuple[dict, dict]:
    """Mic up the kit (demo geometry, bleed, spaced pair); also how each overhead hears the hi-hat and floor tom."""
    sources = render_kit(hits, bank, tuning, num_samples)
    recording = drumkit.record(sources, channels, np.random.default_rng(mic_seed))
    sides = {}
    for source in ("hihat", "tom_low"):
        alone = {
            name: audio if name == source else np.zeros_like(audio)
            for name, audio in sources.items()
        }
        # The same seed places the kit and the mics exactly as above (record draws in a fixed order).
        pair = drumkit.record(
            alone, ("overhead_L", "overhead_R"), np.random.default_rng(mic_seed)
        ).channels
        energy = [
            float(np.sum(pair[name].astype(np.float64) ** 2))
            for name in ("overhead_L", "overhead_R")
        ]
        sides[source] = round(10 * np.log10(energy[0] / energy[1]), 2) if min(energy) > 0 else None
    facts = {
        "kit": kit,
        "kit_source": bank.describe(),
        "kit_tuning_semitones": tuning,
        "mics": recording.metadata,
        "overheads_l_minus_r_db": sides,
    }
    return recording.channels, facts


def drum_session(index: int, seed: int) -> Session:
    """8 (or 7) channels like ENST: kick, snare, hi-hat, 2-3 toms, a spaced overhead pair."""
    music_seed, mic_seed, _ = _streams(seed, "drums", index)
    rng = np.random.default_rng(music_seed)
    kit = list(KITS)[index % len(KITS)]
    bank = DrumBank(kit)
    style = DRUM_STYLES[(index + seed) % len(DRUM_STYLES)]
    duration = round(float(rng.uniform(15.0, 20.0)), 2)
    tempo = float(rng.uniform(*grooves.STYLES[style]))
    drummer = grooves.make_drummer(rng)
    ride_from = 4 if rng.random() < 0.35 and style != "swing" else None
    hits = grooves.perform(style, tempo, duration, rng, drummer, ride_from_bar=ride_from)
    for _ in range(
        20
    ):  # a tracking session plays every drum: retake until a fill reaches the floor tom
        if any(h.piece == "tom_low" for h in hits):
            break
        hits = grooves.perform(style, tempo, duration, rng, drummer, ride_from_bar=ride_from)
    # BJA_Pacific has a rack and a floor tom: the fills' middle tom plays the rack tom.
    two_toms = kit == "bja_pacific"
    if two_toms:
        hits = [
            grooves.Hit(h.time_seconds, "tom_high", h.velocity) if h.piece == "tom_mid" else h
            for h in hits
        ]
    channels = tuple(c for c in drumkit.DRUM_CHANNELS if not (two_toms and c == "tom_2"))
    recorded, facts = _record_kit(
        hits, bank, kit, _tuning(rng, kit), round(duration * SAMPLE_RATE), channels, mic_seed
    )
    rename = {"tom_3": "tom_2"} if two_toms else {}
    tracks = {rename.get(name, name): audio for name, audio in recorded.items()}
    piece = {
        "kick": "kick",
        "snare": "snare",
        "hihat": "hihat_closed",
        "tom_1": "tom_high",
        "tom_2": "tom_low" if two_toms else "tom_mid",
        "tom_3": "tom_low",
    }
    sources = {
        name: f"{bank.describe()}: {bank.pieces[piece[name]]}"
        if name in piece
        else f"{bank.describe()}: spaced pair over the whole kit"
        for name in tracks
    }
    info = {
        "task": "drums",
        "style": style,
        "tempo_bpm": round(tempo, 2),
        "duration_seconds": duration,
        **facts,
    }
    return Session(tracks, sources, info)


def band_session(index: int, seed: int, workdir: Path) -> Session:
    """6-10 tracks: drum channels or a drum bus, bass, keys, one or two guitars, strings, a lead."""
    music_seed, mic_seed, _ = _streams(seed, "full", index)
    rng = np.random.default_rng(music_seed)
    genre_name = BAND_GENRES[(index + seed) % len(BAND_GENRES)]
    genre = band.GENRES[genre_name]
    duration = round(float(rng.uniform(15.0, 20.0)), 2)
    num_samples = round(duration * SAMPLE_RATE)
    tempo = float(rng.uniform(*genre.tempo_bpm))
    plan = music.make_plan(rng, tempo, duration, genre.swing, sevenths=genre_name == "swing")
    drums = BAND_DRUMS[index % len(BAND_DRUMS)]
    keys, keys_pattern = genre.keys[int(rng.integers(len(genre.keys)))]
    guitars = [genre.guitars[int(rng.integers(len(genre.guitars)))]]
    if len(drums) < 5 and rng.random() < 0.6:
        guitars.append(genre.guitars[int(rng.integers(len(genre.guitars)))])
    lead = genre.leads[int(rng.integers(len(genre.leads)))]
    bass = ("fingered_bass", "picked_bass")[int(rng.integers(2))]
    lines = [
        ("bass", bass, parts.bass_part(plan, rng, genre.bass[int(rng.integers(len(genre.bass)))])),
        (
            KEYS_FILE[keys],
            keys,
            parts.keys_part(
                plan,
                rng,
                keys_pattern,
                left_hand=keys == "grand_piano" and keys_pattern != "arpeggio",
            ),
        ),
    ]
    for i, (instrument, pattern) in enumerate(guitars):
        name = "guitar" if len(guitars) == 1 else f"guitar_{i + 1}"
        lines.append(
            (name, instrument, parts.guitar_part(plan, rng, pattern, rest_in_verse=i == 1))
        )
    lines.append(("strings", "strings", parts.pad_part(plan, rng)))
    lines.append(("lead", lead, music.melody(plan, rng, *band.LEAD_RANGES[lead], duration)))
    presets = soundfont_presets(SOUNDFONT.read_bytes())
    tracks, sources = {}, {}
    for name, instrument, notes in lines:
        program = GM_PROGRAMS[instrument]
        tracks[name] = render_part(notes, program, num_samples, workdir)
        sources[name] = (
            f"{SOUNDFONT_SOURCE}: program {program} {presets.get((0, program), '')}".strip()
        )
    kit = list(KITS)[(index + 1) % len(KITS)]
    bank = DrumBank(kit)
    hits = grooves.perform(genre.groove, tempo, duration, rng)
    channels = drumkit.DRUM_CHANNELS if drums == ("drums",) else drums
    recorded, facts = _record_kit(
        hits, bank, kit, _tuning(rng, kit), num_samples, channels, mic_seed
    )
    if drums == ("drums",):
        # A mono drum bus as a band's submix arrives: close mics and the pair summed at fixed levels.
        weights = {
            "kick": 1.0,
            "snare": 0.8,
            "hihat": 0.4,
            "tom_1": 0.5,
            "tom_2": 0.5,
            "tom_3": 0.5,
            "overhead_L": 1.5,
            "overhead_R": 1.5,
        }
        recorded = {"drums": sum(np.float32(w) * recorded[name] for name, w in weights.items())}
    for name in drums:
        tracks[name] = recorded[name]
        sources[name] = f"{bank.describe()}: {'drum bus' if name == 'drums' else name}"
    info = {
        "task": "full",
        "genre": genre_name,
        **plan.describe(),
        "duration_seconds": duration,
        "soundfont": SOUNDFONT_SOURCE,
        "parts": {name: instrument for name, instrument, _ in lines},
        **facts,
    }
    return Session(tracks, sources, info)


def write_session(
    session: Session, folder: Path, gain_seed: np.random.SeedSequence, seed: int
) -> None:
    """Preamp gains (the demo's raw-multitrack spread), FLAC tracks and info.json, swapped into place whole."""
    gains_db, _ = drumkit.raw_gains(session.tracks, np.random.default_rng(gain_seed))
    tmp = folder.with_name(f".{folder.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    entries = []
    for name, audio in session.tracks.items():
        if not np.any(audio):
            raise SystemExit(
                f"error: track {name} of {folder.name} is silent: check {APT_LINE.split()[-1]}"
            )
        write_audio(
            tmp / f"{name}.flac",
            audio[None] * np.float32(db_to_gain(gains_db[name])),
            SAMPLE_RATE,
            subtype="PCM_24",
        )
        entries.append(
            {
                "file": f"{name}.flac",
                "role": role_from_name(name),
                "source": session.sources[name],
                "preamp_gain_db": gains_db[name],
            }
        )
    info = {
        "song": folder.name,
        "made_by": "scripts/make_heldout_multitracks.py",
        "seed": seed,
        "held_out": "samples the demo dataset never uses; never train on these songs",
        "reference_mix": None,
        "sample_rate": SAMPLE_RATE,
        "tracks": entries,
        **session.info,
    }
    (tmp / "info.json").write_text(
        json.dumps(info, indent=1, default=_plain) + "\n", encoding="utf-8"
    )
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)


def _plain(value):
    return value.item() if isinstance(value, np.generic) else str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"where the song folders go (default {DEFAULT_OUT})",
    )
    parser.add_argument(
        "--songs", type=int, default=3, help="songs per task: drums-NN and band-NN (default 3)"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of every random choice (default 0)"
    )
    args = parser.parse_args(argv)
    if args.songs < 1 or args.seed < 0:
        parser.error("--songs must be at least 1 and --seed not negative")
    needed = [
        SOUNDFONT,
        HYDROGEN_COPYRIGHT,
        *(HYDROGEN / folder / "drumkit.xml" for folder, _ in KITS.values()),
    ]
    missing = [str(path) for path in needed if not path.is_file()] + (
        ["fluidsynth"] if not shutil.which("fluidsynth") else []
    )
    if missing:
        parser.error(f"{', '.join(missing)} not found: {APT_LINE}")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as workdir:
        for task in ("drums", "full"):
            for index in range(args.songs):
                folder = args.out / f"{'drums' if task == 'drums' else 'band'}-{index + 1:02d}"
                session = (
                    drum_session(index, args.seed)
                    if task == "drums"
                    else band_session(index, args.seed, Path(workdir))
                )
                write_session(session, folder, _streams(args.seed, task, index)[2], args.seed)
                print(
                    f"{folder}: {len(session.tracks)} tracks, {session.info['duration_seconds']} s, "
                    f"{session.info.get('style') or session.info['genre']}, {session.info['kit']}"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

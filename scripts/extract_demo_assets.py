"""Extract the demo dataset's sample assets from Debian packages (run once, by hand).

The demo generator (:mod:`dmc.datasets.demo`) builds multitracks from real recorded
sounds, but the repository may ship only a few megabytes of them. This script derives
those assets from two Debian packages that are installed on the development machine and
never needed at run time:

- ``hydrogen-drumkits``: the ``rumpf_kit_z01_h2`` kit (CC-BY-3.0, Emanuel Rumpf) and the
  ``Audiophob`` kit (CC0); the GPL and CC-BY-SA kits are deliberately left out.
- ``fluid-soundfont-gm``: FluidR3_GM.sf2 (MIT, Frank Wen), rendered note by note with the
  ``fluidsynth`` command-line synthesiser (reverb and chorus off) from tiny MIDI files
  written with ``mido``: the GM drum kits of bank 128 and the band instruments.

Every sample is trimmed (onset to -60 dB below its peak, capped per instrument), faded
out, mixed to mono, peak-normalised and written as 16-bit FLAC at 44.1 kHz; its level
before normalisation goes into ``index.json`` so velocity layers keep their balance.
Pitched instruments are sampled every few semitones (the generator resamples to the
notes in between); drum kits keep two or three velocity layers. Identical renders (the
FluidR3 kits share many samples) are stored once.

Usage::

    python scripts/extract_demo_assets.py            # writes dmc/datasets/demo/assets/
    python scripts/extract_demo_assets.py --out /tmp/assets

Needs: fluidsynth (apt), mido (pip), fluid-soundfont-gm and hydrogen-drumkits (apt).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from scipy import signal

from dmc.audio import db_to_gain, gain_to_db, read_audio, resample, write_audio

REPO = Path(__file__).resolve().parents[1]

SAMPLE_RATE = 44100
SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
HYDROGEN = Path("/usr/share/hydrogen/data/drumkits")
DEFAULT_OUT = REPO / "dmc" / "datasets" / "demo" / "assets"
MAX_ASSET_BYTES = 15 * 1024 * 1024
#: Trim the tail where the envelope falls this far below the peak (dB).
TAIL_DB = -60.0
PIECE_ROLES = {
    "kick": "kick",
    "snare": "snare",
    "hihat_closed": "hihat",
    "hihat_pedal": "hihat",
    "hihat_open": "hihat",
    "tom_high": "tom",
    "tom_mid": "tom",
    "tom_low": "tom",
    "crash": "cymbal",
    "ride": "cymbal",
}
#: Longest kept sound per drum piece (seconds).
PIECE_SECONDS = {
    "kick": 0.8,
    "snare": 0.9,
    "hihat_closed": 0.4,
    "hihat_pedal": 0.4,
    "hihat_open": 1.2,
    "tom_high": 1.2,
    "tom_mid": 1.3,
    "tom_low": 1.5,
    "crash": 2.6,
    "ride": 2.0,
}
#: Velocity layers rendered per drum piece from the SoundFont.
PIECE_VELOCITIES = {
    "kick": (50, 90, 127),
    "snare": (40, 85, 127),
    "hihat_closed": (45, 85, 127),
    "hihat_pedal": (90,),
    "hihat_open": (70, 120),
    "tom_high": (70, 120),
    "tom_mid": (70, 120),
    "tom_low": (70, 120),
    "crash": (80, 127),
    "ride": (70, 120),
}
#: GM percussion notes (bank 128): the piece each kit plays.
GM_NOTES = {
    "kick": 36,
    "snare": 38,
    "hihat_closed": 42,
    "hihat_pedal": 44,
    "hihat_open": 46,
    "tom_high": 48,
    "tom_mid": 45,
    "tom_low": 41,
    "crash": 49,
    "ride": 51,
}
#: FluidR3 drum kits: name -> (program in bank 128, note overrides).
FLUID_KITS = {
    "fluid_standard": (0, {}),
    "fluid_room": (8, {"crash": 57}),
    "fluid_power": (16, {}),
    "fluid_jazz": (32, {"kick": 35}),
    "fluid_brush": (40, {}),
}
#: Hydrogen kit pieces: kit -> piece -> (file, semitones to retune). Chosen by spectrum,
#: decay and the kit.xml names from kits whose licence allows redistribution.
HYDROGEN_PIECES = {
    "rumpf": (
        "rumpf_kit_z01_h2",
        {
            "kick": ("beats_06-38.flac", 0),
            "snare": ("beats_01-21.flac", 0),
            "hihat_closed": ("beats_09-10.flac", 0),
            "hihat_pedal": ("beats_06-28.flac", 0),
            "hihat_open": ("beats_09-11.flac", 0),
            "tom_high": ("beats_08-14.flac", 3),
            "tom_mid": ("beats_08-15.flac", 0),
            "tom_low": ("beats_08-15.flac", -4),
            "crash": ("beats_06-21.flac", 0),
            "ride": ("beats_06-43.flac", 0),
        },
    ),
    "audiophob": (
        "Audiophob",
        {
            "kick": ("86335__zgump__tom-0105.wav", 0),
            "snare": ("25671__walter-odington__garage-city-snare-snappy.wav", 0),
            "hihat_closed": ("116973__cbeeching__hat-light.wav", 0),
            "hihat_open": ("104227__minorr__hhat-paiste-302-14-open-p.wav", 0),
            "ride": ("15590__lewis__sabmute.wav", 0),
        },
    ),
}


@dataclass(frozen=True)
class Instrument:
    """A SoundFont instrument to sample: which program, which notes, how long."""

    name: str
    role: str
    program: int
    low_note: int
    high_note: int
    step: int
    velocities: tuple[int, ...]
    seconds: float
    sustained: bool

    @property
    def notes(self) -> list[int]:
        return list(range(self.low_note, self.high_note + 1, self.step))


INSTRUMENTS = (
    Instrument("fingered_bass", "bass", 33, 28, 56, 4, (70, 115), 1.6, False),
    Instrument("picked_bass", "bass", 34, 28, 56, 4, (70, 115), 1.6, False),
    Instrument("grand_piano", "keys", 0, 45, 81, 4, (60, 110), 2.0, False),
    Instrument("rhodes", "keys", 4, 45, 77, 4, (60, 110), 1.8, False),
    Instrument("drawbar_organ", "keys", 16, 45, 81, 6, (100,), 1.2, True),
    Instrument("clean_guitar", "guitar", 27, 40, 76, 4, (70, 110), 1.5, False),
    Instrument("steel_guitar", "guitar", 25, 40, 76, 4, (70, 110), 1.5, False),
    Instrument("overdrive_guitar", "guitar", 29, 40, 64, 4, (100,), 1.4, True),
    Instrument("strings", "strings", 48, 43, 79, 6, (90,), 1.6, True),
    Instrument("warm_pad", "pad", 89, 43, 79, 6, (90,), 1.8, True),
    Instrument("flute", "lead", 73, 60, 95, 5, (100,), 1.2, True),
    Instrument("alto_sax", "lead", 65, 49, 79, 5, (100,), 1.2, True),
    Instrument("trumpet", "lead", 56, 55, 82, 5, (100,), 1.2, True),
    Instrument("choir", "lead", 52, 48, 78, 5, (100,), 1.5, True),
    Instrument("saw_lead", "lead", 81, 55, 85, 5, (100,), 1.2, True),
)


def render_notes(
    program: int, events: list[tuple[int, int]], hold_seconds: float, drum: bool, workdir: Path
) -> list[np.ndarray]:
    """Render ``(note, velocity)`` events one after another; one mono array per event.

    Each note is held ``hold_seconds`` and followed by enough silence for its release, so
    slicing the render at fixed slots separates the notes.
    """
    import mido

    slot_seconds = hold_seconds + 2.5
    channel = 9 if drum else 0
    midi = mido.MidiFile(ticks_per_beat=1000)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=1_000_000))  # 1000 ticks = 1 s
    track.append(mido.Message("program_change", channel=channel, program=program, time=0))
    # A short lead-in keeps the first note clear of the synthesiser's start-up.
    delay = 500
    for note, velocity in events:
        track.append(
            mido.Message("note_on", channel=channel, note=note, velocity=velocity, time=delay)
        )
        track.append(
            mido.Message(
                "note_off", channel=channel, note=note, velocity=0, time=int(hold_seconds * 1000)
            )
        )
        delay = int((slot_seconds - hold_seconds) * 1000)
    track.append(mido.MetaMessage("end_of_track", time=delay))
    mid_path, wav_path = workdir / "render.mid", workdir / "render.wav"
    midi.save(str(mid_path))
    subprocess.run(
        [
            "fluidsynth",
            "-ni",
            "-q",
            "-F",
            str(wav_path),
            "-r",
            str(SAMPLE_RATE),
            "-R",
            "0",
            "-C",
            "0",
            "-g",
            "0.3",
            str(SOUNDFONT),
            str(mid_path),
        ],
        check=True,
    )
    audio, _ = read_audio(wav_path, mono=True)
    slot, lead = int(slot_seconds * SAMPLE_RATE), int(0.5 * SAMPLE_RATE)
    return [audio[0, lead + i * slot : lead + (i + 1) * slot] for i in range(len(events))]


def trim(audio: np.ndarray, max_seconds: float, fade_seconds: float = 0.03) -> np.ndarray:
    """Cut the silence before the onset and the tail below ``TAIL_DB``, then fade out."""
    audio = np.asarray(audio, dtype=np.float64).reshape(-1)
    peak = np.max(np.abs(audio))
    if peak == 0:
        raise ValueError("cannot trim a silent render")
    onset = int(np.argmax(np.abs(audio) > peak * db_to_gain(-50.0)))
    audio = audio[max(0, onset - int(0.001 * SAMPLE_RATE)) :]
    frame = int(0.01 * SAMPLE_RATE)
    rms = np.sqrt(np.convolve(audio**2, np.ones(frame) / frame, mode="same"))
    audible = np.nonzero(rms > np.max(rms) * db_to_gain(TAIL_DB))[0]
    end = min(int(audible[-1]) + frame, int(max_seconds * SAMPLE_RATE), audio.size)
    audio = audio[:end].copy()
    fade = min(int(fade_seconds * SAMPLE_RATE), end // 2)
    audio[end - fade :] *= np.cos(np.linspace(0.0, np.pi / 2, fade)) ** 2
    return audio


def same_sound(a: np.ndarray, b: np.ndarray) -> bool:
    """True when two renders are the same sample (correlation and level within 0.5 dB)."""
    n = min(a.size, b.size)
    a, b = a[:n], b[:n]
    denominator = np.sqrt(np.dot(a, a) * np.dot(b, b))
    if denominator == 0:
        return False
    level = abs(float(gain_to_db(np.max(np.abs(a))) - gain_to_db(np.max(np.abs(b)))))
    return float(np.dot(a, b) / denominator) > 0.995 and level < 0.5


class AssetWriter:
    """Writes normalised FLAC samples and collects their ``index.json`` entries."""

    def __init__(self, out: Path):
        self.out = out
        self.samples: list[dict] = []

    def add(self, relative: str, audio: np.ndarray, peak_reference: float, **fields) -> dict:
        peak = float(np.max(np.abs(audio)))
        normalised = (audio / peak * db_to_gain(-1.0)).astype(np.float32)
        write_audio(self.out / relative, normalised[None], SAMPLE_RATE, subtype="PCM_16")
        entry = {
            "file": relative,
            **fields,
            "gain_db": round(float(gain_to_db(peak / peak_reference)), 2),
            "seconds": round(audio.size / SAMPLE_RATE, 3),
        }
        self.samples.append(entry)
        return entry


def extract_fluid_kits(writer: AssetWriter, workdir: Path) -> dict[str, dict[str, str]]:
    """Render the FluidR3 kits piece by piece; a piece equal to an earlier kit's is shared."""
    kits: dict[str, dict[str, str]] = {}
    stored: dict[str, list[tuple[str, np.ndarray]]] = {piece: [] for piece in GM_NOTES}
    for kit, (program, overrides) in FLUID_KITS.items():
        kits[kit] = {}
        for piece, default_note in GM_NOTES.items():
            note = overrides.get(piece, default_note)
            velocities = PIECE_VELOCITIES[piece]
            renders = render_notes(
                program, [(note, v) for v in velocities], PIECE_SECONDS[piece], True, workdir
            )
            layers = [trim(r, PIECE_SECONDS[piece]) for r in renders]
            loudest = layers[-1]
            match = next(
                (group for group, other in stored[piece] if same_sound(loudest, other)), None
            )
            if match is not None:
                kits[kit][piece] = match
                continue
            group = f"{kit}/{piece}"
            reference = float(np.max(np.abs(loudest)))
            for velocity, layer in zip(velocities, layers):
                writer.add(
                    f"drums/{kit}/{piece}_v{velocity:03d}.flac",
                    layer,
                    reference,
                    kind="drum",
                    group=group,
                    instrument=piece,
                    role=PIECE_ROLES[piece],
                    kit=kit,
                    midi_note=note,
                    velocity=velocity,
                    source="FluidR3_GM.sf2",
                    program=f"128:{program:03d}",
                )
            stored[piece].append((group, loudest))
            kits[kit][piece] = group
    return kits


def extract_hydrogen_kits(writer: AssetWriter) -> dict[str, dict[str, str]]:
    """Copy the chosen hydrogen samples: mono, 44.1 kHz, retuned where listed, trimmed."""
    kits: dict[str, dict[str, str]] = {}
    for kit, (folder, pieces) in HYDROGEN_PIECES.items():
        kits[kit] = {}
        for piece, (filename, semitones) in pieces.items():
            audio, rate = read_audio(HYDROGEN / folder / filename, mono=True)
            audio = resample(audio, rate, SAMPLE_RATE)[0]
            if semitones:
                # Retune by resampling: play the recording faster (higher) or slower.
                ratio = Fraction(2.0 ** (-semitones / 12.0)).limit_denominator(100)
                audio = signal.resample_poly(audio, ratio.numerator, ratio.denominator)
            layer = trim(audio, PIECE_SECONDS[piece])
            group = f"{kit}/{piece}"
            writer.add(
                f"drums/{kit}/{piece}.flac",
                layer,
                float(np.max(np.abs(layer))),
                kind="drum",
                group=group,
                instrument=piece,
                role=PIECE_ROLES[piece],
                kit=kit,
                midi_note=None,
                velocity=127,
                source=f"hydrogen-drumkits/{folder}/{filename}",
                retuned_semitones=semitones,
            )
            kits[kit][piece] = group
    return kits


def extract_instruments(writer: AssetWriter, workdir: Path) -> dict[str, dict]:
    """Sample every instrument at its notes and velocity layers."""
    instruments = {}
    for inst in INSTRUMENTS:
        events = [(note, velocity) for note in inst.notes for velocity in inst.velocities]
        hold = inst.seconds + (0.05 if inst.sustained else 0.0)
        renders = render_notes(inst.program, events, hold, False, workdir)
        # Sustained notes are cut at their note-off (the generator adds the release);
        # decaying ones keep their natural tail up to the cap.
        layers = [
            trim(r, inst.seconds, fade_seconds=0.01 if inst.sustained else 0.05) for r in renders
        ]
        reference = max(float(np.max(np.abs(layer))) for layer in layers)
        for (note, velocity), layer in zip(events, layers):
            writer.add(
                f"instruments/{inst.name}/n{note:03d}_v{velocity:03d}.flac",
                layer,
                reference,
                kind="note",
                group=inst.name,
                instrument=inst.name,
                role=inst.role,
                kit=None,
                midi_note=note,
                velocity=velocity,
                source="FluidR3_GM.sf2",
                program=f"000:{inst.program:03d}",
            )
        instruments[inst.name] = {
            "role": inst.role,
            "program": inst.program,
            "notes": inst.notes,
            "velocities": list(inst.velocities),
            "sustained": inst.sustained,
        }
    return instruments


def debian_license_text(copyright_file: Path, name: str) -> str:
    """The body of a ``License: NAME`` paragraph of a machine-readable Debian copyright file.

    The name also appears in ``Files:`` paragraphs with no text below it, so the longest
    body wins.
    """
    lines = copyright_file.read_text(encoding="utf-8").splitlines()
    bodies = []
    for start in (i + 1 for i, line in enumerate(lines) if line == f"License: {name}"):
        body = []
        for line in lines[start:]:
            if line and not line.startswith(" "):
                break
            body.append("" if line.strip() == "." else line[1:])
        bodies.append("\n".join(body).strip())
    text = max(bodies, key=len, default="")
    if len(text) < 1000:
        raise ValueError(f"no licence text for {name} in {copyright_file}")
    return text + "\n"


def write_licenses(out: Path) -> None:
    """Licence texts of every source, taken from files Debian installs."""
    cc_by = debian_license_text(Path("/usr/share/doc/librsvg2-2/copyright"), "CC-BY-3.0")
    (out / "LICENSE-CC-BY-3.0.txt").write_text(cc_by, encoding="utf-8")
    shutil.copyfile("/usr/share/common-licenses/CC0-1.0", out / "LICENSE-CC0-1.0.txt")
    fluid = Path("/usr/share/doc/fluid-soundfont-gm/copyright").read_text(encoding="utf-8")
    mit = fluid[fluid.index("Permission is hereby granted") : fluid.index("The Debian packaging")]
    mit = "\n".join(line.strip() for line in mit.strip().splitlines())
    (out / "LICENSE-MIT-FluidR3.txt").write_text(
        "FluidR3 GM SoundFont\nCopyright (c) 2000-2002, 2008 Frank Wen\nCopyright (c) 2008 Toby Smithe\n\n"
        + mit
        + "\n",
        encoding="utf-8",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="asset folder to (re)create")
    args = parser.parse_args(argv)
    for needed in (SOUNDFONT, HYDROGEN):
        if not needed.exists():
            parser.error(
                f"{needed} not found: apt-get install fluid-soundfont-gm hydrogen-drumkits"
            )
    if shutil.which("fluidsynth") is None:
        parser.error("fluidsynth not found: apt-get install fluidsynth")
    for old in ("drums", "instruments"):
        shutil.rmtree(args.out / old, ignore_errors=True)
    args.out.mkdir(parents=True, exist_ok=True)
    writer = AssetWriter(args.out)
    with tempfile.TemporaryDirectory() as tmp:
        kits = extract_fluid_kits(writer, Path(tmp))
        kits.update(extract_hydrogen_kits(writer))
        instruments = extract_instruments(writer, Path(tmp))
    write_licenses(args.out)
    index = {
        "format": 1,
        "sample_rate": SAMPLE_RATE,
        "tail_db": TAIL_DB,
        "kits": kits,
        "instruments": instruments,
        "samples": writer.samples,
    }
    (args.out / "index.json").write_text(json.dumps(index, indent=1) + "\n", encoding="utf-8")
    total = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    seconds = sum(s["seconds"] for s in writer.samples)
    print(
        f"{len(writer.samples)} samples, {seconds:.0f} s of audio, {total / 2**20:.2f} MiB in {args.out}"
    )
    if total > MAX_ASSET_BYTES:
        print(f"error: assets exceed {MAX_ASSET_BYTES / 2**20:.0f} MiB", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

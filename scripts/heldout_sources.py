"""Sample sources of the held-out multitracks: hydrogen kits and a SoundFont, read at run time.

Used by ``scripts/make_heldout_multitracks.py`` (see there why these sources). Only
Debian's files are read; nothing derived from them is written into the repository:

- :class:`DrumBank`: a hydrogen kit's instruments and velocity layers (``drumkit.xml``),
  mono at 44.1 kHz, retuned by resampling; :func:`render_kit` plays a demo-generator
  performance on it, one dry signal per kit piece;
- :func:`render_part`: a part's notes as a MIDI file (:func:`midi_file`, no ``mido``
  needed) rendered by fluidsynth through TimGM6mb;
- the licence of a kit from Debian's machine-readable copyright file and the preset
  names of the SoundFont, for each song's ``info.json``.
"""

from __future__ import annotations

import re
import struct
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from scipy import signal

from dmc.audio import read_audio, resample
from dmc.datasets.demo import drumkit, grooves, music

SAMPLE_RATE = 44100
HYDROGEN = Path("/usr/share/hydrogen/data/drumkits")
HYDROGEN_COPYRIGHT = Path("/usr/share/doc/hydrogen-drumkits/copyright")
SOUNDFONT = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")
SOUNDFONT_SOURCE = "timgm6mb-soundfont: TimGM6mb.sf2 (GPL-2, Tim Brechbill, David Bolton)"
APT_LINE = "apt-get install fluidsynth hydrogen-drumkits timgm6mb-soundfont"
DEFAULT_OUT = Path.home() / ".cache" / "dmc" / "heldout"
#: Kits of hydrogen-drumkits the demo does not use: folder and the instrument per piece.
KITS = {
    "black_pearl": (
        "The Black Pearl 1.0",
        {
            "kick": "Pearl Kick",
            "snare": "Pearl Snare",
            "hihat_closed": "Sabian Hat Closed",
            "hihat_pedal": "Sabian Hat Pedal",
            "hihat_open": "Sabian Hat Open",
            "tom_high": "Pearl Tom 1",
            "tom_mid": "Pearl Tom 2",
            "tom_low": "Pearl Tom Floor",
            "crash": "Sabian Crash",
            "ride": "Paiste Ride",
        },
    ),
    "bja_pacific": (
        "BJA_Pacific",
        {
            "kick": "BassDrum",
            "snare": "Snare",
            "hihat_closed": "Hi Hat Closed",
            "hihat_pedal": "Hi Hat Closed",
            "hihat_open": "Hi Hat Opened",
            "tom_high": "Tom",
            "tom_mid": "Tom",
            "tom_low": "Floor Tom",
            "crash": "Crash Left",
            "ride": "Ride",
        },
    ),
    "millo3": (
        "Millo_MultiLayered3",
        {
            "kick": "Kick",
            "snare": "Snare Rock",
            "hihat_closed": "Closed HH",
            "hihat_pedal": "Pedal HH",
            "hihat_open": "Open HH",
            "tom_high": "Tom Hi",
            "tom_mid": "Tom Mid",
            "tom_low": "Tom Low",
            "crash": "Crash",
            "ride": "Ride Jazz",
        },
    ),
}
#: General MIDI programs (TimGM6mb) for the demo generator's instrument names.
GM_PROGRAMS = {
    "fingered_bass": 33,
    "picked_bass": 34,
    "grand_piano": 0,
    "rhodes": 4,
    "drawbar_organ": 16,
    "clean_guitar": 27,
    "steel_guitar": 25,
    "overdrive_guitar": 29,
    "strings": 48,
    "warm_pad": 89,
    "flute": 73,
    "alto_sax": 65,
    "trumpet": 56,
    "choir": 52,
    "saw_lead": 81,
}
LONGEST_HIT_SECONDS = 3.5


# ---------------------------------------------------------------------------- pure helpers
def midi_file(notes: list[music.Note], program: int, ticks_per_second: int = 960) -> bytes:
    """A standard MIDI file (format 0) playing ``notes`` on channel 1 with ``program``.

    A note that starts while the same pitch still sounds ends the earlier one (a MIDI
    note-off cannot say which of two equal notes it ends); the pan is centred and the
    reverb and chorus sends are off, so each track comes out dry and mono-compatible.
    """
    events: list[tuple[int, int, bytes]] = []  # (tick, order: offs first, message)
    by_pitch: dict[int, list[music.Note]] = {}
    for note in sorted(notes, key=lambda n: n.start_seconds):
        by_pitch.setdefault(int(note.pitch), []).append(note)
    for pitch, same in by_pitch.items():
        for k, note in enumerate(same):
            start = max(0, round(note.start_seconds * ticks_per_second))
            end = start + max(1, round(note.duration_seconds * ticks_per_second))
            if k + 1 < len(same):
                following = max(0, round(same[k + 1].start_seconds * ticks_per_second))
                if following <= start:  # the same key struck twice at once sounds once
                    continue
                end = min(end, following)
            velocity = int(np.clip(round(note.velocity), 1, 127))
            events += [
                (start, 1, bytes([0x90, pitch, velocity])),
                (end, 0, bytes([0x80, pitch, 0])),
            ]
    setup = [
        bytes([0xC0, program]),
        bytes([0xB0, 7, 100]),
        bytes([0xB0, 10, 64]),
        bytes([0xB0, 91, 0]),
        bytes([0xB0, 93, 0]),
    ]
    # 480 ticks per quarter at 500,000 us per quarter: 960 ticks per second.
    body = b"\x00\xff\x51\x03" + (500_000 * 960 // ticks_per_second).to_bytes(3, "big")
    body += b"".join(b"\x00" + message for message in setup)
    now = 0
    for tick, _, message in sorted(events):
        body += _varlen(tick - now) + message
        now = tick
    body += b"\x00\xff\x2f\x00"
    return (
        b"MThd" + struct.pack(">IHHH", 6, 0, 1, 480) + b"MTrk" + struct.pack(">I", len(body)) + body
    )


def _varlen(value: int) -> bytes:
    """MIDI variable-length quantity: 7 bits a byte, high bit set on all but the last."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


@dataclass(frozen=True)
class Layer:
    """One velocity layer of a hydrogen instrument: file, velocity range (0-1) and gain."""

    file: str
    low: float
    high: float
    gain: float


def parse_drumkit(xml_text: str) -> tuple[dict[str, str], dict[str, tuple[float, list[Layer]]]]:
    """``({name, author, license}, {instrument: (volume, layers)})`` from a hydrogen drumkit.xml."""
    root = ET.fromstring(xml_text)
    for element in root.iter():  # drop the namespace: old and new kits differ
        element.tag = element.tag.rsplit("}", 1)[-1]
    info = {key: (root.findtext(key) or "").strip() for key in ("name", "author", "license")}
    instruments = {}
    for inst in root.iter("instrument"):
        layers = [
            Layer(
                layer.findtext("filename"),
                float(layer.findtext("min") or 0),
                float(layer.findtext("max") or 1),
                float(layer.findtext("gain") or 1),
            )
            for layer in inst.iter("layer")
            if layer.findtext("filename")
        ]
        if not layers and inst.findtext("filename"):
            layers = [Layer(inst.findtext("filename"), 0.0, 1.0, 1.0)]
        if layers:
            instruments[(inst.findtext("name") or "").strip()] = (
                float(inst.findtext("volume") or 1),
                layers,
            )
    return info, instruments


def pick_layer(layers: list[Layer], velocity: float) -> Layer:
    """The layer whose range holds ``velocity`` (1-127), else the one whose centre is nearest."""
    x = float(np.clip(velocity, 1, 127)) / 127
    inside = [layer for layer in layers if layer.low <= x <= layer.high]
    return min(inside or layers, key=lambda layer: abs((layer.low + layer.high) / 2 - x))


def debian_licence(copyright_text: str, kit_folder: str) -> str | None:
    """The ``License:`` of the Debian copyright paragraph whose ``Files:`` name the kit's archive.

    Debian's ``Files:`` field is a whitespace-separated list, so spaces in a name are
    written as ``?`` there.
    """
    wanted = f"drumkits/{kit_folder}.h2drumkit"
    for paragraph in re.split(r"\n\s*\n", copyright_text):
        lines = paragraph.strip("\n").splitlines()
        if not lines or not lines[0].startswith("Files:"):
            continue
        files = lines[0].removeprefix("Files:").split()
        for line in lines[1:]:
            if not line.startswith((" ", "\t")):
                break
            files += line.split()
        if wanted in {name.replace("?", " ") for name in files}:
            return next(
                (
                    line.removeprefix("License:").strip()
                    for line in lines
                    if line.startswith("License:")
                ),
                None,
            )
    return None


# ---------------------------------------------------------------------------- sample banks
class DrumBank:
    """A hydrogen kit's hits, read once, mono at 44.1 kHz, retuned by resampling."""

    def __init__(self, key: str):
        self.folder, self.pieces = KITS[key][0], KITS[key][1]
        self.info, self.instruments = parse_drumkit(
            (HYDROGEN / self.folder / "drumkit.xml").read_text("utf-8")
        )
        missing = sorted(set(self.pieces.values()) - set(self.instruments))
        if missing:
            raise SystemExit(
                f"error: {self.folder} lacks {', '.join(missing)}: is hydrogen-drumkits complete?"
            )
        self.licence = (
            debian_licence(HYDROGEN_COPYRIGHT.read_text("utf-8"), self.folder)
            or self.info["license"]
        )
        self._cache: dict[tuple[str, float], np.ndarray] = {}

    def describe(self) -> str:
        return f"hydrogen-drumkits: {self.folder} ({self.licence}, {self.info['author']})"

    def hit(self, piece: str, velocity: float, semitones: float = 0.0) -> np.ndarray:
        volume, layers = self.instruments[self.pieces[piece]]
        layer = pick_layer(layers, velocity)
        key = (layer.file, semitones)
        if key not in self._cache:
            audio, rate = read_audio(HYDROGEN / self.folder / layer.file, mono=True)
            audio = resample(audio, rate, SAMPLE_RATE)[0][: int(LONGEST_HIT_SECONDS * SAMPLE_RATE)]
            fade = min(audio.size, int(0.05 * SAMPLE_RATE))
            audio[audio.size - fade :] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
            if semitones:
                ratio = Fraction(2.0 ** (-semitones / 12.0)).limit_denominator(96)
                audio = signal.resample_poly(audio, ratio.numerator, ratio.denominator).astype(
                    np.float32
                )
            self._cache[key] = audio
        # Within a layer, louder strokes scale like the demo's samples (30 dB per decade).
        centre = max((layer.low + layer.high) / 2, 1e-3)
        scale = (float(np.clip(velocity, 1, 127)) / 127 / centre) ** 1.5
        return self._cache[key] * np.float32(volume * layer.gain * min(scale, 2.0))


def render_kit(hits: list[grooves.Hit], bank: DrumBank, tuning: dict[str, float], num_samples: int):
    """Dry signal per source of :data:`drumkit.SOURCES`; an open hi-hat stops at the next hi-hat stroke."""
    out = {source: np.zeros(num_samples, np.float32) for source in drumkit.SOURCES}
    hat_times = sorted(h.time_seconds for h in hits if h.piece.startswith("hihat"))
    for hit in hits:
        audio = bank.hit(hit.piece, hit.velocity, tuning.get(hit.piece, 0.0))
        later = [t for t in hat_times if t > hit.time_seconds + 1e-4]
        if hit.piece == "hihat_open" and later:
            audio = drumkit._choke(
                audio, int((later[0] - hit.time_seconds) * SAMPLE_RATE), int(0.012 * SAMPLE_RATE)
            )
        source = "hihat" if hit.piece.startswith("hihat") else hit.piece
        start = round(hit.time_seconds * SAMPLE_RATE)
        stop = min(num_samples, start + audio.size)
        out[source][start:stop] += audio[: stop - start]
    return out


def render_part(
    notes: list[music.Note], program: int, num_samples: int, workdir: Path
) -> np.ndarray:
    """One instrument's notes through fluidsynth and the soundfont, mono float32."""
    mid, wav = workdir / "part.mid", workdir / "part.wav"
    mid.write_bytes(midi_file(notes, program))
    subprocess.run(
        [
            "fluidsynth",
            "-ni",
            "-q",
            "-F",
            str(wav),
            "-T",
            "wav",
            "-O",
            "float",
            "-r",
            str(SAMPLE_RATE),
            "-R",
            "0",
            "-C",
            "0",
            "-g",
            "0.4",
            str(SOUNDFONT),
            str(mid),
        ],
        check=True,
        capture_output=True,
    )
    audio, rate = read_audio(wav, mono=True)
    audio = resample(audio, rate, SAMPLE_RATE)[0]
    return np.pad(audio, (0, max(0, num_samples - audio.size)))[:num_samples].astype(np.float32)


def soundfont_presets(data: bytes) -> dict[tuple[int, int], str]:
    """``{(bank, program): name}`` from the ``phdr`` chunk of a SoundFont 2 file (for info.json)."""
    at = data.find(b"phdr")
    if at < 0:
        return {}
    size = struct.unpack("<I", data[at + 4 : at + 8])[0]
    out = {}
    for offset in range(at + 8, at + 8 + size - 38, 38):  # the last record is the terminal "EOP"
        name, program, bank = struct.unpack("<20sHH", data[offset : offset + 24])
        out[(bank, program)] = name.split(b"\0")[0].decode("latin-1").strip()
    return out

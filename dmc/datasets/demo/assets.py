"""The shipped sample bank: recorded drum hits and instrument notes, played back in pitch.

``assets/index.json`` (written by ``scripts/extract_demo_assets.py``) lists every FLAC
sample with its instrument, kit, MIDI note, velocity layer and level. The generator asks
this module for "a snare hit at velocity 96" or "an alto sax D4 at velocity 80 lasting
0.7 s" and gets a float32 array back: the nearest velocity layer, scaled to the exact
velocity, and the nearest sampled note resampled to the wanted pitch (the assets hold a
note every few semitones to stay small).

Samples are read lazily and kept per process, so a worker that renders many songs reads
each file once.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from scipy import signal

from dmc.audio import db_to_gain, read_audio

ASSETS_DIR = Path(__file__).resolve().parent / "assets"
SAMPLE_RATE = 44100
#: Level change per decade of MIDI velocity (dB): velocity 64 sits 9 dB below 127.
VELOCITY_DB_PER_DECADE = 30.0


class DemoAssetError(RuntimeError):
    """The shipped assets are missing or inconsistent; the message names the file."""


@dataclass(frozen=True)
class Layer:
    """One stored sample: a velocity layer of a drum piece or a note of an instrument."""

    file: str
    velocity: int
    gain_db: float
    midi_note: int | None


@functools.lru_cache(maxsize=1)
def load_index(root: Path = ASSETS_DIR) -> dict:
    """The parsed ``index.json``; raises :class:`DemoAssetError` if it is missing."""
    path = Path(root) / "index.json"
    if not path.is_file():
        raise DemoAssetError(
            f"demo assets index not found: {path} (reinstall the package or run scripts/extract_demo_assets.py)"
        )
    return json.loads(path.read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=1)
def assets_fingerprint(root: Path = ASSETS_DIR) -> str:
    """SHA-256 over the index and every sample file: changes whenever an asset does."""
    digest = hashlib.sha256()
    index = load_index(root)
    digest.update(json.dumps(index, sort_keys=True).encode())
    for entry in index["samples"]:
        path = Path(root) / entry["file"]
        if not path.is_file():
            raise DemoAssetError(f"demo asset missing: {path}")
        digest.update(path.read_bytes())
    return digest.hexdigest()


@functools.cache
def read_sample(file: str, root: Path = ASSETS_DIR) -> np.ndarray:
    """One sample as float32 ``(samples,)`` at 44.1 kHz, read once per process."""
    path = Path(root) / file
    if not path.is_file():
        raise DemoAssetError(f"demo asset missing: {path}")
    audio, rate = read_audio(path, mono=True)
    if rate != SAMPLE_RATE:
        raise DemoAssetError(f"demo asset {path} has sample rate {rate}, expected {SAMPLE_RATE}")
    audio = audio[0]
    audio.setflags(write=False)
    return audio


@functools.cache
def _groups(root: Path = ASSETS_DIR) -> dict[str, list[Layer]]:
    groups: dict[str, list[Layer]] = {}
    for entry in load_index(root)["samples"]:
        groups.setdefault(entry["group"], []).append(
            Layer(
                entry["file"], int(entry["velocity"]), float(entry["gain_db"]), entry["midi_note"]
            )
        )
    return groups


def kit_names() -> list[str]:
    """Every drum kit in the assets, in index order."""
    return list(load_index()["kits"])


def kit_pieces(kit: str) -> dict[str, str]:
    """``{piece: sample group}`` of a kit (pieces a kit lacks are absent)."""
    kits = load_index()["kits"]
    if kit not in kits:
        raise ValueError(f"unknown drum kit {kit!r}; known: {', '.join(kits)}")
    return dict(kits[kit])


def instrument_names(role: str | None = None) -> list[str]:
    """Sampled instruments, optionally only those of one role (``bass``, ``keys``...)."""
    instruments = load_index()["instruments"]
    return [name for name, info in instruments.items() if role is None or info["role"] == role]


def instrument_info(name: str) -> dict:
    instruments = load_index()["instruments"]
    if name not in instruments:
        raise ValueError(f"unknown instrument {name!r}; known: {', '.join(instruments)}")
    return instruments[name]


def _velocity_gain(velocity: float, layer: Layer) -> float:
    return float(
        db_to_gain(layer.gain_db + VELOCITY_DB_PER_DECADE * math.log10(velocity / layer.velocity))
    )


def _nearest_layer(layers: list[Layer], velocity: float) -> Layer:
    return min(layers, key=lambda layer: (abs(math.log(velocity / layer.velocity)), layer.velocity))


def drum_hit(group: str, velocity: float, semitones: float = 0.0) -> np.ndarray:
    """A drum piece struck at ``velocity`` (1-127), optionally retuned; float32 ``(samples,)``."""
    layers = _groups().get(group)
    if not layers:
        raise DemoAssetError(f"no samples for drum group {group!r} in the demo assets")
    velocity = float(np.clip(velocity, 1.0, 127.0))
    layer = _nearest_layer(layers, velocity)
    audio = _pitched(layer.file, round(float(semitones) * 4) / 4)
    return audio * np.float32(_velocity_gain(velocity, layer))


def note(instrument: str, midi_note: int, velocity: float) -> tuple[np.ndarray, bool]:
    """An instrument note at ``velocity``: ``(audio, sustained)``.

    The nearest stored note (the lower one on a tie) is resampled to ``midi_note``.
    ``sustained`` says the sample was cut at its note-off (an organ, a sax): the caller
    loops it to the wanted length and adds a release. Decaying notes (piano, guitar,
    bass) carry their natural tail.
    """
    layers = _groups().get(instrument)
    if not layers:
        raise DemoAssetError(f"no samples for instrument {instrument!r} in the demo assets")
    velocity = float(np.clip(velocity, 1.0, 127.0))
    nearest_note = min({layer.midi_note for layer in layers}, key=lambda n: (abs(n - midi_note), n))
    layer = _nearest_layer([layer for layer in layers if layer.midi_note == nearest_note], velocity)
    audio = _pitched(layer.file, float(midi_note - nearest_note))
    return audio * np.float32(_velocity_gain(velocity, layer)), bool(
        instrument_info(instrument)["sustained"]
    )


@functools.lru_cache(maxsize=4096)
def _pitched(file: str, semitones: float) -> np.ndarray:
    """A sample resampled to sound ``semitones`` higher (shorter) or lower (longer)."""
    audio = read_sample(file)
    if semitones == 0:
        return audio
    ratio = Fraction(2.0 ** (-semitones / 12.0)).limit_denominator(96)
    out = signal.resample_poly(audio, ratio.numerator, ratio.denominator).astype(np.float32)
    out.setflags(write=False)
    return out

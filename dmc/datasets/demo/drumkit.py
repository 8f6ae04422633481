"""Record a drum performance the way a studio does: close mics with bleed, a spaced overhead pair.

Every piece of the kit (kick, snare, hi-hat, three toms, crash, ride) is first rendered
as its own dry signal from the sample bank. Microphones then hear every piece from where
they stand in a simple kit geometry (metres, seen from the drummer's seat: ``x`` to the
right, ``y`` away from the drummer, ``z`` up):

- a close mic sits a few centimetres from its drum and hears the other pieces later
  (path difference / speed of sound), quieter (inverse distance plus off-axis rejection)
  and duller (low-pass): the bleed every real close mic has;
- the overhead pair is a spaced pair above the kit: each piece reaches the two mics with
  different delays and levels (the stereo picture), plus floor and wall reflections.

:func:`raw_gains` then gives every channel (of drums or a whole band) a "preamp" gain
so that raw channel loudness is spread over 10-20 dB, as unbalanced as a real raw
multitrack.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import signal

from dmc.audio import SILENCE_LUFS, integrated_loudness
from dmc.datasets.demo import assets
from dmc.datasets.demo.grooves import Hit

SPEED_OF_SOUND = 343.0
#: The 8 channels of ENST-Drums' basic mixing task and their roles.
DRUM_CHANNELS = ("kick", "snare", "hihat", "tom_1", "tom_2", "tom_3", "overhead_L", "overhead_R")
CHANNEL_ROLES = {
    "kick": "kick",
    "snare": "snare",
    "hihat": "hihat",
    "tom_1": "tom",
    "tom_2": "tom",
    "tom_3": "tom",
    "overhead_L": "overhead",
    "overhead_R": "overhead",
}
#: The sound source each close mic is aimed at.
CLOSE_MIC_SOURCE = {
    "kick": "kick",
    "snare": "snare",
    "hihat": "hihat",
    "tom_1": "tom_high",
    "tom_2": "tom_mid",
    "tom_3": "tom_low",
}
SOURCES = ("kick", "snare", "hihat", "tom_high", "tom_mid", "tom_low", "crash", "ride")
_PIECE_SOURCE = {"hihat_closed": "hihat", "hihat_pedal": "hihat", "hihat_open": "hihat"}
#: Where each source sits (metres, drummer's view), before per-song jitter.
POSITIONS = {
    "kick": (0.0, 0.45, 0.35),
    "snare": (-0.28, 0.2, 0.62),
    "hihat": (-0.55, 0.25, 0.9),
    "tom_high": (-0.15, 0.5, 0.82),
    "tom_mid": (0.17, 0.5, 0.82),
    "tom_low": (0.5, 0.2, 0.58),
    "crash": (-0.55, 0.6, 1.35),
    "ride": (0.65, 0.5, 1.15),
}
FALLBACK_KIT = "fluid_standard"


@dataclass
class Kit:
    """A song's drum kit: a sample group per piece and a tuning (semitones) per piece."""

    name: str
    pieces: dict[str, str]
    tuning: dict[str, float] = field(default_factory=dict)


@dataclass
class DrumRecording:
    """Mic channels ``{name: float32 (samples,)}`` before any preamp gain, and how they were made."""

    channels: dict[str, np.ndarray]
    metadata: dict


def choose_kit(rng: np.random.Generator, base: str | None = None) -> Kit:
    """A kit from the assets (``base``, or drawn), sometimes with one piece swapped in from another kit, retuned a little."""
    names = assets.kit_names()
    drawn = str(rng.choice(names))
    base = drawn if base is None else base
    pieces = assets.kit_pieces(FALLBACK_KIT) | assets.kit_pieces(base)
    name = base
    if rng.random() < 0.4:
        donor = str(rng.choice([n for n in names if n != base]))
        donor_pieces = assets.kit_pieces(donor)
        swap = str(rng.choice(["kick", "snare", "hihat", "crash", "ride"]))
        keys = ["hihat_closed", "hihat_pedal", "hihat_open"] if swap == "hihat" else [swap]
        if all(k in donor_pieces for k in keys[:1]):
            for k in keys:
                if k in donor_pieces:
                    pieces[k] = donor_pieces[k]
            name = f"{base}+{donor}:{swap}"
    toms = float(rng.uniform(-1.5, 1.5))
    tuning = {
        "kick": float(rng.uniform(-1.0, 1.0)),
        "snare": float(rng.uniform(-1.0, 1.0)),
        "tom_high": toms,
        "tom_mid": toms,
        "tom_low": toms,
    }
    return Kit(name, pieces, {k: round(v * 4) / 4 for k, v in tuning.items()})


def render_sources(hits: list[Hit], kit: Kit, num_samples: int) -> dict[str, np.ndarray]:
    """The dry signal of every source; an open hi-hat is choked by the next hi-hat stroke."""
    rate = assets.SAMPLE_RATE
    out = {source: np.zeros(num_samples, dtype=np.float32) for source in SOURCES}
    hat_times = [h.time_seconds for h in hits if _PIECE_SOURCE.get(h.piece) == "hihat"]
    for hit in hits:
        source = _PIECE_SOURCE.get(hit.piece, hit.piece)
        audio = assets.drum_hit(kit.pieces[hit.piece], hit.velocity, kit.tuning.get(hit.piece, 0.0))
        if hit.piece == "hihat_open":
            later = [t for t in hat_times if t > hit.time_seconds + 1e-4]
            if later:
                keep = int((later[0] - hit.time_seconds) * rate)
                audio = _choke(audio, keep, int(0.012 * rate))
        start = round(hit.time_seconds * rate)
        stop = min(num_samples, start + audio.size)
        if stop > start:
            out[source][start:stop] += audio[: stop - start]
    return out


def _choke(audio: np.ndarray, keep: int, fade: int) -> np.ndarray:
    if keep >= audio.size:
        return audio
    out = audio[: keep + fade].copy()
    out[keep:] *= np.linspace(1.0, 0.0, out.size - keep, dtype=np.float32)
    return out


def _add_delayed(out: np.ndarray, audio: np.ndarray, delay: int, gain: float) -> None:
    """``out += gain * audio`` delayed by ``delay`` samples, in place (the tail past the end is cut)."""
    if delay < out.size:
        out[delay:] += audio[: out.size - delay] * np.float32(gain)


def _filter(audio: np.ndarray, cutoff_hz: float, kind: str) -> np.ndarray:
    sos = signal.butter(2, cutoff_hz, kind, fs=assets.SAMPLE_RATE, output="sos").astype(np.float32)
    return signal.sosfilt(sos, audio).astype(np.float32)


def _distance(a, b) -> float:
    return float(np.linalg.norm(np.subtract(a, b)))


def record(
    sources: dict[str, np.ndarray],
    channels: tuple[str, ...],
    rng: np.random.Generator,
) -> DrumRecording:
    """Mic up the kit: the requested ``channels`` (names from :data:`DRUM_CHANNELS`)."""
    unknown = [c for c in channels if c not in DRUM_CHANNELS]
    if unknown:
        raise ValueError(f"unknown drum channel(s) {unknown}; choose from {DRUM_CHANNELS}")
    positions = {s: tuple(np.add(p, rng.uniform(-0.05, 0.05, 3))) for s, p in POSITIONS.items()}
    out: dict[str, np.ndarray] = {}
    bleed_db: dict[str, dict[str, float]] = {}
    for name in DRUM_CHANNELS:  # fixed order: the same song gets the same mics whatever is asked
        if name in CLOSE_MIC_SOURCE:
            out[name], bleed_db[name] = _close_mic(name, sources, positions, rng)
    spacing = float(rng.uniform(0.5, 0.9))
    height = float(rng.uniform(1.5, 1.8))
    overhead_hz = float(rng.uniform(60, 140))
    for name, side in (("overhead_L", -1.0), ("overhead_R", 1.0)):
        if name in channels:
            mic = (side * spacing / 2, 0.35, height)
            out[name] = _filter(_overhead(mic, sources, positions), overhead_hz, "high")
    metadata = {
        "positions_m": {s: [round(v, 3) for v in p] for s, p in positions.items()},
        "overhead_spacing_m": round(spacing, 3),
        "overhead_height_m": round(height, 3),
        "bleed_db": {name: bleed_db[name] for name in channels if name in bleed_db},
    }
    return DrumRecording({name: out[name] for name in channels}, metadata)


def _close_mic(name, sources, positions, rng):
    """The aimed-at source plus every other source, later, quieter and duller (bleed)."""
    own = CLOSE_MIC_SOURCE[name]
    own_distance = 0.12 if name == "kick" else 0.05
    mic = positions[own]
    bleed_sum = np.zeros_like(sources[own])
    bleed = {}
    for source in SOURCES:
        if source == own:
            continue
        distance = max(_distance(mic, positions[source]), own_distance + 0.05)
        if name == "kick":
            rejection_db = float(rng.uniform(-18, -12))  # inside the shell, facing the beater
        elif source in ("crash", "ride", "hihat"):
            rejection_db = float(rng.uniform(-6, -2))  # cymbals are loud and spread wide
        else:
            rejection_db = float(rng.uniform(-9, -4))
        gain_db = 20 * np.log10(own_distance / distance) + rejection_db
        delay = round((distance - own_distance) / SPEED_OF_SOUND * assets.SAMPLE_RATE)
        _add_delayed(bleed_sum, sources[source], delay, 10 ** (gain_db / 20))
        bleed[source] = round(float(gain_db), 2)
    # Off-axis sound arrives duller; the filter is linear, so one pass over the summed
    # bleed equals filtering every source. The kick mic inside the shell hears mostly lows.
    cutoff_hz = 1800.0 if name == "kick" else float(rng.uniform(4000, 7000))
    return sources[own] + _filter(bleed_sum, cutoff_hz, "low"), bleed


def _overhead(mic, sources, positions) -> np.ndarray:
    """Direct sound plus floor and wall reflections (image sources) at one overhead."""
    total = np.zeros_like(next(iter(sources.values())))
    for source, audio in sources.items():
        x, y, z = positions[source]
        # Image sources: direct, floor, back wall (2.2 m behind the kit), side wall.
        images = [
            ((x, y, z), 1.0),
            ((x, y, -z), 0.45),
            ((x, 4.4 - y, z), 0.3),
            ((-3.0 - x, y, z), 0.25),
        ]
        if source == "kick":
            images = [(p, g * 0.5) for p, g in images]  # the shell and pedal shadow the kick
        for point, reflection in images:
            distance = _distance(mic, point)
            delay = round(distance / SPEED_OF_SOUND * assets.SAMPLE_RATE)
            _add_delayed(total, audio, delay, reflection * 0.5 / max(distance, 0.2))
    return total


def raw_gains(
    channels: dict[str, np.ndarray], rng: np.random.Generator
) -> tuple[dict[str, float], dict[str, float]]:
    """Preamp gains (dB) that leave raw channel loudness spread over 10-20 dB, none clipping.

    Returns ``(gains_db, loudness_lufs)``: the gain per channel and the integrated
    loudness each channel had before it (so raw loudness is their sum, unmeasured).

    Levels are drawn per channel (loudest -22..-15 LUFS, spread 10-20 dB); the overhead
    pair shares one preamp setting (within 1.5 dB, as matched pairs are set), and a
    channel with no signal keeps unity gain. A channel that would peak above -1 dBFS is
    turned down until it does not.
    """
    names = list(channels)
    loudness = {n: integrated_loudness(channels[n][None], assets.SAMPLE_RATE) for n in names}
    audible = [n for n in names if loudness[n] > SILENCE_LUFS]
    pair = [n for n in ("overhead_L", "overhead_R") if n in audible]
    # The overhead pair is one unit at the level of its louder side.
    units = [n for n in audible if n not in pair] + (["overheads"] if pair else [])
    unit_loudness = {n: loudness[n] for n in audible if n not in pair}
    if pair:
        unit_loudness["overheads"] = max(loudness[n] for n in pair)
    spread = float(rng.uniform(10.0, 20.0))
    top = float(rng.uniform(-22.0, -15.0))
    draws = rng.random(len(units))
    if len(units) > 1:
        draws = (draws - draws.min()) / max(draws.max() - draws.min(), 1e-9)
    gains = dict.fromkeys(names, 0.0)
    for unit, u in zip(units, draws):
        gain = top - spread * float(u) - unit_loudness[unit]
        if unit == "overheads":
            offset = float(rng.uniform(-0.75, 0.75))
            for n, sign in zip(pair, (1.0, -1.0)):
                gains[n] = gain + sign * offset
        else:
            gains[unit] = gain
    for n in audible:
        # A preamp set so hits never clip: the rare very peaky channel (a tom mic that
        # only plays in fills) ends up quieter than drawn.
        peak_db = 20 * np.log10(np.max(np.abs(channels[n])) + 1e-12)
        gains[n] = min(gains[n], -1.0 - peak_db)
    return {n: round(float(g), 3) for n, g in gains.items()}, loudness

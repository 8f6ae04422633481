"""The reference engineer: a documented mixing policy that makes the demo targets.

The demo songs need target mixes that a console can learn, so they are made by a rule
book rather than by hand, and the rule book speaks the console's language: every
decision is a setting of :data:`dmc.effects.params.CHANNEL_STRIP` inside its range, and
the target is rendered with the project's reference chain :mod:`dmc.effects.chain`
(real pedalboard effects; the same result as :func:`dmc.effects.chain.mix`). A console with a perfect parameter predictor can therefore
reach the target exactly.

Levels are loudness-based, because the console never sees raw levels: it sees tracks
trimmed to -30 LUFS by :class:`dmc.staging.GainStaging`. The engineer's input gain is
that same trim plus a small per-role offset, so the setting a console would need on the
staged track is just the offset (``staged_settings`` in the metadata). In the ``full``
task the fader then sets each track's loudness after its effects to a per-role target.

Per song a *style* is drawn (an engineer's habits: perspective, width, brightness,
compression and reverb amounts, small per-role level preferences), then a little jitter
per track. Context rules make the mix depend on the rest of the song, so averaging
over tracks (the console's context vector) has something to learn:

- a busy hi-hat (many strokes per second) sits lower;
- a busier arrangement (more accompanying tracks) pushes the lead up;
- two guitars are each set lower than a single guitar.

The tables below are the policy; ``docs/demo-data.md`` prints them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dmc.audio import SILENCE_LUFS, db_to_gain, gain_to_db, integrated_loudness
from dmc.effects.chain import ALL_STAGES, constant_power_pan, process_channel
from dmc.effects.params import CHANNEL_STRIP
from dmc.staging import GainStaging

#: Loudness of each role in the mix, in LU relative to a staged track (-30 LUFS).
LEVELS_DB = {
    "drums": {"kick": 0.0, "snare": 0.0, "hihat": -6.0, "tom": -4.0, "overhead": -2.0},
    "full": {
        "kick": -1.0,
        "snare": -2.0,
        "hihat": -9.0,
        "overhead": -6.0,
        "bass": 0.0,
        "keys": -4.0,
        "guitar": -4.0,
        "strings": -7.0,
        "pad": -8.0,
        "lead": 1.0,
    },
}
#: How far from centre each role is panned, as a fraction of the song's width (0 = centre).
PAN_SPREAD = {
    "keys": (0.25, 0.45),
    "guitar": (0.45, 0.85),
    "strings": (0.15, 0.35),
    "pad": (0.15, 0.35),
}
#: EQ moves per role: parameter -> (low, high), drawn uniformly per song.
EQ = {
    "kick": {
        "eq_low_shelf_gain_db": (2, 5),
        "eq_low_shelf_freq_hz": (55, 90),
        "eq_band1_gain_db": (-6, -3),
        "eq_band1_freq_hz": (250, 400),
        "eq_band1_q": (1.0, 2.0),
        "eq_band3_gain_db": (2, 5),
        "eq_band3_freq_hz": (2800, 4500),
    },
    "snare": {
        "eq_low_shelf_gain_db": (0, 2),
        "eq_low_shelf_freq_hz": (150, 250),
        "eq_band2_gain_db": (-3, 0),
        "eq_band2_freq_hz": (700, 1200),
        "eq_band3_gain_db": (1, 4),
        "eq_band3_freq_hz": (4000, 7000),
        "eq_high_shelf_gain_db": (0, 3),
    },
    "hihat": {
        "eq_low_shelf_gain_db": (-8, -4),
        "eq_low_shelf_freq_hz": (250, 500),
        "eq_high_shelf_gain_db": (0, 2),
    },
    "overhead": {
        "eq_low_shelf_gain_db": (-6, -2),
        "eq_low_shelf_freq_hz": (150, 300),
        "eq_high_shelf_gain_db": (1, 4),
        "eq_high_shelf_freq_hz": (8000, 12000),
    },
    "bass": {
        "eq_low_shelf_gain_db": (1, 4),
        "eq_low_shelf_freq_hz": (60, 100),
        "eq_band1_gain_db": (-5, -2),
        "eq_band1_freq_hz": (220, 400),
        "eq_band2_gain_db": (0, 3),
        "eq_band2_freq_hz": (700, 1200),
    },
    "keys": {
        "eq_low_shelf_gain_db": (-5, -2),
        "eq_low_shelf_freq_hz": (120, 220),
        "eq_band2_gain_db": (-2, 2),
        "eq_band2_freq_hz": (800, 2500),
        "eq_high_shelf_gain_db": (0, 2),
    },
    "guitar": {
        "eq_low_shelf_gain_db": (-6, -3),
        "eq_low_shelf_freq_hz": (120, 250),
        "eq_band2_gain_db": (1, 3),
        "eq_band2_freq_hz": (1500, 3500),
        "eq_band3_gain_db": (-3, 0),
        "eq_band3_freq_hz": (4000, 7000),
    },
    "strings": {
        "eq_low_shelf_gain_db": (-6, -3),
        "eq_low_shelf_freq_hz": (150, 300),
        "eq_band1_gain_db": (-3, 0),
        "eq_band1_freq_hz": (300, 600),
        "eq_high_shelf_gain_db": (0, 2),
    },
    "pad": {
        "eq_low_shelf_gain_db": (-8, -4),
        "eq_low_shelf_freq_hz": (150, 300),
        "eq_band1_gain_db": (-4, -1),
        "eq_band1_freq_hz": (300, 600),
    },
    "lead": {
        "eq_low_shelf_gain_db": (-4, -1),
        "eq_low_shelf_freq_hz": (100, 200),
        "eq_band2_gain_db": (1, 4),
        "eq_band2_freq_hz": (1500, 3500),
        "eq_high_shelf_gain_db": (1, 3),
        "eq_high_shelf_freq_hz": (9000, 14000),
    },
}
#: Compression per role: ratio range, depth (dB of peak above threshold), attack and release (ms).
COMPRESSION = {
    "kick": ((3, 5), (4, 8), (5, 15), (60, 150)),
    "snare": ((3, 5), (4, 8), (2, 8), (80, 200)),
    "hihat": ((1.5, 2.5), (2, 4), (1, 5), (50, 120)),
    "overhead": ((1.5, 2.5), (2, 5), (10, 30), (100, 300)),
    "bass": ((3, 6), (5, 10), (5, 20), (80, 250)),
    "keys": ((1.5, 2.5), (3, 6), (10, 30), (100, 300)),
    "guitar": ((2, 3), (3, 6), (5, 20), (80, 250)),
    "strings": ((1.2, 2), (2, 4), (20, 60), (200, 600)),
    "pad": ((1.2, 2), (2, 4), (20, 60), (200, 600)),
    "lead": ((2, 4), (4, 8), (5, 15), (80, 250)),
}
#: Peak level above the track's loudness that each role typically reaches (dB).
CREST_DB = {
    "kick": 16,
    "snare": 16,
    "hihat": 12,
    "overhead": 14,
    "bass": 10,
    "keys": 12,
    "guitar": 11,
    "strings": 8,
    "pad": 7,
    "lead": 11,
    "tom": 18,
}
#: Reverb send (``reverb_wet``) per role, before the style's amount.
REVERB_WET = {
    "kick": (0.0, 0.05),
    "snare": (0.15, 0.35),
    "hihat": (0.0, 0.1),
    "overhead": (0.05, 0.15),
    "bass": (0.0, 0.02),
    "keys": (0.15, 0.3),
    "guitar": (0.1, 0.3),
    "strings": (0.3, 0.5),
    "pad": (0.3, 0.5),
    "lead": (0.2, 0.4),
    "tom": (0.1, 0.25),
}
#: Engineer styles: (low, high) of each habit, one style per song.
STYLES = {
    "natural": {
        "width": (0.7, 0.9),
        "brightness_db": (-0.5, 1.0),
        "compression": (0.6, 0.9),
        "reverb": (0.8, 1.1),
    },
    "punchy": {
        "width": (0.8, 1.0),
        "brightness_db": (0.5, 2.0),
        "compression": (1.1, 1.4),
        "reverb": (0.5, 0.8),
    },
    "roomy": {
        "width": (0.8, 1.0),
        "brightness_db": (-1.0, 0.5),
        "compression": (0.6, 0.9),
        "reverb": (1.2, 1.5),
    },
    "tight": {
        "width": (0.5, 0.7),
        "brightness_db": (0.0, 1.5),
        "compression": (0.9, 1.2),
        "reverb": (0.3, 0.6),
    },
}
STAGING = GainStaging()


@dataclass
class EngineerMix:
    """The target and the decisions behind it (all JSON-friendly except ``target``)."""

    target: np.ndarray
    settings: list[dict[str, float]]
    staged_settings: list[dict[str, float]]
    staging_gain_db: list[float]
    style: dict
    context: dict
    stages: tuple[str, ...]


def draw_style(rng: np.random.Generator) -> dict:
    name = str(rng.choice(list(STYLES)))
    style = {"name": name, "perspective": "drummer" if rng.random() < 0.5 else "audience"}
    style |= {k: round(float(rng.uniform(*r)), 3) for k, r in STYLES[name].items()}
    style["room_size"] = round(float(rng.uniform(0.25, 0.6)), 3)
    style["damping"] = round(float(rng.uniform(0.3, 0.7)), 3)
    style["level_offsets_db"] = {role: round(float(rng.normal(0.0, 1.0)), 2) for role in CREST_DB}
    style["keys_side"] = 1.0 if rng.random() < 0.5 else -1.0
    return style


def _level(task: str, role: str, style: dict, context: dict, rng: np.random.Generator) -> float:
    level = LEVELS_DB[task][role] + style["level_offsets_db"][role] + float(rng.normal(0.0, 0.5))
    if role == "hihat":
        level -= 1.5 * float(np.clip((context["hihat_hits_per_second"] - 4.0) / 4.0, -1.0, 2.0))
    if role == "lead":
        level += 0.75 * (context["accompaniment_tracks"] - 3)
    if role == "guitar" and context["guitars"] > 1:
        level -= 1.5
    return level


def _pan(name: str, role: str, style: dict, context: dict, rng: np.random.Generator) -> float:
    width = style["width"]
    mirror = 1.0 if style["perspective"] == "drummer" else -1.0
    jitter = float(rng.normal(0.0, 0.015))
    if role == "overhead":
        side = -1.0 if name.endswith("_L") else 1.0
        return 0.5 + mirror * side * width / 2 + jitter
    if role in ("snare", "hihat", "tom") and name in context.get("drum_x_m", {}):
        # Close mics follow where the drum sits in the overheads' picture (x in metres).
        scale = 0.3 if role == "snare" else 1.0
        return (
            0.5
            + mirror * scale * width / 2 * float(np.clip(context["drum_x_m"][name] / 0.65, -1, 1))
            + jitter
        )
    if role in PAN_SPREAD:
        amount = float(rng.uniform(*PAN_SPREAD[role])) * width / 2
        side = style["keys_side"] * (1.0 if role in ("keys", "strings", "pad") else -1.0)
        if role == "guitar" and name.endswith("_2"):
            side = -side
        return 0.5 + side * amount + jitter
    return 0.5 + jitter  # kick, snare, bass, lead: centred


def _effects(role: str, style: dict, trim_db: float, rng: np.random.Generator) -> dict[str, float]:
    settings: dict[str, float] = {}
    for name, bounds in EQ.get(role, {}).items():
        settings[name] = float(rng.uniform(*bounds))
    settings["eq_high_shelf_gain_db"] = (
        settings.get("eq_high_shelf_gain_db", 0.0) + style["brightness_db"]
    )
    if role in COMPRESSION:
        ratio, depth, attack, release = COMPRESSION[role]
        depth_db = float(rng.uniform(*depth)) * style["compression"]
        settings["comp_ratio"] = float(rng.uniform(*ratio))
        settings["comp_threshold_db"] = STAGING.target_lufs + trim_db + CREST_DB[role] - depth_db
        settings["comp_attack_ms"] = float(np.exp(rng.uniform(*np.log(attack))))
        settings["comp_release_ms"] = float(np.exp(rng.uniform(*np.log(release))))
        settings["comp_makeup_db"] = depth_db * (1 - 1 / settings["comp_ratio"]) * 0.5
    settings["reverb_room_size"] = style["room_size"]
    settings["reverb_damping"] = style["damping"]
    settings["reverb_wet"] = float(rng.uniform(*REVERB_WET[role])) * style["reverb"]
    return settings


def _clip(settings: dict[str, float]) -> dict[str, float]:
    """A full strip dict with every value inside its range, rounded for readable metadata."""
    out = CHANNEL_STRIP.to_dict(CHANNEL_STRIP.defaults())
    for name, value in settings.items():
        p = CHANNEL_STRIP[name]
        out[name] = round(float(np.clip(value, p.minimum, p.maximum)), 4)
    return out


def _pan_and_sum(pre_fader: list[np.ndarray], settings: list[dict[str, float]]) -> np.ndarray:
    """Fader and constant-power pan of every channel, summed to stereo ``(2, samples)``."""
    total = np.zeros((2, pre_fader[0].size), dtype=np.float32)
    for channel, strip in zip(pre_fader, settings):
        total += constant_power_pan(
            channel * np.float32(db_to_gain(strip["fader_db"])), strip["pan"]
        )
    return total


def staging_gains(raw_loudness_lufs: list[float]) -> list[float]:
    """What :class:`dmc.staging.GainStaging` computes for tracks of this loudness (dB)."""
    return [
        0.0
        if loudness <= SILENCE_LUFS
        else float(
            np.clip(STAGING.target_lufs - loudness, STAGING.min_gain_db, STAGING.max_gain_db)
        )
        for loudness in raw_loudness_lufs
    ]


def mix_song(
    task: str,
    tracks: np.ndarray,
    names: list[str],
    roles: list[str],
    raw_loudness_lufs: list[float],
    sample_rate: int,
    rng: np.random.Generator,
    context: dict,
) -> EngineerMix:
    """Mix raw ``tracks`` ``(T, S)``: the target ``(2, S)`` and the settings that made it.

    Args:
        raw_loudness_lufs: integrated loudness of each raw track (measured by the caller,
            which already has it), from which the staging trim follows.
        context: song facts the rules read: ``hihat_hits_per_second``,
            ``accompaniment_tracks``, ``guitars`` and ``drum_x_m`` (close-mic name ->
            position of its drum, metres, drummer's right positive).
    """
    if task not in LEVELS_DB:
        raise ValueError(f"unknown task {task!r}; choose one of {', '.join(LEVELS_DB)}")
    style = draw_style(rng)
    staging = staging_gains(raw_loudness_lufs)
    settings, levels = [], []
    for name, role, stage_db in zip(names, roles, staging):
        level = _level(task, role, style, context, rng)
        strip = {"pan": _pan(name, role, style, context, rng)}
        if task == "drums":
            strip["gain_db"] = stage_db + level  # gain and pan only
        else:
            trim = float(rng.uniform(-3.0, 3.0))
            strip["gain_db"] = stage_db + trim
            strip |= _effects(role, style, trim, rng)
        settings.append(_clip(strip))
        levels.append(level)
    # This is dmc.effects.chain.mix, computed in two steps so the effects run once: each
    # channel through its strip up to the fader (process_channel), then the fader (a
    # plain gain) and the constant-power pan. Tests re-render with mix() and compare.
    # Drums use gain and pan only: the effect stages sit at neutral settings, which pass
    # audio unchanged (to float rounding), so they are skipped.
    stages = ("gain", "fader") if task == "drums" else ALL_STAGES
    if task == "drums":
        pre_fader = [
            track * np.float32(db_to_gain(strip["gain_db"]))
            for track, strip in zip(tracks, settings)
        ]
    else:
        pre_fader = [
            process_channel(track, sample_rate, strip, stages[:-1])
            for track, strip in zip(tracks, settings)
        ]
        for strip, channel, level in zip(settings, pre_fader, levels):
            # The fader puts each processed track at its role's loudness.
            loudness = integrated_loudness(channel[None], sample_rate)
            if loudness > SILENCE_LUFS:
                strip["fader_db"] = round(
                    float(np.clip(STAGING.target_lufs + level - loudness, -24.0, 12.0)), 4
                )
    target = _pan_and_sum(pre_fader, settings)
    peak_db = float(gain_to_db(np.max(np.abs(target))))
    if peak_db > -1.0:
        # Pull every fader (drums: every gain) down together, keeping the balance.
        key = "gain_db" if task == "drums" else "fader_db"
        for strip in settings:
            strip[key] = round(max(strip[key] - (peak_db + 1.0), CHANNEL_STRIP[key].minimum), 4)
        if task == "drums":
            pre_fader = [t * np.float32(db_to_gain(s["gain_db"])) for t, s in zip(tracks, settings)]
        target = _pan_and_sum(pre_fader, settings)
    target = np.clip(target, -1.0, 1.0)
    staged = [{**s, "gain_db": round(s["gain_db"] - g, 4)} for s, g in zip(settings, staging)]
    facts = {k: v for k, v in context.items() if k != "drum_x_m"}
    facts["levels_db"] = [round(level, 3) for level in levels]
    return EngineerMix(
        target.astype(np.float32),
        settings,
        staged,
        [round(g, 4) for g in staging],
        style,
        facts,
        stages,
    )

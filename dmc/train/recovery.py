"""Parameter recovery: how close a console's settings come to the ones that made the target.

The demo songs' targets were mixed by a known rule book (:mod:`dmc.datasets.demo.engineer`),
whose settings are stored with each song (``engineer.staged_settings``, in real units, for
the gain-staged tracks every mixer sees). A console that mixes well should also set its
controls near them: this module measures the absolute error per parameter, in dB, Hz,
ms or pan units.

Some settings matter only when another is engaged: a band's frequency and Q when its gain
is not 0 dB, the compressor's timing and threshold when its ratio is above 1, the room
when there is reverb to hear. Each error is reported over all tracks and over the tracks
where it matters (:data:`MATTERS_WHEN`). Pans are compared mirror-invariantly, choosing
the orientation per song and per group (drum kit, everything else), because the rule
book draws the kit's perspective and the keys' side independently and both views are
equally valid.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dmc.effects.params import CHANNEL_STRIP
from dmc.stereo_image import KIT_ROLES

#: parameter -> (the setting it depends on, how far from its neutral value that must be).
MATTERS_WHEN = {
    "eq_low_shelf_freq_hz": ("eq_low_shelf_gain_db", 1.0),
    "eq_high_shelf_freq_hz": ("eq_high_shelf_gain_db", 1.0),
    **{
        f"eq_band{n}_{kind}": (f"eq_band{n}_gain_db", 1.0)
        for n in (1, 2, 3)
        for kind in ("freq_hz", "q")
    },
    "comp_threshold_db": ("comp_ratio", 0.5),
    "comp_attack_ms": ("comp_ratio", 0.5),
    "comp_release_ms": ("comp_ratio", 0.5),
    "reverb_room_size": ("reverb_wet", 0.1),
    "reverb_damping": ("reverb_wet", 0.1),
}


def mirrored_pan_errors(
    predicted: Sequence[float], true: Sequence[float], roles: Sequence[str]
) -> np.ndarray:
    """``|pan - true pan|`` per track, each group (kit, the rest) in its closer orientation."""
    predicted, true = np.asarray(predicted, float), np.asarray(true, float)
    errors = np.zeros(len(true))
    kit = np.array([role in KIT_ROLES for role in roles], dtype=bool)
    for group in (kit, ~kit):
        if group.any():
            direct = np.abs(predicted[group] - true[group])
            mirrored = np.abs((1.0 - predicted[group]) - true[group])
            errors[group] = direct if direct.mean() <= mirrored.mean() else mirrored
    return errors


def song_errors(
    predicted: Sequence[dict[str, float]],
    true: Sequence[dict[str, float]],
    roles: Sequence[str],
) -> dict[str, np.ndarray]:
    """Absolute error per parameter the console sets, one value per track."""
    if not len(predicted) == len(true) == len(roles):
        raise ValueError(
            f"need one setting and role per track, got {len(predicted)}, {len(true)}, {len(roles)}"
        )
    names = [n for n in CHANNEL_STRIP.names if n in predicted[0]] if predicted else []
    out = {}
    for name in names:
        default = CHANNEL_STRIP[name].default
        guess = [p[name] for p in predicted]
        truth = [t.get(name, default) for t in true]
        if name == "pan":
            out[name] = mirrored_pan_errors(guess, truth, roles)
        else:
            out[name] = np.abs(np.subtract(guess, truth))
    return out


def recovery_table(true: Sequence[dict[str, float]], errors: dict[str, np.ndarray]) -> list[dict]:
    """One row per parameter: median absolute error over all tracks and where it matters,
    beside the error of always answering the neutral setting."""
    rows = []
    for name, values in errors.items():
        parameter = CHANNEL_STRIP[name]
        truth = np.array([t.get(name, parameter.default) for t in true])
        neutral = np.abs(truth - parameter.default)
        if name == "pan":  # the neutral pan (centre) is equally far in both views
            neutral = np.abs(truth - 0.5)
        row = {
            "parameter": name,
            "tracks": len(values),
            "median_abs_error": float(np.median(values)),
            "neutral_median_abs_error": float(np.median(neutral)),
        }
        if name in MATTERS_WHEN:
            switch, distance = MATTERS_WHEN[name]
            default = CHANNEL_STRIP[switch].default
            engaged = np.array([abs(t.get(switch, default) - default) >= distance for t in true])
            row["engaged_tracks"] = int(engaged.sum())
            row["engaged_median_abs_error"] = (
                float(np.median(values[engaged])) if engaged.any() else float("nan")
            )
        rows.append(row)
    return rows


def recovery_markdown(task: str, rows: list[dict]) -> str:
    lines = [
        f"| parameter ({task}) | tracks | median abs error | neutral setting's | "
        "where it matters: tracks | median abs error |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        if "engaged_tracks" not in row:
            engaged = "all | -"
        elif row["engaged_tracks"] == 0:  # the engineer never engaged what it depends on
            engaged = "0 | -"
        else:
            engaged = f"{row['engaged_tracks']} | {row['engaged_median_abs_error']:.3g}"
        lines.append(
            f"| {row['parameter']} | {row['tracks']} | {row['median_abs_error']:.3g} "
            f"| {row['neutral_median_abs_error']:.3g} | {engaged} |"
        )
    return "\n".join(lines)

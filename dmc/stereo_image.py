"""Where a mix puts its tracks in the stereo image, in words a reviewer can check at a glance.

The paper's sum/difference loss cannot tell left from right, so a console trained on it
may pan every off-centre track to the same side. ``python -m dmc.mix SONG_DIR --report``
prints, from the parameters file and the written mix, one line per track (role, gain,
pan as ``L34`` / ``C`` / ``R99.9``) and the mix's R-L level, broadband and per band;
``scripts/check_stereo_image.py`` condenses the same facts to one table row per song:
are the tracks an engineer keeps centred (kick, snare, bass, lead) centred, are the others
spread to both sides, and how far does the whole mix lean.
"""

from __future__ import annotations

import re

import numpy as np

from dmc.metrics import PANNING_BANDS_HZ, rl_levels_db

#: Roles an engineer keeps in the middle of the image (a drum bus too).
CENTRED_ROLES = ("kick", "snare", "bass", "lead", "vocals", "drums")
#: A pan within this many percent of the way to one side counts as centred.
CENTRE_TOLERANCE_PERCENT = 10.0


def pan_to_text(pan: float) -> str:
    """0..1 -> ``"L100"`` .. ``"C"`` .. ``"R100"`` (percent of the way to one side)."""
    percent = round((float(pan) - 0.5) * 200.0, 1)
    if abs(percent) < 0.05:
        return "C"
    return f"{'L' if percent < 0 else 'R'}{abs(percent):g}"


def pan_from_text(text, track: str = "") -> float:
    """``"L30"``, ``"R 100%"``, ``"C"`` (or a number 0..1) -> pan 0..1; raises ValueError naming the value."""
    if isinstance(text, (int, float)) and not isinstance(text, bool) and 0.0 <= text <= 1.0:
        return float(text)
    match = re.fullmatch(
        r"\s*(?:(C)|([LR])\s*(\d+(?:\.\d+)?)\s*%?)\s*", str(text), flags=re.IGNORECASE
    )
    if not match or (match.group(3) is not None and float(match.group(3)) > 100):
        raise ValueError(f"track {track!r}: pan {text!r} is not C, L0-L100 or R0-R100")
    if match.group(1):
        return 0.5
    side = -1.0 if match.group(2).upper() == "L" else 1.0
    return 0.5 + side * float(match.group(3)) / 200.0


def pan_percent(text: str) -> float:
    """``"L34"`` -> -34, ``"C"`` -> 0, ``"R99.9"`` -> 99.9 (the parameters file's pan)."""
    return round((pan_from_text(text) - 0.5) * 200.0, 1)


def track_rows(document: dict) -> list[dict]:
    """Per track of a ``dmc-mix-params`` document: file, role, gain and fader (dB), pan text and percent."""
    rows = []
    for track in document["tracks"]:
        params = track["params"]
        pan = params.get("pan", "C")
        rows.append(
            {
                "file": track["file"],
                "role": track["role"],
                "gain_db": float(params.get("gain_db", 0.0)),
                "fader_db": params.get("fader_db"),
                "pan": pan,
                "pan_percent": pan_percent(pan),
            }
        )
    return rows


def summarise(document: dict, mix: np.ndarray, sample_rate: int) -> dict:
    """The stereo image of one mix: centred roles, the sides of the others, the R-L level (dB).

    Returns:
        ``centre``: ``{file: pan}`` of the tracks whose role belongs in the middle;
        ``off_centre``: the same for those at least :data:`CENTRE_TOLERANCE_PERCENT` of
        the way to the side they should be; ``left`` / ``right``: how many of the other
        tracks sit beyond the tolerance on each side; ``both_sides``; ``rl_db``: the
        mix's R-L level, ``broadband`` and per band of ``dmc.metrics.PANNING_BANDS_HZ``.
    """
    rows = track_rows(document)
    centred = [r for r in rows if r["role"] in CENTRED_ROLES]
    others = [r["pan_percent"] for r in rows if r["role"] not in CENTRED_ROLES]
    left = sum(p <= -CENTRE_TOLERANCE_PERCENT for p in others)
    right = sum(p >= CENTRE_TOLERANCE_PERCENT for p in others)
    return {
        "centre": {r["file"]: r["pan"] for r in centred},
        "off_centre": {
            r["file"]: r["pan"]
            for r in centred
            if abs(r["pan_percent"]) >= CENTRE_TOLERANCE_PERCENT
        },
        "left": left,
        "right": right,
        "both_sides": bool(left and right),
        "rl_db": rl_levels_db(mix, sample_rate),
    }


def report_text(document: dict, mix: np.ndarray, sample_rate: int) -> str:
    """One line per track (role, file, gain, fader where the task has one, pan) and the mix's lean."""
    rows = track_rows(document)
    width = max(len(r["file"]) for r in rows)
    has_fader = any(r["fader_db"] is not None for r in rows)
    lines = [
        f"{'role':<9} {'track':<{width}} {'gain dB':>8}"
        + (f" {'fader dB':>8}" if has_fader else "")
        + f" {'pan':>6}"
    ]
    for r in rows:
        fader = f" {r['fader_db']:>+8.1f}" if has_fader else ""
        lines.append(
            f"{r['role']:<9} {r['file']:<{width}} {r['gain_db']:>+8.1f}{fader} {r['pan']:>6}"
        )
    summary = summarise(document, mix, sample_rate)
    levels = summary["rl_db"]
    bands = ", ".join(f"{band} {levels[band]:+.1f}" for band in PANNING_BANDS_HZ)
    lines.append(f"mix R-L level: {levels['broadband']:+.1f} dB ({bands} dB; + leans right)")
    lines.append(
        f"off-centre tracks: {summary['left']} left, {summary['right']} right"
        + (
            ""
            if summary["both_sides"] or not (summary["left"] or summary["right"])
            else " (one side only)"
        )
        + (
            f"; should be centred: {', '.join(f'{k} {v}' for k, v in summary['off_centre'].items())}"
            if summary["off_centre"]
            else ""
        )
    )
    return "\n".join(lines)

"""Where a console puts the tracks of every song in a folder: one table row per song.

For the held-out multitracks (``scripts/make_heldout_multitracks.py``) or any folder of
song folders that ``python -m dmc.mix`` reads. Each song is mixed with the shipped
console of its task (``info.json``'s ``task``, else ``drums`` when every track is a drum
channel; ``--method console_dsp``: the one trained on the exact effects) or with
``<method>_<task>.pt`` from ``--checkpoints``, and the table says what an
engineer would check first: are kick, snare, bass and lead (and a drum bus) near the
centre, are the other tracks spread to both sides, how far the whole mix leans (R-L
level, broadband and per band). The table is Markdown, to paste into docs/model.md.

Usage::

    python scripts/check_stereo_image.py --folders ~/.cache/dmc/heldout
    python scripts/check_stereo_image.py --folders ~/.cache/dmc/heldout --method console_dsp
    python scripts/check_stereo_image.py --folders DIR --checkpoints runs/new-consoles --details
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from dmc.audio import read_audio
from dmc.contracts.conditions import CONSOLE, CONSOLE_DSP
from dmc.mix import AUDIO_SUFFIXES, get_parser, run
from dmc.mixers import REGISTRY
from dmc.roles import DRUM_ROLES, role_from_name
from dmc.stereo_image import (
    CENTRE_TOLERANCE_PERCENT,
    SNARE_TOLERANCE_PERCENT,
    report_text,
    summarise,
)

HEADER = (
    "| song | task | should be centred | others L / R | both sides | R-L dB | low | mid | high |",
    "| --- | --- | --- | ---: | --- | ---: | ---: | ---: | ---: |",
)


def song_folders(root: Path) -> list[Path]:
    """Sub-folders of ``root`` holding audio tracks (or ``root`` itself when it holds them)."""

    def has_tracks(folder: Path) -> bool:
        return any(p.suffix.lower() in AUDIO_SUFFIXES for p in folder.iterdir() if p.is_file())

    if has_tracks(root):
        return [root]
    return sorted(
        p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and has_tracks(p)
    )


def song_task(folder: Path) -> str:
    """``info.json``'s task, else ``drums`` when every file names a drum channel, else ``full``."""
    info = folder / "info.json"
    if info.is_file():
        task = json.loads(info.read_text(encoding="utf-8")).get("task")
        if task in ("drums", "full"):
            return task
    roles = [role_from_name(p.name) for p in folder.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES]
    return "drums" if roles and all(role in DRUM_ROLES for role in roles) else "full"


def check_song(
    folder: Path, checkpoints: Path | None, workdir: Path, method: str = CONSOLE
) -> tuple[str, dict, str]:
    """Mix one song with ``method``'s console; ``(task, summary, per-track report)``."""
    task = song_task(folder)
    argv = [str(folder), "--task", task, "--out", str(workdir / "mix.wav")]
    if checkpoints is not None:
        argv += ["--checkpoint", str(checkpoints / f"{method}_{task}.pt")]
    elif method != CONSOLE:
        argv += ["--checkpoint", str(REGISTRY[method].checkpoint_path(task))]
    document = run(get_parser().parse_args(argv))
    mix, sample_rate = read_audio(workdir / "mix.wav")
    return task, summarise(document, mix, sample_rate), report_text(document, mix, sample_rate)


def table_row(name: str, task: str, summary: dict) -> str:
    centred = ", ".join(f"{Path(f).stem} {pan}" for f, pan in summary["centre"].items()) or "-"
    if summary["off_centre"]:
        centred += f" (off: {', '.join(Path(f).stem for f in summary['off_centre'])})"
    levels = summary["rl_db"]
    return (
        f"| {name} | {task} | {centred} | {summary['left']} / {summary['right']} | "
        f"{'yes' if summary['both_sides'] else 'no'} | {levels['broadband']:+.1f} | {levels['low']:+.1f} | "
        f"{levels['mid']:+.1f} | {levels['high']:+.1f} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--folders", type=Path, required=True, help="a folder of song folders (or one song)"
    )
    parser.add_argument(
        "--checkpoints",
        type=Path,
        default=None,
        help="folder with <method>_drums.pt and <method>_full.pt (default the shipped consoles)",
    )
    parser.add_argument(
        "--method",
        choices=(CONSOLE, CONSOLE_DSP),
        default=CONSOLE,
        help="which console: the one through its TCN (default) or the one on the exact effects",
    )
    parser.add_argument(
        "--details", action="store_true", help="also print every song's per-track report"
    )
    args = parser.parse_args(argv)
    if not args.folders.is_dir():
        parser.error(
            f"{args.folders} is not a folder: make one with scripts/make_heldout_multitracks.py"
        )
    folders = song_folders(args.folders)
    if not folders:
        parser.error(f"no song folders with audio tracks in {args.folders}")
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for folder in folders:
            task, summary, report = check_song(folder, args.checkpoints, Path(workdir), args.method)
            if args.details:
                print(f"## {folder.name} ({task})\n{report}\n")
            rows.append(table_row(folder.name, task, summary))
    print("\n".join([*HEADER, *rows]))
    print(
        f"\ncentred: within {CENTRE_TOLERANCE_PERCENT:g} % of centre (a snare "
        f"{SNARE_TOLERANCE_PERCENT:g} %); others L / R: the remaining tracks at least "
        f"{CENTRE_TOLERANCE_PERCENT:g} % left / right; R-L dB: the mix's lean (+ right), "
        "broadband and per band"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

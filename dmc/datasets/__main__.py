"""``python -m dmc.datasets export-song OUT``: one song of a dataset as a folder of WAV tracks.

    python -m dmc.datasets export-song demo_song                      # demo full test song 0
    python -m dmc.datasets export-song demo_drums --task drums --song 2 --seconds 10
    python -m dmc.datasets export-song song --data enst --root /data/ENST-drums --task drums

Writes one WAV per track, named after the track (so ``python -m dmc.mix`` finds its role
in the name), and the dataset's reference mix as ``mix.wav``: the layout of a
``--data folder`` song (:mod:`dmc.datasets.folder`). ``dmc.mix`` leaves ``mix.wav`` out
of the mix, so the exported folder is the quickest thing to mix, and the reference is
there to compare with. Only the song asked for is generated (demo) or read.
"""

from __future__ import annotations

import sys
from pathlib import Path

from dmc.audio import AudioError, write_audio
from dmc.cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, Parser, fail, smoke
from dmc.datasets import DATASETS, SPLITS, DatasetError, load_songs

PROG = "python -m dmc.datasets"
#: The longest excerpt written under ``DMC_SMOKE=1`` (:func:`dmc.cli.smoke`), in seconds.
SMOKE_SECONDS = 4.0
REFERENCE_FILE = "mix.wav"


def get_parser() -> Parser:
    parser = Parser(prog=PROG, description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    export = commands.add_parser(
        "export-song",
        help="write one song's tracks (and its reference as mix.wav) as WAV files",
        description="Write one song of a dataset as a folder: one WAV per track, named after "
        "the track, and the reference mix as mix.wav.",
    )
    export.add_argument("out", type=Path, help="folder to write (created if missing)")
    export.add_argument("--data", default="demo", choices=DATASETS, help="dataset (default demo)")
    export.add_argument(
        "--root", type=Path, default=None, help="dataset folder (enst, medleydb, folder)"
    )
    export.add_argument("--task", default="full", help="drums or full (default full)")
    export.add_argument("--split", default="test", choices=SPLITS, help="split (default test)")
    export.add_argument(
        "--song", default="0", help="the song's index in the split, or its id (default 0)"
    )
    export.add_argument(
        "--start", type=float, default=0.0, help="start of the excerpt in seconds (default 0)"
    )
    export.add_argument(
        "--seconds", type=float, default=None, help="length of the excerpt (default: to the end)"
    )
    return parser


def _song(args):
    """The song asked for; by index, only the songs up to it are generated (demo)."""
    index = int(args.song) if args.song.isdigit() else None
    options = {}
    if args.data == "demo" and index is not None:
        from dmc.datasets.demo import SPLIT_SIZES

        size = SPLIT_SIZES.get(args.task, {}).get(args.split, 0)
        if size and index >= size:
            raise DatasetError(
                f"--song {index}: demo {args.task}/{args.split} holds songs 0 to {size - 1}"
            )
        options["num_songs"] = index + 1
    songs = load_songs(args.data, args.task, args.split, root=args.root, **options)
    if index is not None:
        if index >= len(songs):
            raise DatasetError(
                f"--song {index}: {args.data} {args.task}/{args.split} holds {len(songs)} songs"
            )
        return songs[index]
    for song in songs:
        if song.song_id == args.song:
            return song
    shown = ", ".join(s.song_id for s in songs[:5]) + (", ..." if len(songs) > 5 else "")
    raise DatasetError(f"no song {args.song!r} in {args.data} {args.task}/{args.split} ({shown})")


def _file_name(name: str) -> str:
    return "".join("_" if c in '/\\:*?"<>|' else c for c in name) + ".wav"


def export_song(args) -> str:
    """Write the song; returns the line that says what was written."""
    if args.start < 0 or (args.seconds is not None and args.seconds <= 0):
        raise DatasetError("--start must be 0 or more and --seconds more than 0")
    if args.out.is_file():
        raise DatasetError(f"{args.out} is a file; give a folder to write the song into")
    seconds = args.seconds
    if smoke() and (seconds is None or seconds > SMOKE_SECONDS):
        seconds = SMOKE_SECONDS
        print(f"{PROG}: note: DMC_SMOKE is set: the first {seconds:g} s only", file=sys.stderr)
    song = _song(args)
    start = round(args.start * song.sample_rate)
    if start >= song.num_samples:
        raise DatasetError(
            f"--start {args.start:g} s is past the end of {song.song_id} ({song.duration_seconds:.1f} s)"
        )
    length = song.num_samples - start
    if seconds is not None:
        length = min(length, round(seconds * song.sample_rate))
    names = [_file_name(t.name) for t in song.tracks]
    if REFERENCE_FILE in names or len(set(names)) < len(names):
        raise DatasetError(f"{song.song_id}: its track names do not make distinct file names")
    written = [*names, *([REFERENCE_FILE] if song.target is not None else [])]
    if args.out.is_dir():  # another song's tracks there would be mixed in with this one's
        others = sorted(
            p.name
            for p in args.out.iterdir()
            if p.suffix.lower() in (".wav", ".flac") and p.name not in written
        )
        if others:
            raise DatasetError(
                f"{args.out} already holds other audio files ({', '.join(others[:3])}); "
                "choose an empty or new folder"
            )
    excerpt = song.excerpt(start, length)
    for track, name in zip(excerpt.tracks, names):
        write_audio(args.out / name, track.audio, song.sample_rate, subtype="PCM_24")
    if excerpt.target is not None:
        write_audio(args.out / REFERENCE_FILE, excerpt.target.audio, song.sample_rate, "PCM_24")
    reference = f" and the reference ({REFERENCE_FILE})" if excerpt.target is not None else ""
    return (
        f"wrote {len(names)} tracks{reference} of {song.song_id} "
        f"({length / song.sample_rate:.1f} s) to {args.out}"
    )


def main(argv: list[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    try:
        print(export_song(args))
    except (DatasetError, AudioError) as exc:
        return fail(PROG, str(exc), EXIT_BAD_INPUT)
    except OSError as exc:
        return fail(PROG, f"cannot write the song: {exc}", EXIT_FAILED)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

"""``python -m dmc.render <command>``: render listening-test stimuli.

Commands:
  testset    every method's mix of every test passage: loudness-normalised VBR MP3 under
             opaque names, manifest.json, params.json and metrics.csv (the stimuli of a
             listening test; `python -m evaluation.design` checks a test of them)
  transform  the paper's emulation table: clean passages through the real chain and
             TCN-10/20/30
  import     add an outside system's mixes (any audio format) to a rendered test, scored
             and loudness-matched like the built-in methods
  page       moved to `python -m analysis page` (the page is the last step of the flow,
             after the analysis); this name still runs it

Each command takes --help. Exit status 0 done, 1 failed while running, 2 bad input.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from dmc.cli import Parser, note
from dmc.render import importer, planning, transform


def get_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="python -m dmc.render",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    testset = commands.add_parser(
        "testset",
        help="render every method's mix of every test passage (MP3 + manifest + metrics)",
        description="Render every method's mix of every passage of a test split: loudness-normalised "
        "VBR MP3 (-23 LUFS unless --lufs says otherwise) under opaque names, manifest.json, "
        "params.json (console settings) and metrics.csv.",
    )
    planning.add_arguments(testset)
    emulation = commands.add_parser(
        "transform",
        help="the emulation table: input, real chain and TCN-10/20/30 per passage (MP3 + manifest)",
        description="Render the paper's emulation table: clean passages A-F as input, through the real "
        "EQ -> compressor -> reverb (target) and through each trained TCN, -23 LUFS VBR MP3 under opaque names, "
        "manifest.json (task 'emulation'), params.json and metrics.csv.",
    )
    transform.add_arguments(emulation)
    importer.add_arguments(
        commands.add_parser(
            "import",
            help="add an outside system's mixes of the passages to a rendered test",
            description=importer.__doc__.split("\n\n")[0],
        )
    )
    commands.add_parser(
        "page",
        help="moved to `python -m analysis page`: a static companion page (runs it)",
        add_help=False,
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["page"]:
        # The page comes after the analysis in the data flow, so this package cannot import
        # it: the old command name runs the new one as a user would.
        note("python -m dmc.render page", "moved to `python -m analysis page`; running that")
        command = [sys.executable, "-m", "analysis", "page", *argv[1:]]
        return subprocess.run(command, check=False).returncode
    args = get_parser().parse_args(argv)
    if args.command == "transform":
        return transform.run(args)
    if args.command == "import":
        return importer.run(args)
    return planning.run(args)


if __name__ == "__main__":
    sys.exit(main())

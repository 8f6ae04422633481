"""Box plots of the listening test as in the paper, after BS.1534-3 post-screening.

    python analysis/boxplots.py                       # the web app's database
    python analysis/boxplots.py --ratings ratings.csv # an export
    python -m analysis.boxplots --db postgresql+psycopg://...

Writes ``boxplots.png``/``.pdf`` and the screening report to ``--out``
(default ``./analysis_out/``) and prints where they went.
"""

from __future__ import annotations

import sys

from analysis import cli, pipeline

PROG = "boxplots"


def get_parser():
    return cli.base_parser(PROG, "Box plots per task and method after BS.1534-3 post-screening.")


def main(argv: list[str] | None = None) -> int:
    args = get_parser().parse_args(argv)

    def body() -> int:
        ratings, source = cli.load_from_args(args)
        analysis = pipeline.prepare(ratings, cli.options_from_args(args), source)
        for line in analysis.screening.summary():
            print(line)
        paths = pipeline.write_boxplots(analysis, args.out) + pipeline.write_screening(
            analysis, args.out
        )
        cli.print_paths("wrote", paths)
        return 0

    return cli.run(PROG, body)


if __name__ == "__main__":
    sys.exit(main())

"""Significance tests and summary tables of the listening test (CSV, Markdown, LaTeX).

    python analysis/significance.py [--ratings FILE | --db URL] [--out DIR]

Per task: Friedman across methods over (rater x passage) blocks, pairwise Wilcoxon
signed-rank tests with Holm correction and rank-biserial effect sizes, BS.1534-3
permutation tests, medians/IQRs and means with bootstrap 95 % CIs, Kendall's W, and
the per-passage and per-rater views. The statistics live in :mod:`analysis.inference`,
:mod:`analysis.descriptives` and :mod:`analysis.views`; this script only runs and
writes them.
"""

from __future__ import annotations

import sys

from analysis import cli, pipeline
from analysis.tables import to_markdown

PROG = "significance"


def get_parser():
    parser = cli.base_parser(PROG, "Significance tests and tables per task and method pair.")
    cli.add_resamples_argument(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = get_parser().parse_args(argv)

    def body() -> int:
        ratings, source = cli.load_from_args(args)
        options = cli.options_from_args(args, n_resamples=args.resamples)
        analysis = pipeline.analyse(ratings, options, source)
        for line in analysis.screening.summary():
            print(line)
        if analysis.title:
            print(analysis.title)
        print("\nFriedman per task\n" + to_markdown(analysis.friedman))
        print("Pairwise Wilcoxon (Holm per task)\n" + to_markdown(analysis.wilcoxon))
        cli.print_paths("wrote", pipeline.write_tables(analysis, args.out))
        return 0

    return cli.run(PROG, body)


if __name__ == "__main__":
    sys.exit(main())

"""``python -m analysis <command>`` / ``dmc-analysis <command>``: every analysis command in one place.

- ``boxplots``: post-screening and the paper's box plots (also ``python analysis/boxplots.py``);
- ``significance``: Friedman and pairwise tests per task (also ``python analysis/significance.py``);
- ``report``: a one-page HTML report (also ``python analysis/report.py``);
- ``simulate``: a simulated panel in the export format (also ``python -m analysis.simulate``);
- ``power``: how many raters a test needs (also ``python -m analysis.power``);
- ``page``: a static companion page of a rendered test, its audio, metrics and results
  (also ``python analysis/page.py``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from dmc.cli import EXIT_BAD_INPUT, EXIT_OK, fail, plain_text

PROG = "python -m analysis"


# Each command imports its module when it runs (explicitly, so the import graph shows it).
def _boxplots(argv: list[str]) -> int:
    from analysis import boxplots

    return boxplots.main(argv)


def _significance(argv: list[str]) -> int:
    from analysis import significance

    return significance.main(argv)


def _report(argv: list[str]) -> int:
    from analysis import report

    return report.main(argv)


def _simulate(argv: list[str]) -> int:
    from analysis import simulate

    return simulate.main(argv)


def _power(argv: list[str]) -> int:
    from analysis import power

    return power.main(argv)


def _page(argv: list[str]) -> int:
    from analysis import page

    return page.main(argv)


COMMANDS: dict[str, Callable[[list[str]], int]] = {
    "boxplots": _boxplots,
    "significance": _significance,
    "report": _report,
    "simulate": _simulate,
    "power": _power,
    "page": _page,
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(f"usage: {PROG} {{{','.join(COMMANDS)}}} [options]\n\n{plain_text(__doc__.strip())}")
        return EXIT_OK if argv else EXIT_BAD_INPUT
    if argv[0] not in COMMANDS:
        return fail(PROG, f"unknown command {argv[0]!r}; choose one of {', '.join(COMMANDS)}")
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())

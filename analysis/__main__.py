"""``python -m analysis <command>`` / ``dmc-analysis <command>``: every analysis command in one place.

- ``boxplots``: post-screening and the paper's box plots (also ``python analysis/boxplots.py``);
- ``significance``: Friedman and pairwise tests per task (also ``python analysis/significance.py``);
- ``report``: a one-page HTML report (also ``python analysis/report.py``);
- ``simulate``: a simulated panel in the export format (also ``python -m analysis.simulate``);
- ``power``: how many raters a test needs (also ``python -m analysis.power``).
"""

from __future__ import annotations

import importlib
import sys

from dmc.cli import EXIT_BAD_INPUT, EXIT_OK, fail

PROG = "python -m analysis"
COMMANDS = {
    "boxplots": "analysis.boxplots",
    "significance": "analysis.significance",
    "report": "analysis.report",
    "simulate": "analysis.simulate",
    "power": "analysis.power",
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(f"usage: {PROG} {{{','.join(COMMANDS)}}} [options]\n\n{__doc__.strip()}")
        return EXIT_OK if argv else EXIT_BAD_INPUT
    if argv[0] not in COMMANDS:
        return fail(PROG, f"unknown command {argv[0]!r}; choose one of {', '.join(COMMANDS)}")
    return importlib.import_module(COMMANDS[argv[0]]).main(argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())

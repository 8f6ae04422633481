"""One convention for every command of the project: exit codes and one-line errors.

Every command (``dmc-render``/``python -m dmc.render``, ``dmc-mix``, ``dmc-train``,
``dmc-design``, ``dmc-webapp``, ``dmc-analysis`` ...) exits with

- :data:`EXIT_OK` (0): it did what was asked;
- :data:`EXIT_FAILED` (1): it started but failed at run time (a render that crashed,
  a port in use, a database that went away);
- :data:`EXIT_BAD_INPUT` (2): a usage error or bad input (an unknown option, a missing
  file, a bad value), found before any work was done.

Errors are one line on stderr, ``<prog>: error: <what is wrong and how to fix it>``;
argparse's own usage errors follow the same form (no usage dump).
"""

from __future__ import annotations

import argparse
import sys

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line with exit status 2."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def fail(prog: str, message: str, code: int = EXIT_BAD_INPUT) -> int:
    """Print ``<prog>: error: <message>`` on stderr and return ``code`` (for ``return fail(...)``)."""
    print(f"{prog}: error: {message}", file=sys.stderr)
    return code


def note(prog: str, message: str) -> None:
    """Print ``<prog>: note: <message>`` on stderr (information that is not the command's output)."""
    print(f"{prog}: note: {message}", file=sys.stderr)

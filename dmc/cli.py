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

``DMC_SMOKE=1`` in the environment (:func:`smoke`) makes the commands that train or
render do the least that still runs every stage (a few steps, songs, passages and
seconds), each saying what it capped: how the documented commands are tested
(``tests/test_docs.py``), and a quick first try of a long command.
"""

from __future__ import annotations

import argparse
import os
import re
import sys

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2

#: Environment variable that turns on smoke mode (:func:`smoke`).
SMOKE_ENV = "DMC_SMOKE"


#: A Sphinx cross-reference, ``:mod:`dmc.dsp```, ``:func:`~dmc.a.b```, ``:ref:`text <target>```.
_ROLE = re.compile(r":[a-z]+(?::[a-z]+)?:`~?([^`<]*?)\s*(?:<[^`>]*>)?`")
#: An inline literal, ````--data folder````.
_LITERAL = re.compile(r"``(.+?)``", re.DOTALL)


def plain_text(text: str) -> str:
    """``text`` without the reStructuredText markup of docstrings, for a terminal.

    The commands' help is written once, as their modules' docstrings, which the
    project's developers read with their markup; users read ``--help``, where
    ````--task```` and ``:mod:`dmc.dsp``` are noise. Roles become their target's name
    and literals their content; anything else is left as written.
    """
    return _LITERAL.sub(r"\1", _ROLE.sub(r"\1", text))


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line with exit status 2, and
    whose help is plain text (:func:`plain_text`) however its descriptions were written."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")

    def format_help(self) -> str:
        return plain_text(super().format_help())


def fail(prog: str, message: str, code: int = EXIT_BAD_INPUT) -> int:
    """Print ``<prog>: error: <message>`` on stderr and return ``code`` (for ``return fail(...)``)."""
    print(f"{prog}: error: {message}", file=sys.stderr)
    return code


def note(prog: str, message: str) -> None:
    """Print ``<prog>: note: <message>`` on stderr (information that is not the command's output)."""
    print(f"{prog}: note: {message}", file=sys.stderr)


def smoke() -> bool:
    """True when ``$DMC_SMOKE`` is set to anything but empty or ``0``.

    Training and rendering commands then cap their work (steps, songs, passages,
    seconds) so that every stage runs in seconds; they print a note saying so, because
    the results mean nothing beyond "it runs".
    """
    return os.environ.get(SMOKE_ENV, "").strip() not in ("", "0")

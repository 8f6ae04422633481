"""``python -m dmc.train <what> [options]``: dispatch to a training subcommand.

Subcommands are registered by module name in :data:`SUBCOMMANDS`; each module offers
``get_parser()`` and ``main(argv)``. Another model adds itself with one line
(``"demucs": "dmc.train.demucs"``).
"""

from __future__ import annotations

import importlib
import sys

from dmc.audio import AudioError
from dmc.checkpoint import CheckpointError
from dmc.cli import EXIT_BAD_INPUT, EXIT_OK, fail
from dmc.datasets import DatasetError
from dmc.train.loop import TrainingError

PROG = "python -m dmc.train"
#: Mistakes a user can make (wrong path, bad file, incompatible run dir): one line, no traceback.
USER_ERRORS = (AudioError, CheckpointError, DatasetError, TrainingError)

SUBCOMMANDS: dict[str, str] = {
    "transform": "dmc.train.transform",
    "encoder": "dmc.train.encoder",
    "console": "dmc.train.console",
    "evaluate": "dmc.train.evaluate",
    "demucs": "dmc.train.demucs",  # the Demucs baseline (drums, N = 8)
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(f"usage: {PROG} {{{','.join(SUBCOMMANDS)}}} [options]\n\n{__doc__.strip()}")
        return EXIT_OK if argv else EXIT_BAD_INPUT
    what, rest = argv[0], argv[1:]
    if what not in SUBCOMMANDS:
        return fail(
            PROG, f"unknown training subcommand {what!r}; choose one of {', '.join(SUBCOMMANDS)}"
        )
    try:
        importlib.import_module(SUBCOMMANDS[what]).main(rest)
    except USER_ERRORS as exc:
        return fail(f"{PROG} {what}", str(exc))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

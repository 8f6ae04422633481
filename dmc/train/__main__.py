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
from dmc.datasets import DatasetError
from dmc.train.loop import TrainingError

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
        print(
            f"usage: python -m dmc.train {{{','.join(SUBCOMMANDS)}}} [options]\n\n{__doc__.strip()}"
        )
        return 0 if argv else 2
    what, rest = argv[0], argv[1:]
    if what not in SUBCOMMANDS:
        print(
            f"error: unknown training subcommand {what!r}; choose one of {', '.join(SUBCOMMANDS)}",
            file=sys.stderr,
        )
        return 2
    try:
        importlib.import_module(SUBCOMMANDS[what]).main(rest)
    except USER_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

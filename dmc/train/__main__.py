"""python -m dmc.train <command> [options]: train and check the models.

Commands:
  encoder    the track encoder (a mel-spectrogram CNN classifying track roles)
  transform  a TCN emulating EQ -> compressor -> reverb (--preset tcn10, tcn20, tcn30)
  console    the mixing console (--task drums or full; --effects tcn or dsp)
  demucs     the Demucs baseline (drums, eight fixed tracks)
  evaluate   a console against the mono and random mixes on held-out songs

Each command takes --help. Runs write their state, curves and best model to
runs/<name>/ and resume where they stopped; --export copies the best model with its
record. The shipped checkpoints and the commands that made them are listed in
dmc/checkpoints/README.md.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from dmc.audio import AudioError
from dmc.checkpoint import CheckpointError
from dmc.cli import EXIT_BAD_INPUT, EXIT_OK, fail, plain_text
from dmc.datasets import DatasetError
from dmc.train.loop import TrainingError

PROG = "python -m dmc.train"
#: Mistakes a user can make (wrong path, bad file, incompatible run dir): one line, no traceback.
USER_ERRORS = (AudioError, CheckpointError, DatasetError, TrainingError)


# Each command imports its module when it runs (explicitly, so the import graph shows it),
# keeping `--help` and the other commands from loading every model.
def _transform(argv: list[str]):
    from dmc.train import transform

    return transform.main(argv)


def _encoder(argv: list[str]):
    from dmc.train import encoder

    return encoder.main(argv)


def _console(argv: list[str]):
    from dmc.train import console

    return console.main(argv)


def _evaluate(argv: list[str]):
    from dmc.train import evaluate

    return evaluate.main(argv)


def _demucs(argv: list[str]):
    from dmc.train import demucs

    return demucs.main(argv)


SUBCOMMANDS: dict[str, Callable[[list[str]], object]] = {
    "transform": _transform,
    "encoder": _encoder,
    "console": _console,
    "evaluate": _evaluate,
    "demucs": _demucs,
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(
            f"usage: {PROG} {{{','.join(SUBCOMMANDS)}}} [options]\n\n{plain_text(__doc__.strip())}"
        )
        return EXIT_OK if argv else EXIT_BAD_INPUT
    what, rest = argv[0], argv[1:]
    if what not in SUBCOMMANDS:
        return fail(
            PROG, f"unknown training subcommand {what!r}; choose one of {', '.join(SUBCOMMANDS)}"
        )
    try:
        SUBCOMMANDS[what](rest)
    except USER_ERRORS as exc:
        return fail(f"{PROG} {what}", str(exc))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

"""Trained models by name or path: the one place that knows where checkpoints live.

``get_model("console_drums")`` loads a shipped checkpoint from ``dmc/checkpoints/``;
``get_model("runs/console-drums/best.pt")`` loads any other file. Every checkpoint is
self-describing (:mod:`dmc.checkpoint`), so the name alone rebuilds the model, from
the classes listed here (:data:`MODEL_CLASSES`, imported explicitly: a model file can
hold one of these and nothing else). The shipped files, what makes each and how, are
listed in ``dmc/checkpoints/README.md``.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from dmc.checkpoint import CheckpointError, read_model
from dmc.console import DifferentiableMixingConsole
from dmc.nn.demucs import DemucsMixer
from dmc.nn.encoder import TrackEncoder
from dmc.nn.postprocessor import PostProcessor
from dmc.nn.tcn import TCN

#: Where shipped checkpoints live (package data).
CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"

#: Shipped models by name, and the command that makes each (``{path}`` is the file).
SHIPPED = {
    "encoder": "python -m dmc.train encoder --export {path}",
    "tcn10": "python -m dmc.train transform --preset tcn10 --export {path}",
    "tcn20": "python -m dmc.train transform --preset tcn20 --export {path}",
    "tcn30": "python -m dmc.train transform --preset tcn30 --export {path}",
    "console_drums": "python -m dmc.train console --task drums --export {path}",
    "console_full": "python -m dmc.train console --task full --export {path}",
    "console_dsp_drums": "python -m dmc.train console --task drums --effects dsp --export {path}",
    "console_dsp_full": "python -m dmc.train console --task full --effects dsp --export {path}",
    "demucs_drums": "python -m dmc.train demucs --export {path}",
}


#: Every model class a checkpoint may hold, by the name files store.
MODEL_CLASSES: dict[str, type[nn.Module]] = {
    cls.__name__: cls
    for cls in (TrackEncoder, TCN, PostProcessor, DifferentiableMixingConsole, DemucsMixer)
}


def load_model(path: str | os.PathLike, device: str | torch.device | None = None) -> nn.Module:
    """Any of the project's models from its file alone (:data:`MODEL_CLASSES`), eval mode.

    Raises:
        CheckpointError: missing, unreadable or unknown file; the message names it.
    """
    return read_model(path, MODEL_CLASSES, device)


def default_device() -> str:
    """``cuda`` when a GPU is there, else ``cpu``."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def checkpoint_path(name: str, folder: str | os.PathLike | None = None) -> Path:
    """The file of shipped model ``name`` in ``folder`` (default :data:`CHECKPOINT_DIR`)."""
    if name not in SHIPPED:
        raise ValueError(f"unknown model name {name!r}; shipped models: {', '.join(SHIPPED)}")
    return Path(folder if folder is not None else CHECKPOINT_DIR) / f"{name}.pt"


def resolve(
    name_or_path: str | os.PathLike,
    folder: str | os.PathLike | None = None,
    make: str | None = None,
) -> Path:
    """A shipped model's file (by name) or the given path, checked to exist.

    Args:
        make: the command that makes a missing file (``{path}`` is filled in) when it is not
            named as one of :data:`SHIPPED` (a shipped model's own command comes first).

    Raises:
        CheckpointError: the file is missing; the message says how to make it.
    """
    text = str(name_or_path)
    path = checkpoint_path(text, folder) if text in SHIPPED else Path(text)
    if not path.is_file():
        how = (
            SHIPPED.get(text)
            or next(
                (command for name, command in SHIPPED.items() if path.name == f"{name}.pt"), None
            )
            or make
        )
        hint = f" (make it with `{how.format(path=path)}`)" if how else ""
        raise CheckpointError(f"checkpoint not found: {path}{hint}")
    return path


def get_model(
    name_or_path: str | os.PathLike,
    kind: type[nn.Module] | None = None,
    device: str | torch.device | None = None,
    folder: str | os.PathLike | None = None,
) -> nn.Module:
    """A trained model in eval mode, by shipped name or file path.

    Args:
        name_or_path: a name of :data:`SHIPPED` or a checkpoint file.
        kind: the class the model must be (a clear error otherwise).
        device: where to put it. Default: cpu (``default_device()`` for a GPU when there is one).
        folder: where shipped names are looked up. Default: :data:`CHECKPOINT_DIR`.

    Raises:
        CheckpointError: a missing file, a file that is not a checkpoint, or another kind of model.
    """
    path = resolve(name_or_path, folder)
    model = load_model(path)
    if kind is not None and not isinstance(model, kind):
        raise CheckpointError(f"{path} holds a {type(model).__name__}, not a {kind.__name__}")
    return model.to(device or "cpu").eval()

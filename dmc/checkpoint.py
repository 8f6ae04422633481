"""Self-describing model files and resumable training states.

A model file stores the class *name* (never a pickled class), the constructor kwargs,
the state dict, the resolved training config, a format version and a training record,
all as plain Python values and tensors. :func:`read_model` rebuilds a model from the
file and the classes the caller names (``dmc.pretrained.MODEL_CLASSES`` lists every model
of the project, imported explicitly), and every file loads with
``torch.load(weights_only=True)``: opening a checkpoint never runs code from it.

Writes are atomic (a temporary file in the same folder, then a rename), so a run
killed while saving leaves the previous file intact.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dmc.contracts.files import atomic_write

MODEL_FORMAT = "dmc-model"
STATE_FORMAT = "dmc-training-state"
FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint file is missing, unreadable or of an unknown format; the message names it."""


def register_model(cls: type[nn.Module]) -> type[nn.Module]:
    """Class decorator: record constructor kwargs in ``init_kwargs``, so the class can be saved.

    Only plain values (numbers, strings, lists, dicts, None) belong in the kwargs of a
    registered model, so its files stay loadable with ``weights_only=True``.
    """
    original_init = cls.__init__
    signature = inspect.signature(original_init)

    @functools.wraps(original_init)
    def __init__(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        recorded = {k: _plain(v) for k, v in list(bound.arguments.items())[1:]}
        original_init(self, *args, **kwargs)
        self.init_kwargs = recorded

    cls.__init__ = __init__
    cls.serialisable = True
    return cls


def _plain(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None:
        return None
    for kind in (
        bool,
        int,
        float,
        str,
    ):  # also turns NumPy scalars and TorchVersion into plain values
        if isinstance(value, kind):
            return kind(value)
    raise TypeError(
        f"constructor argument {value!r} is not a plain value; it cannot be stored in a checkpoint"
    )


def serialize_model(
    model: nn.Module, config: dict | None = None, training: dict | None = None
) -> dict:
    """The plain-dict form of a registered model (what :func:`save_model` writes)."""
    model = getattr(model, "module", model)  # unwrap DistributedDataParallel
    name = type(model).__name__
    if not type(model).__dict__.get("serialisable", False):
        raise TypeError(
            f"{name} is not a registered model class (decorate it with @register_model)"
        )
    return {
        "format": MODEL_FORMAT,
        "format_version": FORMAT_VERSION,
        "class_name": name,
        "kwargs": model.init_kwargs,
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "config": _plain(config or {}),
        "training": _plain(training or {}),
    }


ModelClasses = type[nn.Module] | Iterable[type[nn.Module]] | Mapping[str, type[nn.Module]]


def _by_name(classes: ModelClasses) -> dict[str, type[nn.Module]]:
    if isinstance(classes, Mapping):
        return dict(classes)
    if isinstance(classes, type):
        classes = [classes]
    return {cls.__name__: cls for cls in classes}


def build_model(package: dict, classes: ModelClasses, source: str = "checkpoint") -> nn.Module:
    """Rebuild a model (in eval mode) from :func:`serialize_model` output.

    Args:
        classes: the model classes the package may hold (one, several, or name -> class).
    """
    known = _by_name(classes)
    if package.get("format") != MODEL_FORMAT:
        raise CheckpointError(
            f"{source} is not a dmc model file (format {package.get('format')!r})"
        )
    if package.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{source} has format version {package.get('format_version')}; this dmc reads version {FORMAT_VERSION}"
        )
    name = package["class_name"]
    if name not in known:
        raise CheckpointError(
            f"{source} holds model class {name!r}; expected {', '.join(sorted(known))}"
        )
    cls = known[name]
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    kwargs = {k: v for k, v in package["kwargs"].items() if k in accepted}
    model = cls(**kwargs)
    model.load_state_dict(package["state_dict"])
    model.checkpoint_info = {
        "config": package.get("config", {}),
        "training": package.get("training", {}),
    }
    return model.eval()


def _atomic_save(obj: Any, path: str | os.PathLike) -> Path:
    return atomic_write(path, lambda tmp: torch.save(obj, tmp))


def _load(path: str | os.PathLike) -> dict:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 (pickle, zip and torch errors all mean "not a checkpoint")
        raise CheckpointError(f"cannot read checkpoint {path}: {exc}") from None


def save_model(
    path: str | os.PathLike,
    model: nn.Module,
    config: dict | None = None,
    training: dict | None = None,
) -> Path:
    """Write a self-describing model file atomically."""
    return _atomic_save(serialize_model(model, config, training), path)


def read_model(
    path: str | os.PathLike, classes: ModelClasses, device: str | torch.device | None = None
) -> nn.Module:
    """Rebuild a model of one of ``classes`` from its file; eval mode, ``checkpoint_info`` set.

    Any model of the project: :func:`dmc.pretrained.load_model`.

    Raises:
        CheckpointError: missing, unreadable or unknown file, or a model of another
            class; the message names it.
    """
    package = _load(path)
    model = build_model(package, classes, source=str(path))
    return model.to(device) if device is not None else model


def save_training_state(path: str | os.PathLike, state: dict) -> Path:
    """Write a resumable training state (model package, optimiser, step, history) atomically."""
    return _atomic_save({"format": STATE_FORMAT, "format_version": FORMAT_VERSION, **state}, path)


def load_training_state(path: str | os.PathLike) -> dict:
    state = _load(path)
    if state.get("format") != STATE_FORMAT or state.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path} is not a version-{FORMAT_VERSION} dmc training state")
    return state

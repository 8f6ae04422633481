"""Self-describing model files and resumable training states.

A model file stores the class *name* (looked up in a registry, never a pickled class),
the constructor kwargs, the state dict, the resolved training config, a format
version and a training record, all as plain Python values and tensors. So
:func:`load_model` rebuilds a model from the file alone, and every file loads with
``torch.load(weights_only=True)``: opening a checkpoint never runs code from it.

Writes are atomic (a temporary file in the same folder, then a rename), so a run
killed while saving leaves the previous file intact.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dmc.contracts.files import atomic_write

MODEL_FORMAT = "dmc-model"
STATE_FORMAT = "dmc-training-state"
FORMAT_VERSION = 1

#: Class name -> class, filled by :func:`register_model`.
MODELS: dict[str, type[nn.Module]] = {}


class CheckpointError(ValueError):
    """A checkpoint file is missing, unreadable or of an unknown format; the message names it."""


def register_model(cls: type[nn.Module]) -> type[nn.Module]:
    """Class decorator: record constructor kwargs in ``init_kwargs`` and register the class by name.

    Only plain values (numbers, strings, lists, dicts, None) belong in the kwargs of a
    registered model, so its files stay loadable with ``weights_only=True``.
    """
    if cls.__name__ in MODELS and MODELS[cls.__name__] is not cls:
        raise ValueError(f"a different model class is already registered as {cls.__name__!r}")
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
    MODELS[cls.__name__] = cls
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


#: Modules whose import registers model classes (a module that is not there is skipped).
MODEL_MODULES = ("dmc.nn", "dmc.console", "dmc.nn.demucs")


def _ensure_registry() -> None:
    for name in MODEL_MODULES:
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)


def serialize_model(
    model: nn.Module, config: dict | None = None, training: dict | None = None
) -> dict:
    """The plain-dict form of a registered model (what :func:`save_model` writes)."""
    model = getattr(model, "module", model)  # unwrap DistributedDataParallel
    name = type(model).__name__
    if MODELS.get(name) is not type(model):
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


def build_model(package: dict, source: str = "checkpoint") -> nn.Module:
    """Rebuild a model (in eval mode) from :func:`serialize_model` output."""
    _ensure_registry()
    if package.get("format") != MODEL_FORMAT:
        raise CheckpointError(
            f"{source} is not a dmc model file (format {package.get('format')!r})"
        )
    if package.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{source} has format version {package.get('format_version')}; this dmc reads version {FORMAT_VERSION}"
        )
    name = package["class_name"]
    if name not in MODELS:
        raise CheckpointError(
            f"{source} holds unknown model class {name!r}; known: {', '.join(sorted(MODELS))}"
        )
    cls = MODELS[name]
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


def load_model(path: str | os.PathLike, device: str | torch.device | None = None) -> nn.Module:
    """Rebuild a model from its file alone; returns it in eval mode with ``checkpoint_info`` set.

    Raises:
        CheckpointError: missing, unreadable or unknown file; the message names it.
    """
    package = _load(path)
    model = build_model(package, source=str(path))
    return model.to(device) if device is not None else model


def save_training_state(path: str | os.PathLike, state: dict) -> Path:
    """Write a resumable training state (model package, optimiser, step, history) atomically."""
    return _atomic_save({"format": STATE_FORMAT, "format_version": FORMAT_VERSION, **state}, path)


def load_training_state(path: str | os.PathLike) -> dict:
    state = _load(path)
    if state.get("format") != STATE_FORMAT or state.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path} is not a version-{FORMAT_VERSION} dmc training state")
    return state

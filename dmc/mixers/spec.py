"""How a method is built: :class:`MethodSpec`, one per method, declared beside its mixer."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dmc.pretrained import CHECKPOINT_DIR, SHIPPED

#: ``default`` values: rendered unless ``--methods`` says otherwise; rendered by default
#: only once available (skipped with a note until then); only when asked for (anchors).
ALWAYS, WHEN_AVAILABLE, ON_REQUEST = "always", "when_available", "on_request"
#: ``source`` values: the method mixes the staged tracks, or derives from the target mix.
TRACKS, TARGET = "tracks", "target"


class MethodError(ValueError):
    """A method name is unknown, does not fit the task, or cannot run here; one-line message."""


@dataclass(frozen=True)
class BuildRequest:
    """What a factory gets: the task, the passage's seed (seeded methods), device and checkpoint."""

    task: str
    seed: int | None = None
    device: str | None = None
    checkpoint: Path | None = None


@dataclass(frozen=True)
class MethodSpec:
    """How to build one method (what it *is* lives in :mod:`dmc.contracts.conditions`).

    Args:
        name: a built-in condition name (:data:`dmc.contracts.conditions.METHODS`).
        tasks: tasks it serves.
        source: :data:`TRACKS` (a :class:`dmc.mixers.base.Mixer`: staged tracks in) or
            :data:`TARGET` (a :class:`dmc.mixers.references.ReferenceCondition`: the target in).
        build: factory ``BuildRequest -> mixer``.
        default: :data:`ALWAYS`, :data:`WHEN_AVAILABLE` or :data:`ON_REQUEST`; or one of
            them per task (``{"drums": ON_REQUEST, "full": WHEN_AVAILABLE}``).
        checkpoint: ``task -> file name`` of the checkpoint it loads, if any (looked up in
            the checkpoint folder: :data:`CHECKPOINT_DIR` unless another is given).
        seeded: build one instance per passage with the passage's seed.
        hint: how to make a missing checkpoint, shown in the error (``{task}`` and ``{path}``
            are filled in); default the shipped model's command
            (:data:`dmc.pretrained.SHIPPED`) when the file is named as one.
        arrange: ``(tracks, roles) -> tracks`` laying the staged tracks out as the method
            expects (the fixed eight drum slots of demucs); None passes them unchanged.
    """

    name: str
    tasks: tuple[str, ...]
    source: str
    build: Callable[[BuildRequest], Any]
    default: str | Mapping[str, str] = ALWAYS
    checkpoint: Callable[[str], str] | None = None
    seeded: bool = False
    hint: str = ""
    arrange: Callable[[np.ndarray, list[str]], np.ndarray] | None = None

    def default_for(self, task: str) -> str:
        """Whether a default render of ``task`` includes this method."""
        return self.default if isinstance(self.default, str) else self.default[task]

    def checkpoint_path(self, task: str, folder: str | Path | None = None) -> Path | None:
        if self.checkpoint is None:
            return None
        return Path(folder if folder is not None else CHECKPOINT_DIR) / self.checkpoint(task)

    def inputs(self, tracks: np.ndarray, roles: list[str]) -> np.ndarray:
        """The tracks as this method takes them; raises ValueError for tracks it cannot take."""
        return tracks if self.arrange is None else self.arrange(tracks, roles)

    def check_roles(self, roles: list[str]) -> None:
        """Raise ValueError if a song with tracks of these roles cannot be mixed by this method."""
        self.inputs(np.zeros((len(roles), 0), dtype=np.float32), roles)

    def unavailable(self, task: str, checkpoint_dir: str | Path | None = None) -> str | None:
        """Why this method cannot run for ``task`` here, or None if it can."""
        if task not in self.tasks:
            return f"method {self.name!r} does not serve task {task!r} (it serves {', '.join(self.tasks)})"
        path = self.checkpoint_path(task, checkpoint_dir)
        if path is not None and not path.is_file():
            if self.hint:
                hint = f" ({self.hint.format(task=task, path=path)})"
            elif path.stem in SHIPPED:
                hint = f" (make it with `{SHIPPED[path.stem].format(path=path)}`)"
            else:
                hint = ""
            return f"method {self.name!r} needs the checkpoint {path}, which does not exist{hint}"
        return None

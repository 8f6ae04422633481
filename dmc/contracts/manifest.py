"""The render manifest: the hand-over from ``dmc.render`` to the web app and the analysis.

A manifest is one JSON file beside the rendered audio. It lists every task, passage
and condition (method), with the opaque file name a listener's browser sees, and
everything needed to trust and reproduce the audio: content hashes, loudness
measured after encoding, checkpoints and seeds. Paths are relative to the manifest's
folder so a rendered test can be moved or served from anywhere.

Field names are the project's interface contract (``docs/CONTRACTS.md``); this module
reads and writes them so no other part of the project parses the JSON by hand. Method
names follow :mod:`dmc.contracts.conditions` (any lowercase identifier).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dmc.contracts.conditions import check_method_name
from dmc.contracts.files import atomic_write_text
from dmc.contracts.policies import (
    DEFAULT_MAX_TRUE_PEAK_DBTP,
    DEFAULT_TARGET_LUFS,
    DEFAULT_VBR_QUALITY,
    LoudnessPolicy,
)

FORMAT = "dmc-render-manifest"
#: 2: the loudness policy stored once (``loudness``), not as ``loudness_target_lufs`` plus
#: three entries of ``settings``. Version 1 manifests are still read.
VERSION = 2
READABLE_VERSIONS = (1, 2)
#: The file name of a manifest inside its render folder.
MANIFEST_NAME = "manifest.json"


class ManifestError(ValueError):
    """A manifest is missing, malformed or points at files that are not there."""


@dataclass
class Condition:
    """One rendered version (method) of a passage.

    ``file`` is relative to the manifest's folder and reveals nothing about ``method``.
    """

    method: str
    file: str
    sha256: str
    loudness_lufs: float
    true_peak_dbtp: float
    duration_seconds: float
    peak_over_ceiling: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class PassageEntry:
    """A passage of a song and its conditions."""

    passage_id: str
    song_id: str
    start_seconds: float
    length_seconds: float
    conditions: list[Condition]
    track_names: list[str] = field(default_factory=list)
    params_file: str | None = None

    def condition(self, method: str) -> Condition:
        for c in self.conditions:
            if c.method == method:
                return c
        raise KeyError(f"passage {self.passage_id!r} has no condition {method!r}")

    @property
    def methods(self) -> list[str]:
        return [c.method for c in self.conditions]


@dataclass
class Manifest:
    """A whole rendered test set; ``root`` is the folder the relative paths start from."""

    tasks: dict[str, list[PassageEntry]]
    created_at: str
    software_version: str
    sample_rate: int
    loudness: LoudnessPolicy = field(default_factory=LoudnessPolicy)
    checkpoints: dict[str, dict[str, str]] = field(default_factory=dict)
    seeds: dict[str, int] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    root: Path | None = None

    # ------------------------------------------------------------------ queries
    def passages(self, task: str) -> list[PassageEntry]:
        try:
            return self.tasks[task]
        except KeyError:
            raise KeyError(
                f"manifest has no task {task!r}; tasks: {', '.join(self.tasks)}"
            ) from None

    def methods(self, task: str) -> list[str]:
        """Every method rendered for some passage of ``task``, in first-seen order."""
        return list(dict.fromkeys(m for p in self.passages(task) for m in p.methods))

    def passage(self, task: str, passage_id: str) -> PassageEntry:
        for p in self.passages(task):
            if p.passage_id == passage_id:
                return p
        raise KeyError(f"task {task!r} has no passage {passage_id!r}")

    def path_of(self, relative: str) -> Path:
        """Absolute path of a file named in the manifest; refuses anything outside its folder."""
        if self.root is None:
            raise ManifestError("manifest has no root folder (it was not loaded from a file)")
        root = self.root.resolve()
        path = (root / relative).resolve()
        if root != path and root not in path.parents:
            raise ManifestError(f"manifest entry {relative!r} points outside {root}")
        return path

    def files(self) -> dict[str, Condition]:
        """Every audio file name -> its condition."""
        return {c.file: c for ps in self.tasks.values() for p in ps for c in p.conditions}

    # ------------------------------------------------------------------ (de)serialisation
    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "created_at": self.created_at,
            "software": {"name": "dmc-mixing", "version": self.software_version},
            "sample_rate": self.sample_rate,
            "loudness": self.loudness.to_json(),
            "checkpoints": self.checkpoints,
            "seeds": self.seeds,
            "settings": self.settings,
            "tasks": {
                task: {"passages": [_passage_to_json(p) for p in passages]}
                for task, passages in self.tasks.items()
            },
        }

    def save(self, path: str | os.PathLike) -> Path:
        """Write atomically (temporary file + rename) so a reader never sees half a manifest."""
        path = atomic_write_text(path, json.dumps(self.to_json(), indent=2, allow_nan=False) + "\n")
        self.root = path.parent
        return path

    def check_files(self) -> None:
        """Raise :class:`ManifestError` naming every audio file that is missing."""
        missing = [f for f in self.files() if not self.path_of(f).is_file()]
        if missing:
            raise ManifestError(
                f"{len(missing)} audio file(s) named in the manifest are missing: {missing[:5]}"
            )


def _passage_to_json(p: PassageEntry) -> dict[str, Any]:
    out = asdict(p)
    for c in out["conditions"]:
        for key in ("loudness_lufs", "true_peak_dbtp"):
            if not math.isfinite(c[key]):
                c[key] = None
    return out


def _require(mapping: dict, key: str, where: str):
    if not isinstance(mapping, dict) or key not in mapping:
        raise ManifestError(f"manifest: {where} lacks the field {key!r}")
    return mapping[key]


def load_manifest(path: str | os.PathLike) -> Manifest:
    """Read and validate a manifest; errors name the file and the offending field."""
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST_NAME
    if not path.is_file():
        raise ManifestError(
            f"no render manifest at {path}; render one with `python -m dmc.render testset`"
        )
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ManifestError(f"cannot read manifest {path}: {exc}") from None
    if data.get("format") != FORMAT:
        raise ManifestError(f"{path} is not a render manifest (format={data.get('format')!r})")
    if data.get("version") not in READABLE_VERSIONS:
        raise ManifestError(
            f"{path}: manifest version {data.get('version')!r} is not supported "
            f"(this version reads {', '.join(map(str, READABLE_VERSIONS))})"
        )
    tasks: dict[str, list[PassageEntry]] = {}
    for task, body in _require(data, "tasks", str(path)).items():
        passages = []
        for i, p in enumerate(_require(body, "passages", f"task {task!r}")):
            where = f"task {task!r} passage {i}"
            conditions = []
            for c in _require(p, "conditions", where):
                cwhere = f"{where} condition"
                conditions.append(
                    Condition(
                        method=_require(c, "method", cwhere),
                        file=_require(c, "file", cwhere),
                        sha256=_require(c, "sha256", cwhere),
                        loudness_lufs=_float(c.get("loudness_lufs")),
                        true_peak_dbtp=_float(c.get("true_peak_dbtp")),
                        duration_seconds=float(_require(c, "duration_seconds", cwhere)),
                        peak_over_ceiling=bool(c.get("peak_over_ceiling", False)),
                        extra=dict(c.get("extra", {})),
                    )
                )
            methods = [c.method for c in conditions]
            for method in methods:
                try:
                    check_method_name(method)
                except ValueError as exc:
                    raise ManifestError(f"{path}: {where}: {exc}") from None
            if len(set(methods)) != len(methods):
                raise ManifestError(f"{where}: a method appears twice in {methods}")
            passages.append(
                PassageEntry(
                    passage_id=str(_require(p, "passage_id", where)),
                    song_id=str(_require(p, "song_id", where)),
                    start_seconds=float(_require(p, "start_seconds", where)),
                    length_seconds=float(_require(p, "length_seconds", where)),
                    conditions=conditions,
                    track_names=list(p.get("track_names", [])),
                    params_file=p.get("params_file"),
                )
            )
        tasks[task] = passages
    manifest = Manifest(
        tasks=tasks,
        created_at=str(_require(data, "created_at", str(path))),
        software_version=str(data.get("software", {}).get("version", "unknown")),
        sample_rate=int(_require(data, "sample_rate", str(path))),
        loudness=_loudness(data, path),
        checkpoints=dict(data.get("checkpoints", {})),
        seeds=dict(data.get("seeds", {})),
        settings=dict(data.get("settings", {})),
        root=path.parent,
    )
    for f in manifest.files():
        manifest.path_of(f)  # raises on entries that escape the folder
    return manifest


def _loudness(data: dict, path: Path) -> LoudnessPolicy:
    """The stored policy; a version 1 manifest kept it as a target plus three settings."""
    try:
        if "loudness" in data:
            return LoudnessPolicy.from_json(data["loudness"])
        settings = data.get("settings", {})
        return LoudnessPolicy(
            target_lufs=float(
                settings.get("target_lufs", data.get("loudness_target_lufs", DEFAULT_TARGET_LUFS))
            ),
            max_true_peak_dbtp=float(
                settings.get("max_true_peak_dbtp", DEFAULT_MAX_TRUE_PEAK_DBTP)
            ),
            vbr_quality=int(settings.get("vbr_quality", DEFAULT_VBR_QUALITY)),
        )
    except (TypeError, ValueError) as exc:
        raise ManifestError(f"{path}: {exc}") from None


def _float(value) -> float:
    return -math.inf if value is None else float(value)


# ---------------------------------------------------------------------- where renders live


#: The command that renders a test set (named wherever a render is missing).
RENDER_COMMAND = "python -m dmc.render testset"
#: Its defaults: dataset, split, passage length (s), base seed of the seeded methods.
DEFAULT_DATA, DEFAULT_SPLIT, DEFAULT_PASSAGE_SECONDS, DEFAULT_SEED = "demo", "test", 10.0, 0


def default_render_dir(kind: str = "testset") -> Path:
    """Where ``python -m dmc.render <kind>`` writes by default: ``./renders/<kind>``."""
    return Path.cwd() / "renders" / kind


def manifest_path(location: str | os.PathLike) -> Path:
    """The manifest file of a render folder, or ``location`` itself if it names a file."""
    location = Path(location)
    return location / MANIFEST_NAME if location.is_dir() or not location.suffix else location

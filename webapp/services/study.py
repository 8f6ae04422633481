"""The test being served: a render manifest plus a test config, as a design.

Two ways to find it:

- ``serve`` (``SERVE_SNAPSHOT`` set): the instance's served test, a snapshot in the
  instance folder (:mod:`webapp.services.snapshots`) that ``serve`` chose when it
  started. Each server process loads it once and keeps it: nothing done to the render
  folder changes what raters hear. When ``serve`` started with nothing rendered, the
  first request after a render appears snapshots it and records it as the served test.
- live (``flask --app webapp run``, the test client): the render folder as it is,
  ``MANIFEST_PATH`` and ``TEST_CONFIG``, reloaded when they change; for development.

Either way the app starts even when nothing has been rendered yet (its pages then
explain how to render a test), and a manifest that does not make a valid test is
reported with the design error, never half-served.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

from flask import Flask, current_app

from dmc.contracts.manifest import (
    RENDER_COMMAND,
    Manifest,
    ManifestError,
    default_render_dir,
    load_manifest,
    manifest_path,
)
from evaluation.design import TestDesign, build_design
from evaluation.design.config import DesignError, load_config
from webapp.services.blinding import padded_length
from webapp.services.snapshots import (
    ServedTest,
    SnapshotError,
    load_test,
    record_serving,
    serving,
    snapshot,
)


@dataclass(frozen=True)
class Study:
    """A loaded test: the manifest, its design, and the files a browser may fetch."""

    manifest: Manifest
    design: TestDesign
    manifest_path: Path
    config_path: Path | None
    #: The snapshot served (``None``: the render folder, live).
    served: ServedTest | None = None

    @cached_property
    def audio_files(self) -> dict[str, str]:
        """Audio file name -> its sha256 (the ETag), for files some trial uses."""
        used = {f for t in self.design.all_trials for f in t.files.values()}
        return {name: c.sha256 for name, c in self.manifest.files().items() if name in used}

    @cached_property
    def padded_sizes(self) -> dict[str, int]:
        """Audio file name -> the byte length it is served with (:mod:`webapp.services.blinding`).

        Every file of one passage gets the same length, so within a trial (and its
        training twin) no condition and not the open reference stands out by size.
        """
        sizes: dict[str, int] = {}
        for trial in self.design.all_trials:
            names = list(trial.files.values())
            try:
                length = padded_length(self.manifest.path_of(n) for n in names)
            except (ManifestError, OSError, RuntimeError):  # unreadable: a 404 when asked
                continue
            for name in names:
                sizes[name] = max(sizes.get(name, 0), length)
        return sizes


@dataclass(frozen=True)
class StudyStatus:
    """Either a study or the reason there is none (shown on every page)."""

    study: Study | None
    problem: str | None
    manifest_path: Path


def manifest_path_for(app: Flask) -> Path:
    """What the app serves: ``MANIFEST_PATH`` (``--manifest``, ``$DMC_MANIFEST``, instance
    config) or ``./renders/testset``; a folder means its ``manifest.json``."""
    configured = app.config.get("MANIFEST_PATH")
    return manifest_path(Path(configured) if configured else default_render_dir())


def config_path_for(app: Flask, manifest_path: Path) -> Path | None:
    configured = app.config.get("TEST_CONFIG")
    if configured:
        return Path(configured)
    beside = manifest_path.parent / "test.yaml"
    return beside if beside.is_file() else None


def _mtime(path: Path | None) -> float | None:
    try:
        return path.stat().st_mtime_ns if path is not None else None
    except OSError:
        return None


def load_study(manifest_path: Path, config_path: Path | None) -> Study:
    """Load and validate; raises :class:`ManifestError` or :class:`DesignError`."""
    manifest = load_manifest(manifest_path)
    design = build_design(manifest, load_config(config_path))
    return Study(manifest, design, manifest_path, config_path)


class StudyCache:
    """Per-app cache: the pinned snapshot under ``serve``; else keyed by the files' mtimes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._status: StudyStatus | None = None
        self._pinned: StudyStatus | None = None

    def get(self, app: Flask) -> StudyStatus:
        if app.config.get("SERVE_SNAPSHOT"):
            return self._served(app)
        return self._live(app)

    def _live(self, app: Flask) -> StudyStatus:
        with self._lock:
            return self._live_unlocked(app)

    def _served(self, app: Flask) -> StudyStatus:
        """The served snapshot, loaded once per process and kept (see the module docstring)."""
        with self._lock:
            if self._pinned is not None:
                return self._pinned
            current = serving()
            if current is None:
                status = self._live_unlocked(app)
                if status.study is None:
                    return status
                try:
                    test = snapshot(
                        app.instance_path, status.manifest_path, status.study.config_path
                    )
                except (ManifestError, DesignError, SnapshotError, OSError) as exc:
                    return StudyStatus(
                        None, f"The test cannot be served: {exc}", status.manifest_path
                    )
                current = record_serving(
                    test,
                    app.config.get("SERVE_BASE_URL"),
                    app.config.get("SERVE_BASE_URL_PROBLEM"),
                    only_if_none=True,
                )
            status = load_served(current.folder)
            if status.study is not None:
                self._pinned = status
            return status

    def _live_unlocked(self, app: Flask) -> StudyStatus:
        manifest_path = manifest_path_for(app)
        config_path = config_path_for(app, manifest_path)
        key = (manifest_path, _mtime(manifest_path), config_path, _mtime(config_path))
        if key != self._key or self._status is None:
            self._status = self._load(manifest_path, config_path)
            self._key = key
        return self._status

    @staticmethod
    def _load(manifest_path: Path, config_path: Path | None) -> StudyStatus:
        if not manifest_path.is_file():
            problem = (
                f"No listening test has been rendered yet (no manifest at {manifest_path}). "
                f"Render one with `{RENDER_COMMAND}`."
            )
            return StudyStatus(None, problem, manifest_path)
        try:
            return StudyStatus(load_study(manifest_path, config_path), None, manifest_path)
        except (ManifestError, DesignError) as exc:
            return StudyStatus(None, f"The test cannot be served: {exc}", manifest_path)


def load_served(folder: str | Path) -> StudyStatus:
    """The study of the snapshot in ``folder``, or why it cannot be served."""
    try:
        test = load_test(folder)
        study = replace(load_study(test.manifest_path, test.config_path), served=test)
    except (ManifestError, DesignError, SnapshotError) as exc:
        problem = f"The served test cannot be loaded: {exc}. Start serve again (--new-test)."
        return StudyStatus(None, problem, Path(folder))
    return StudyStatus(study, None, Path(test.manifest))


def study_status() -> StudyStatus:
    """The current study of the running app (see :class:`StudyCache`)."""
    return current_app.extensions["dmc_study"].get(current_app)


def init_app(app: Flask) -> None:
    app.extensions["dmc_study"] = StudyCache()

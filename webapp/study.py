"""The test being served: a render manifest plus a test config, reloaded when they change.

The app starts even when nothing has been rendered yet (its pages then explain how to
render a test); as soon as the manifest appears, or is re-rendered, the next request
picks it up. A manifest that exists but does not make a valid test is reported with
the design error, never half-served.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from flask import Flask, current_app

from dmc.contracts.manifest import (
    Manifest,
    ManifestError,
    default_render_dir,
    load_manifest,
    manifest_path,
)
from evaluation.design import TestDesign, build_design
from evaluation.design.config import DesignError, load_config
from webapp.blinding import padded_length

RENDER_COMMAND = "python -m dmc.render testset"


@dataclass(frozen=True)
class Study:
    """A loaded test: the manifest, its design, and the files a browser may fetch."""

    manifest: Manifest
    design: TestDesign
    manifest_path: Path
    config_path: Path | None

    @cached_property
    def audio_files(self) -> dict[str, str]:
        """Audio file name -> its sha256 (the ETag), for files some trial uses."""
        used = {f for t in self.design.all_trials for f in t.files.values()}
        return {name: c.sha256 for name, c in self.manifest.files().items() if name in used}

    @cached_property
    def padded_sizes(self) -> dict[str, int]:
        """Audio file name -> the byte length it is served with (:mod:`webapp.blinding`).

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
    """Per-app cache keyed by the files' modification times."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._status: StudyStatus | None = None

    def get(self, app: Flask) -> StudyStatus:
        manifest_path = manifest_path_for(app)
        config_path = config_path_for(app, manifest_path)
        key = (manifest_path, _mtime(manifest_path), config_path, _mtime(config_path))
        with self._lock:
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


#: Setting where ``serve`` notes the design it started with (:func:`record_served`).
SERVED_SETTING = "served_design"


def describe(study: Study) -> dict:
    """What identifies a served test to a person: design hash, trial count, files."""
    return {
        "design_hash": study.design.design_hash,
        "trials": len(study.design.trials),
        "training": len(study.design.training),
        "manifest": str(study.manifest_path),
        "config": str(study.config_path) if study.config_path else None,
    }


def record_served(study: Study) -> None:
    """Note the design ``serve`` starts with, so that the commands run beside it
    (``flask --app webapp create-raters``) can warn when they plan raters on another one."""
    from webapp.db import upsert, write_session
    from webapp.models import Setting

    with write_session() as session:
        upsert(
            session,
            Setting,
            [{"key": SERVED_SETTING, "value": json.dumps(describe(study))}],
            ["key"],
        )


def served_design() -> dict | None:
    """The design ``serve`` last started with (:func:`record_served`), if it ever did."""
    from webapp.db import db
    from webapp.models import Setting

    stored = db.session.get(Setting, SERVED_SETTING)
    try:
        return json.loads(stored.value) if stored is not None else None
    except ValueError:
        return None


def study_status() -> StudyStatus:
    """The current study of the running app (see :class:`StudyCache`)."""
    return current_app.extensions["dmc_study"].get(current_app)


def init_app(app: Flask) -> None:
    app.extensions["dmc_study"] = StudyCache()

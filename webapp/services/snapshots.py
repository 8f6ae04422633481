"""Served tests are snapshots: what a running test plays cannot change under it.

``serve`` never plays the render folder itself. It copies what a test uses into the
instance folder and serves only the copy:

- ``<instance>/stimuli/<sha256>.<ext>``: every stimulus once, named by its content
  (checked against the manifest's hash while copying, so a file the renderer is
  rewriting is refused, not half served);
- ``<instance>/tests/<test id>/``: the manifest (byte for byte), the test config (if
  any), ``test.json`` (where they came from, the design) and the stimuli the design
  uses at the manifest's own relative paths, as hard links into ``stimuli/`` (copies
  where the file system has no hard links).

The test id is a hash of the manifest's and the config's bytes, so the same render
and config always make the same test (a restart finds it again) and any change to
either makes another one. A re-render, an import, an edited config or a deleted render
folder changes nothing in a test folder: it only makes the *next* test different, and
``serve`` starts that one only when asked (``--new-test``; see
:mod:`webapp.commands.serve`). Which test the instance serves is recorded in the
database (:func:`record_serving`), with the address ``serve`` listens on, so the
commands run beside it (``create-raters``) plan raters on the same test and print
links that work.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from dmc.contracts.files import atomic_write_bytes, atomic_write_json
from dmc.contracts.manifest import MANIFEST_NAME, ManifestError, load_manifest
from evaluation.design import build_design
from evaluation.design.config import DesignError, load_config

TESTS_FOLDER = "tests"
STIMULI_FOLDER = "stimuli"
RECORD_NAME = "test.json"
#: Setting (database) naming the test the instance serves (:func:`record_serving`).
SERVING_SETTING = "served_test"


class SnapshotError(ValueError):
    """The render cannot be snapshotted as it is (a file differs from its manifest hash)."""


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_id_of(manifest_bytes: bytes, config_bytes: bytes | None, config_suffix: str) -> str:
    """The id of the test a manifest and a config make: a hash of their bytes."""
    digest = hashlib.sha256(b"dmc-test\0manifest\0")
    digest.update(manifest_bytes)
    if config_bytes is not None:
        digest.update(b"\0config" + config_suffix.lower().encode() + b"\0")
        digest.update(config_bytes)
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class ServedTest:
    """A test snapshot: its folder and what ``test.json`` says about it.

    Attributes:
        test_id: hash of the manifest's and the config's bytes.
        folder: ``<instance>/tests/<test_id>``.
        design_hash: the design's hash (raters record it).
        trials, training: how many scored and training trials the design has.
        manifest, config: where the manifest and the config were copied from.
        manifest_sha256, config_sha256: their hashes then (to tell whether they changed).
        config_file: the config's name inside the folder (``None``: built-in design).
        render_created_at: when the render was made (the manifest's ``created_at``).
        snapshot_at: when the snapshot was taken.
        files: stimuli in the snapshot.
    """

    test_id: str
    folder: Path
    design_hash: str
    trials: int
    training: int
    manifest: str
    config: str | None
    manifest_sha256: str
    config_sha256: str | None
    config_file: str | None
    render_created_at: str
    snapshot_at: str
    files: int

    @property
    def manifest_path(self) -> Path:
        return self.folder / MANIFEST_NAME

    @property
    def config_path(self) -> Path | None:
        return self.folder / self.config_file if self.config_file else None

    def made_from(self, manifest_path: Path, config_path: Path | None) -> bool:
        """Whether this snapshot was taken of these files (as they are named, not their bytes)."""
        config = str(config_path.resolve()) if config_path else None
        return str(manifest_path.resolve()) == self.manifest and config == self.config

    def to_json(self) -> dict:
        out = asdict(self)
        out["folder"] = str(self.folder)
        return out

    def sources_changed(self) -> list[str]:
        """What changed at the sources since the snapshot: ``[]`` when nothing did.

        Each item names a file and how: ``"renders/testset/manifest.json (re-rendered or
        imported into)"``, ``"... (deleted)"``.
        """
        changes = []
        for path, recorded, what in (
            (self.manifest, self.manifest_sha256, "re-rendered or imported into"),
            (self.config, self.config_sha256, "edited"),
        ):
            if path is None:
                continue
            try:
                now = _sha256(Path(path).read_bytes())
            except OSError:
                changes.append(f"{path} (gone)")
                continue
            if now != recorded:
                changes.append(f"{path} ({what})")
        return changes

    def describe(self) -> str:
        """One line for people: the test, its render and config."""
        config = self.config or "the built-in design"
        return (
            f"test {self.test_id} (render {self.manifest}, rendered {self.render_created_at}; "
            f"config {config}; design {self.design_hash}: {self.training} training + "
            f"{self.trials} trials)"
        )


def load_test(folder: str | os.PathLike) -> ServedTest:
    """The snapshot in ``folder`` (its ``test.json``).

    Raises:
        SnapshotError: no snapshot there (deleted, or never made).
    """
    folder = Path(folder)
    try:
        data = json.loads((folder / RECORD_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise SnapshotError(f"no test snapshot in {folder} (was it deleted?)") from None
    data["folder"] = folder
    return ServedTest(**data)


def _store(instance: Path, data: bytes, sha256: str, suffix: str) -> Path:
    """The content-addressed copy of ``data`` in ``<instance>/stimuli`` (written once)."""
    path = instance / STIMULI_FOLDER / f"{sha256}{suffix.lower()}"
    if not path.is_file():
        atomic_write_bytes(path, data)
    return path


def _place(stored: Path, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(stored, destination)
    except OSError:  # no hard links on this file system (or across devices): a copy
        shutil.copyfile(stored, destination)


def snapshot(instance: Path, manifest_path: Path, config_path: Path | None) -> ServedTest:
    """Copy the test that ``manifest_path`` and ``config_path`` make into the instance.

    Idempotent: the same bytes give the same test id and the existing snapshot. The
    manifest and the config are read once, and the design is checked on the copies.

    Raises:
        ManifestError, DesignError: the render and config do not make a valid test.
        SnapshotError: a stimulus differs from its manifest hash, or is unreadable.
    """
    instance = Path(instance)
    manifest_path = Path(manifest_path)
    manifest_bytes = manifest_path.read_bytes()
    config_bytes = Path(config_path).read_bytes() if config_path is not None else None
    suffix = Path(config_path).suffix if config_path is not None else ""
    test_id = test_id_of(manifest_bytes, config_bytes, suffix)
    folder = instance / TESTS_FOLDER / test_id
    if (folder / RECORD_NAME).is_file():
        return load_test(folder)
    building = instance / TESTS_FOLDER / f".new-{test_id}-{os.getpid()}"
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    try:
        (building / MANIFEST_NAME).write_bytes(manifest_bytes)
        config_file = None
        if config_bytes is not None:
            config_file = f"config{suffix.lower()}"
            (building / config_file).write_bytes(config_bytes)
        try:
            config = load_config(building / config_file if config_file else None)
            copied = load_manifest(building / MANIFEST_NAME)
            design = build_design(copied, config, check_files=False)
        except (ManifestError, DesignError) as exc:  # named as the person wrote them
            message = str(exc).replace(str(building / MANIFEST_NAME), str(manifest_path))
            if config_file:
                message = message.replace(str(building / config_file), str(config_path))
            raise type(exc)(message.replace(str(building), str(manifest_path.parent))) from None
        source = copy.copy(copied)  # the same entries, read where they were rendered
        source.root = manifest_path.parent
        files = copied.files()
        used = sorted({name for t in design.all_trials for name in t.files.values()})
        for name in used:
            try:
                data = source.path_of(name).read_bytes()
            except OSError as exc:
                raise SnapshotError(
                    f"cannot read {name} of {manifest_path}: {exc.strerror or exc}"
                ) from None
            if _sha256(data) != files[name].sha256:
                raise SnapshotError(
                    f"{source.path_of(name)} differs from the hash its manifest records "
                    "(a render still running, or a file changed by hand); render again"
                )
            stored = _store(instance, data, files[name].sha256, Path(name).suffix)
            _place(stored, copied.path_of(name))
        design = build_design(copied, config)  # every stimulus now in the snapshot
        test = ServedTest(
            test_id=test_id,
            folder=folder,
            design_hash=design.design_hash,
            trials=len(design.trials),
            training=len(design.training),
            manifest=str(manifest_path.resolve()),
            config=str(Path(config_path).resolve()) if config_path is not None else None,
            manifest_sha256=_sha256(manifest_bytes),
            config_sha256=_sha256(config_bytes) if config_bytes is not None else None,
            config_file=config_file,
            render_created_at=copied.created_at,
            snapshot_at=_now(),
            files=len(used),
        )
        record = test.to_json()
        del record["folder"]  # the folder is where test.json is
        atomic_write_json(building / RECORD_NAME, record)
        try:
            building.rename(folder)
        except OSError:  # another process made the same snapshot first: the same bytes
            if not (folder / RECORD_NAME).is_file():
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return load_test(folder)


# ---------------------------------------------------------------------- what is served


@dataclass(frozen=True)
class Serving:
    """What the instance serves (recorded by ``serve`` in the database).

    Attributes:
        test_id, folder: the test snapshot.
        base_url: the address raters use, as ``serve`` knew it (``None``: unknown).
        base_url_problem: why it is unknown (listening on every address without
            ``DMC_PUBLIC_URL``, say).
        started_at: when ``serve`` started serving it.
    """

    test_id: str
    folder: str
    base_url: str | None
    base_url_problem: str | None
    started_at: str


def record_serving(
    test: ServedTest,
    base_url: str | None,
    base_url_problem: str | None = None,
    only_if_none: bool = False,
) -> Serving:
    """Note that the instance now serves ``test`` at ``base_url`` (one row, replaced).

    Args:
        only_if_none: keep a record that exists already and return it (several server
            processes snapshotting a render that appeared after ``serve`` started agree
            on the first one recorded).
    """
    from sqlalchemy.exc import IntegrityError

    from webapp.storage.db import db, upsert, write_session
    from webapp.storage.models import Setting

    record = Serving(test.test_id, str(test.folder), base_url, base_url_problem, _now())
    value = json.dumps(asdict(record))
    try:
        with write_session() as session:
            if only_if_none:
                if session.get(Setting, SERVING_SETTING) is None:
                    session.add(Setting(key=SERVING_SETTING, value=value))
            else:
                upsert(session, Setting, [{"key": SERVING_SETTING, "value": value}], ["key"])
    except IntegrityError:  # PostgreSQL: another process inserted it first
        pass
    if only_if_none:
        db.session.rollback()  # read what was recorded, not an older snapshot of the table
        return serving() or record
    return record


def serving() -> Serving | None:
    """What ``serve`` last recorded (:func:`record_serving`), or ``None``."""
    from webapp.storage.db import db
    from webapp.storage.models import Setting

    stored = db.session.get(Setting, SERVING_SETTING)
    if stored is None:
        return None
    try:
        return Serving(**json.loads(stored.value))
    except (TypeError, ValueError):
        return None


def unfinished_raters(design_hash: str) -> int:
    """Raters planned on ``design_hash`` who have not finished (a new test would strand them)."""
    from sqlalchemy import func, select

    from webapp.storage.db import db
    from webapp.storage.models import Rater

    return db.session.scalar(
        select(func.count())
        .select_from(Rater)
        .where(Rater.design_hash == design_hash, Rater.finished_at.is_(None))
    )

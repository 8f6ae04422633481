import json

import pytest

from dmc.contracts.manifest import (
    Condition,
    Manifest,
    ManifestError,
    PassageEntry,
    default_render_dir,
    load_manifest,
    manifest_path,
)
from dmc.datasets import DatasetError, load_songs
from dmc.datasets.splits import split_ids


def _manifest():
    cond = Condition("console", "audio/ab12.mp3", "0" * 64, -23.01, -3.2, 10.0)
    passage = PassageEntry("song@0000.00s", "song", 0.0, 10.0, [cond], ["kick"])
    return Manifest(
        {"drums": [passage]}, "2026-11-26T00:00:00Z", "0.1.0", 44100, seeds={"random": 3}
    )


def test_manifest_round_trip(tmp_path):
    m = _manifest()
    m.save(tmp_path / "manifest.json")
    back = load_manifest(tmp_path)
    assert back.passage("drums", "song@0000.00s").condition("console").loudness_lufs == -23.01
    assert back.path_of("audio/ab12.mp3") == (tmp_path / "audio/ab12.mp3").resolve()
    with pytest.raises(ManifestError, match="missing"):
        back.check_files()


def test_manifest_rejects_escaping_paths_and_bad_files(tmp_path):
    m = _manifest()
    m.tasks["drums"][0].conditions[0].file = "../../etc/passwd"
    m.save(tmp_path / "manifest.json")
    with pytest.raises(ManifestError, match="outside"):
        load_manifest(tmp_path / "manifest.json")
    (tmp_path / "other.json").write_text(json.dumps({"format": "something"}))
    with pytest.raises(ManifestError, match="not a render manifest"):
        load_manifest(tmp_path / "other.json")
    with pytest.raises(ManifestError, match="dmc.render testset"):
        load_manifest(tmp_path / "none.json")


def test_renders_live_in_the_working_folder_and_nowhere_else(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert default_render_dir() == tmp_path / "renders" / "testset"
    assert default_render_dir("transform") == tmp_path / "renders" / "transform"
    saved = _manifest().save(tmp_path / "elsewhere" / "manifest.json")
    assert manifest_path(saved.parent) == saved
    assert manifest_path(saved) == saved
    assert manifest_path(tmp_path / "not-yet") == tmp_path / "not-yet" / "manifest.json"


def test_manifest_rejects_method_names_that_are_not_identifiers(tmp_path):
    m = _manifest()
    m.tasks["drums"][0].conditions[0].method = "Console Mix"
    m.save(tmp_path / "manifest.json")
    with pytest.raises(ManifestError, match="lowercase identifier"):
        load_manifest(tmp_path)


def test_split_ids_is_deterministic_and_disjoint():
    ids = [f"take{i:03d}" for i in range(210)]
    a = split_ids(ids)
    b = split_ids(list(reversed(ids)))
    assert a == b
    assert [len(a[k]) for k in ("train", "val", "test")] == [168, 21, 21]
    assert not set(a["train"]) & set(a["test"])
    assert split_ids(ids, seed=1) != a
    small = split_ids(["a", "b", "c"])
    assert all(len(v) == 1 for v in small.values())


def test_load_songs_rejects_bad_requests():
    with pytest.raises(DatasetError, match="--root"):
        load_songs("enst", "drums", "train")
    with pytest.raises(DatasetError, match="drums"):
        load_songs("enst", "full", "train", root="/tmp")
    with pytest.raises(DatasetError, match="full"):
        load_songs("medleydb", "drums", "train", root="/tmp")
    with pytest.raises(DatasetError, match="unknown dataset"):
        load_songs("musdb", "full", "train", root="/tmp")
    with pytest.raises(DatasetError, match="split"):
        load_songs("demo", "full", "holdout")

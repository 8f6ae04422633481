import json

import pytest

from dmc.datasets import DatasetError, load_songs
from dmc.datasets.splits import split_ids
from dmc.manifest import (
    Condition,
    Manifest,
    ManifestError,
    PassageEntry,
    latest_manifest_path,
    load_manifest,
    remember_latest,
)


def _manifest():
    cond = Condition("console", "audio/ab12.mp3", "0" * 64, -23.01, -3.2, 10.0)
    passage = PassageEntry("song@0000.00s", "song", 0.0, 10.0, [cond], ["kick"])
    return Manifest({"drums": [passage]}, "2026-11-26T00:00:00Z", "0.1.0", 44100, seeds={"random": 3})


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


def test_latest_manifest_pointer(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("DMC_MANIFEST", raising=False)
    monkeypatch.chdir(tmp_path)
    assert latest_manifest_path() == tmp_path / "renders" / "testset" / "manifest.json"
    path = _manifest().save(tmp_path / "elsewhere" / "manifest.json")
    remember_latest(path)
    assert latest_manifest_path() == path.resolve()
    monkeypatch.setenv("DMC_MANIFEST", "/x/y.json")
    assert str(latest_manifest_path()) == "/x/y.json"


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

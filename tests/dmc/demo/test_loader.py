"""load_demo: cached FLAC songs, bit-identical to generation, invalidated and written safely."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from dmc.datasets import DatasetError, load_songs
from dmc.datasets.demo import SPLIT_SIZES, cache, generate_song, load_demo, prepare_demo
from dmc.multitrack import find_passages


def test_split_sizes_follow_the_paper():
    assert SPLIT_SIZES == {
        "drums": {"train": 200, "val": 20, "test": 5},
        "full": {"train": 100, "val": 10, "test": 6},
    }


def test_cached_songs_point_at_files_and_match_generation_bit_for_bit(
    drum_test_songs, demo_cache_dir
):
    song = drum_test_songs[1]
    assert song.song_id == "demo-drums-test-001"
    assert all(t.path is not None and t.path.suffix == ".flac" for t in song.tracks)
    assert song.target.path.parent == song.tracks[0].path.parent
    assert song.target.path.is_relative_to(demo_cache_dir / "demo-v1" / "drums" / "test")
    fresh = generate_song("drums", "test", 1)
    loaded = song.load()
    for cached, generated in zip(loaded.tracks, fresh.tracks):
        assert np.array_equal(cached.audio, generated.audio), cached.name
    assert np.array_equal(loaded.target.audio, fresh.target.audio)
    assert song.metadata == fresh.metadata


def test_every_test_song_holds_a_ten_second_passage(drum_test_songs, full_test_songs):
    for song in [*drum_test_songs, *full_test_songs]:
        (passage,) = find_passages(song, 10.0)
        start, length = passage.sample_range(song.sample_rate)
        assert start >= 0 and start + length <= song.num_samples


def test_a_second_load_reads_the_cache(drum_test_songs, demo_cache_dir):
    folder = drum_test_songs[0].tracks[0].path.parent
    before = (folder / "meta.json").stat().st_mtime_ns
    again = load_demo("drums", "test", cache_dir=demo_cache_dir, num_songs=2, workers=0)
    assert [s.song_id for s in again] == ["demo-drums-test-000", "demo-drums-test-001"]
    assert (folder / "meta.json").stat().st_mtime_ns == before


def test_a_changed_generator_or_half_written_song_is_regenerated(tmp_path):
    (song,) = load_demo("drums", "test", cache_dir=tmp_path, num_songs=1, workers=0)
    folder = song.tracks[0].path.parent
    meta = json.loads((folder / "meta.json").read_text())
    meta["fingerprint"] = "from-an-older-generator"
    (folder / "meta.json").write_text(json.dumps(meta))
    (folder / "kick.flac").write_bytes(b"stale")
    assert not cache.is_cached(folder)
    # A generation killed half-way leaves only a hidden temporary folder behind.
    leftover = folder.parent / f".{folder.name}.tmp-999-dead"
    leftover.mkdir()
    (leftover / "kick.flac").write_bytes(b"half")
    an_hour_ago = leftover.stat().st_mtime - 3600
    os.utime(leftover, (an_hour_ago, an_hour_ago))
    (reloaded,) = load_demo("drums", "test", cache_dir=tmp_path, num_songs=1, workers=0)
    assert cache.is_cached(folder)
    assert json.loads((folder / "meta.json").read_text())["fingerprint"] == cache.fingerprint()
    assert np.array_equal(
        reloaded.tracks[0].read(44100), generate_song("drums", "test", 0).tracks[0].audio
    )
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]  # the leftover is gone too


def test_prepare_demo_fills_only_what_is_missing(drum_test_songs, demo_cache_dir):
    assert (
        prepare_demo(cache_dir=demo_cache_dir, tasks=("drums",), splits=("test",), workers=0) == 0
    )
    with pytest.raises(DatasetError, match="unknown split 'dev'"):
        prepare_demo(cache_dir=demo_cache_dir, splits=("dev",))


def test_the_cache_dir_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DMC_CACHE_DIR", str(tmp_path))
    assert cache.demo_root() == tmp_path / "demo-v1"


def test_load_songs_dispatches_to_the_demo(demo_cache_dir, full_test_songs):
    songs = load_songs("demo", "full", "test", cache_dir=demo_cache_dir, num_songs=2)
    assert [s.song_id for s in songs] == [s.song_id for s in full_test_songs[:2]]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"task": "vocals"}, "unknown demo task 'vocals'"),
        ({"split": "holdout"}, "unknown split 'holdout'"),
        ({"num_songs": 0}, "num_songs must be an integer from 1 to 5"),
        ({"num_songs": 6}, "num_songs must be an integer from 1 to 5"),
        ({"num_songs": True}, "num_songs must be an integer"),
        ({"workers": -1}, "workers must be a non-negative integer"),
    ],
)
def test_bad_requests_raise_a_dataset_error(kwargs, message, tmp_path):
    arguments = {"task": "drums", "split": "test", "cache_dir": tmp_path} | kwargs
    with pytest.raises(DatasetError, match=message):
        load_demo(**arguments)


def test_a_cache_dir_that_is_a_file_is_named(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(DatasetError, match="not-a-folder"):
        load_demo("drums", "test", cache_dir=blocker, num_songs=1)


def test_the_code_fingerprint_ignores_comments_docstrings_and_layout():
    code = 'def gain(x):\n    """Why."""\n    return x * 2  # twice\n'
    same = "def gain(x):\n    return (\n        x * 2\n    )\n"
    other = "def gain(x):\n    return x * 3\n"
    assert cache.code_digest(code) == cache.code_digest(same)
    assert cache.code_digest(code) != cache.code_digest(other)

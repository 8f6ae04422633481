"""Fixtures for the demo dataset tests: the two test splits, generated once per session.

Generating them through ``load_demo`` with two workers exercises the real path (spawned
workers, atomic cache writes) and gives every test cached songs to read; tests that need
audio in memory call ``Song.load()``. The cache folder (``demo_cache_dir``, in
``tests/conftest.py``) is the session's: the README's commands (``tests/test_docs.py``)
read the same songs.
"""

from __future__ import annotations

import pytest

from dmc.datasets.demo import load_demo


@pytest.fixture(scope="session")
def drum_test_songs(demo_cache_dir):
    return load_demo("drums", "test", cache_dir=demo_cache_dir, workers=2)


@pytest.fixture(scope="session")
def full_test_songs(demo_cache_dir):
    return load_demo("full", "test", cache_dir=demo_cache_dir, workers=2)


@pytest.fixture(scope="session")
def drum_song(drum_test_songs):
    return drum_test_songs[0].load()


@pytest.fixture(scope="session")
def full_song(full_test_songs):
    return full_test_songs[0].load()

"""The on-disk cache of generated demo songs: FLAC tracks, a stereo target and ``meta.json``.

Layout: ``<cache_dir>/demo-v<GENERATOR_VERSION>/<task>/<split>/<song_id>/`` holding one
16-bit FLAC per track, ``target.flac`` and ``meta.json``. ``meta.json`` carries a
fingerprint of everything the audio depends on (the shipped assets, the generator's and
the effect chain's code, the pedalboard version); a song whose fingerprint differs from
the running code's is stale and is generated again. The code enters the fingerprint as
its syntax tree without docstrings, so comments, docstrings and reformatting do not
throw away gigabytes of generated audio.

Songs are written into a hidden temporary folder next to their final place and renamed
into it only when complete (``meta.json`` last), so a generation killed half-way never
leaves a song that later loads.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import os
import shutil
import time
import uuid
from pathlib import Path

import pedalboard

from dmc.audio import write_audio
from dmc.datasets.demo import assets, songs
from dmc.multitrack import Song, Track

#: Files whose source shapes the audio: a change to any of them invalidates the cache.
_SOURCE_FILES = (
    *sorted(Path(__file__).resolve().parent.glob("*.py")),
    Path(__file__).resolve().parents[2] / "effects" / "chain.py",
    Path(__file__).resolve().parents[2] / "effects" / "params.py",
    Path(__file__).resolve().parents[2] / "staging.py",
)
META_FILE = "meta.json"
TARGET_FILE = "target.flac"


def default_cache_dir() -> Path:
    """``$DMC_CACHE_DIR`` or ``~/.cache/dmc``."""
    return Path(os.environ.get("DMC_CACHE_DIR") or Path.home() / ".cache" / "dmc")


def demo_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """The versioned folder holding every cached demo song."""
    base = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return base / f"demo-v{songs.GENERATOR_VERSION}"


@functools.lru_cache(maxsize=1)
def fingerprint() -> str:
    """SHA-256 (hex, 16 characters) of the assets, the generator source and pedalboard's version."""
    digest = hashlib.sha256()
    digest.update(f"v{songs.GENERATOR_VERSION} pedalboard {pedalboard.__version__}".encode())
    digest.update(assets.assets_fingerprint().encode())
    for path in _SOURCE_FILES:
        digest.update(path.name.encode())
        digest.update(code_digest(path.read_text(encoding="utf-8")).encode())
    return digest.hexdigest()[:16]


def code_digest(source: str) -> str:
    """SHA-256 of Python source as its syntax tree, less comments, docstrings and layout."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                node.body = node.body[1:] or [ast.Pass()]
    return hashlib.sha256(ast.dump(tree).encode()).hexdigest()


def song_dir(root: Path, task: str, split: str, index: int) -> Path:
    return root / task / split / songs.song_id(task, split, index)


def is_cached(folder: Path) -> bool:
    """True when ``folder`` holds a complete song made by the running code."""
    meta_path = folder / META_FILE
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if meta.get("fingerprint") != fingerprint():
        return False
    files = [f"{name}.flac" for name in meta.get("metadata", {}).get("track_names", [])] + [
        TARGET_FILE
    ]
    return all((folder / f).is_file() for f in files)


#: A temporary folder untouched this long belongs to a generation that was killed.
STALE_SECONDS = 600


def _remove_leftovers(folder: Path) -> None:
    """Delete temporary folders that killed generations of this song left behind."""
    now = time.time()
    for leftover in folder.parent.glob(f".{folder.name}.*"):
        try:
            if now - leftover.stat().st_mtime > STALE_SECONDS:
                shutil.rmtree(leftover, ignore_errors=True)
        except OSError:
            continue  # removed meanwhile by another process


def store(song: Song, folder: Path) -> None:
    """Write an in-memory ``song`` to ``folder`` atomically (complete or not at all)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(folder)
    tmp = folder.parent / f".{folder.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        for track in song.tracks:
            write_audio(tmp / f"{track.name}.flac", track.audio, song.sample_rate, subtype="PCM_16")
        write_audio(tmp / TARGET_FILE, song.target.audio, song.sample_rate, subtype="PCM_16")
        meta = {
            "fingerprint": fingerprint(),
            "song_id": song.song_id,
            "sample_rate": song.sample_rate,
            "num_samples": song.num_samples,
            "tracks": [
                {"name": t.name, "role": t.role, "file": f"{t.name}.flac"} for t in song.tracks
            ],
            "target": TARGET_FILE,
            "metadata": song.metadata,
        }
        (tmp / META_FILE).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
        if folder.exists():
            stale = folder.parent / f".{folder.name}.old-{uuid.uuid4().hex[:8]}"
            os.rename(folder, stale)
            shutil.rmtree(stale, ignore_errors=True)
        try:
            os.rename(tmp, folder)
        except OSError:
            if not is_cached(folder):  # another process finished the same song first: keep theirs
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def load(folder: Path) -> Song:
    """A cached song whose tracks and target point at its FLAC files (nothing is read yet)."""
    meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    tracks = [Track(t["name"], t["role"], path=folder / t["file"]) for t in meta["tracks"]]
    return Song(
        meta["song_id"],
        tracks,
        int(meta["sample_rate"]),
        int(meta["num_samples"]),
        target=Track("target", "other", path=folder / meta["target"]),
        metadata=meta["metadata"],
    )


def generate_and_store(task: str, split: str, index: int, root: str) -> str:
    """Worker entry point: generate one song and cache it; returns its id."""
    folder = song_dir(Path(root), task, split, index)
    if not is_cached(folder):
        store(songs.generate_song(task, split, index), folder)
    return songs.song_id(task, split, index)

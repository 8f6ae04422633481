"""Your own multitracks: ``--data folder --root DIR``, one subfolder per song, tracks named by role.

::

    DIR/<song>/kick.wav, snare_top.flac, Bass DI.m4a, ...   one file per track
    DIR/<song>/mix.wav  (or target.*, any format)           optional: the reference mix
    DIR/<song>/info.json                                    optional: {"task": ..., "tracks": [...]}
    DIR/split.csv  (or split.json)                          optional: songs per split

A song's id is its folder's name. A track's name is its file name without the suffix and
its role comes from that name as ``python -m dmc.mix`` reads it (:func:`dmc.roles.role_from_name`:
``03_kick_in.wav`` is a kick, ``Bass DI.wav`` a bass; a name with no role word is
``other``), unless ``info.json`` lists the file with a role (``{"file": "k1.wav", "role":
"kick"}``, the layout ``scripts/make_heldout_multitracks.py`` writes). A file whose name
without the suffix is ``mix`` or ``target`` is the song's reference mix, never a track;
without one the song has no target, and a listening test rendered from it runs without a
hidden reference (see ``docs/render.md``).

Formats: anything libsndfile reads (WAV, FLAC, AIFF, OGG, MP3...) is read on demand like
the other datasets; other formats ffmpeg reads (m4a/AAC, WMA...) are decoded when the
song is listed (:func:`dmc.decode.read_any_audio`), so they cost memory, not disk. Files
with other suffixes (``.json``, ``.txt``, images) are ignored. Every song is returned at
``sample_rate`` (default the console's 44.1 kHz); files of other rates are resampled, and
shorter files are padded with silence to the song's longest file.

Tasks: a song belongs to ``drums`` when every track has a drum role
(:data:`dmc.roles.DRUM_ROLES`), else to ``full``; ``info.json`` may say ``"task"``
instead. Split: with ``DIR/split.csv`` or ``split.json``
(:func:`dmc.datasets.splits.read_split_file`: ``train,<song>`` lines) the file decides;
without one every song is in ``test``, since a folder of your own songs is usually
something to evaluate on, and training needs a split file that says so.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from dmc import SAMPLE_RATE
from dmc.audio import AudioError, audio_info, resample
from dmc.datasets.base import SPLITS, DatasetError
from dmc.datasets.splits import choose_split
from dmc.decode import read_any_audio
from dmc.multitrack import Song, Track
from dmc.roles import DRUM_ROLES, ROLES, role_from_name

#: Suffixes read as audio (lower case); every other file in a song folder is ignored.
AUDIO_SUFFIXES = frozenset(
    {
        ".wav", ".wave", ".flac", ".aif", ".aiff", ".aifc", ".caf", ".w64", ".ogg", ".oga", ".opus",
        ".mp3", ".m4a", ".mp4", ".aac", ".alac", ".wma", ".webm", ".mka", ".wv", ".ape",
    }
)  # fmt: skip
#: File names (without suffix, any case) of the reference mix.
MIX_NAMES = ("mix", "target")
SPLIT_FILES = ("split.csv", "split.json", "split.txt")
TASKS = ("drums", "full")
INFO_FILE = "info.json"


def load_folder(
    root: str | Path, task: str, split: str, sample_rate: int | None = SAMPLE_RATE
) -> list[Song]:
    """The songs of ``split`` and ``task`` under ``root`` (see the module docstring for the rules).

    Args:
        root: the folder holding one subfolder per song.
        task: ``drums`` or ``full``; songs of the other task are left out.
        split: ``train``, ``val``, ``test`` or ``all``.
        sample_rate: rate of the returned songs (Hz); None keeps each song's most common
            file rate (the mix's when there is one).

    Raises:
        DatasetError: a wrong root, a song folder without tracks, an unreadable file, two
            mixes or two tracks of one name, a bad ``info.json`` or split file, or a split
            other than test asked for without a split file; the message names the path.
    """
    root = _check_root(root)
    if task not in TASKS:
        raise DatasetError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    folders = song_folders(root)
    split_file = next((root / name for name in SPLIT_FILES if (root / name).is_file()), None)
    if split_file is None:
        if split not in (*SPLITS, "all"):
            raise DatasetError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)} or all")
        if split in ("train", "val"):
            raise DatasetError(
                f"--data folder puts every song of {root} in the test split; to {split} on them, "
                f"list the songs per split in {root / 'split.csv'} (lines 'train,<song>', 'val,<song>')"
            )
        ids = sorted(folders)
    else:
        ids = choose_split(
            sorted(folders), split, split_file=split_file, normalize=_song_of, dataset=str(root)
        )
    songs = []
    for song_id in ids:
        folder = folders[song_id]
        files, mix, info = _song_files(folder)
        if _task_of(folder, files, info) == task:
            songs.append(_song(song_id, folder, files, mix, info, sample_rate))
    return songs


def folder_tasks(root: str | Path) -> tuple[str, ...]:
    """The tasks the songs under ``root`` belong to, in :data:`TASKS` order (reads no audio)."""
    root = _check_root(root)
    found = set()
    for folder in song_folders(root).values():
        files, _, info = _song_files(folder)
        found.add(_task_of(folder, files, info))
    return tuple(t for t in TASKS if t in found)


def song_folders(root: Path) -> dict[str, Path]:
    """Song id -> folder: every visible subfolder of ``root``."""
    folders = {
        p.name: p for p in sorted(root.iterdir()) if p.is_dir() and not p.name.startswith(".")
    }
    if not folders:
        raise DatasetError(
            f"{root} holds no song folders; expected one subfolder per song with one audio file per track"
        )
    return folders


# --------------------------------------------------------------------------- one song


def _check_root(root) -> Path:
    if root is None or str(root) == "":
        raise DatasetError("--data folder needs --root DIR, a folder with one subfolder per song")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetError(
            f"--data folder: {root} is not a folder; expected one subfolder per song"
        )
    return root


def _song_of(entry: str) -> str:
    """A split-file entry (a song id, or a path ending in the song's folder) to a song id."""
    return Path(entry).name


def _song_files(folder: Path) -> tuple[list[Path], Path | None, dict]:
    """The track files (sorted), the reference mix if any, and ``info.json``'s content."""
    audio = sorted(
        p for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in AUDIO_SUFFIXES
    )  # fmt: skip
    mixes = [p for p in audio if p.stem.lower() in MIX_NAMES]
    if len(mixes) > 1:
        raise DatasetError(
            f"song {folder.name!r} has {len(mixes)} reference mixes ({', '.join(p.name for p in mixes)}); keep one"
        )
    tracks = [p for p in audio if p not in mixes]
    if not tracks:
        raise DatasetError(
            f"song folder {folder} holds no tracks; expected one audio file per track named by its role "
            "(kick.wav, bass.flac, ...)"
        )
    names = Counter(p.stem for p in tracks)
    twice = sorted(n for n, count in names.items() if count > 1)
    if twice:
        raise DatasetError(
            f"song {folder.name!r} has two files for track(s) {', '.join(twice)}; keep one of each"
        )
    return tracks, (mixes[0] if mixes else None), _info(folder)


def _info(folder: Path) -> dict:
    path = folder / INFO_FILE
    if not path.is_file():
        return {}
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DatasetError(f"cannot read {path}: {exc}") from None
    if not isinstance(info, dict):
        raise DatasetError(f"{path} must hold a JSON object")
    task = info.get("task")
    if task is not None and task not in TASKS:
        raise DatasetError(f"{path}: task {task!r} must be one of {', '.join(TASKS)}")
    return info


def _roles(folder: Path, files: list[Path], info: dict) -> list[str]:
    given = {}
    for entry in info.get("tracks") or []:
        if isinstance(entry, dict) and entry.get("file") and entry.get("role"):
            if entry["role"] not in ROLES:
                raise DatasetError(
                    f"{folder / INFO_FILE}: role {entry['role']!r} of {entry['file']} is not one of {', '.join(ROLES)}"
                )
            given[str(entry["file"])] = entry["role"]
    return [given.get(p.name) or role_from_name(p.name) or "other" for p in files]


def _task_of(folder: Path, files: list[Path], info: dict) -> str:
    if info.get("task"):
        return info["task"]
    return "drums" if all(role in DRUM_ROLES for role in _roles(folder, files, info)) else "full"


def _song(
    song_id: str, folder: Path, files: list[Path], mix: Path | None, info: dict, sample_rate
) -> Song:
    """Tracks that libsndfile reads point at their files; others are decoded into memory now."""
    readable: dict[Path, tuple[int, int]] = {}  # path -> (rate, frames), read on demand
    decoded = {}  # path -> Decoded, in memory
    for path in [*files, *([mix] if mix else [])]:
        try:
            rate, _, frames = audio_info(path)
            readable[path] = (rate, frames)
        except AudioError:
            try:
                decoded[path] = read_any_audio(path)
            except AudioError as exc:
                raise DatasetError(str(exc)) from None
    rates = {p: r for p, (r, _) in readable.items()} | {
        p: d.sample_rate for p, d in decoded.items()
    }
    if sample_rate is None:
        sample_rate = (
            rates[mix] if mix is not None else Counter(rates.values()).most_common(1)[0][0]
        )
    lengths = {p: f for p, (_, f) in readable.items()} | {
        p: d.audio.shape[1] for p, d in decoded.items()
    }
    if mix is not None and (decoded[mix].channels if mix in decoded else audio_info(mix)[1]) > 2:
        raise DatasetError(
            f"{mix} has more than 2 channels; the reference mix must be mono or stereo"
        )
    num_samples = max(int(round(lengths[p] * sample_rate / rates[p])) for p in lengths)
    if num_samples == 0:
        raise DatasetError(f"song {song_id!r}: every file in {folder} is empty")

    def track(path: Path, name: str, role: str) -> Track:
        if path in readable:
            return Track(name, role, path=path)
        found = decoded[path]
        return Track(name, role, audio=resample(found.audio, found.sample_rate, sample_rate))

    roles = _roles(folder, files, info)
    tracks = [track(p, p.stem, role) for p, role in zip(files, roles)]
    target = track(mix, mix.stem, "other") if mix is not None else None
    metadata = {
        "dataset": "folder",
        "folder": str(folder),
        "reference_mix": mix.name if mix is not None else None,
        "file_sample_rates": sorted(set(rates.values())),
        "decoded_with": sorted({d.reader for d in decoded.values()}) or ["libsndfile"],
    }
    return Song(song_id, tracks, int(sample_rate), num_samples, target, metadata)

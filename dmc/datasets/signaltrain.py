"""SignalTrain LA2A read from its published folders as clean mono sources.

SignalTrain LA2A (Hawley, Colburn and Mimilakis, "SignalTrain: Profiling audio
compressors with deep neural networks", AES 147, 2019; Zenodo record 3824876, v1.1) holds
recordings through a Teletronix LA-2A compressor: every clean input has one recording of
it at one setting of the unit's two controls. Its published layout is::

    <root>/Train/input_<n>_.wav
    <root>/Train/target_<n>_LA2A_<unit>__<switch>__<peak reduction>.wav
    <root>/Val/...     <root>/Test/...

``<n>`` pairs an input with its recording, ``<switch>`` is 0 (compress) or 1 (limit) and
``<peak reduction>`` the knob, 0-100 (``target_158_LA2A_3c__0__100.wav``).

The paper trains its transformation network on the *clean inputs* of this set and
draws its demo passages from the test split. Here the inputs are what a loader returns:
one single-track song per input file (track ``input``, role ``other``), split by the
dataset's own folders. The TCN's targets come from this project's EQ -> compressor ->
reverb chain at random settings, not from the LA-2A; the LA-2A recording of each input
is still described in ``metadata["la2a"]`` (file, unit, mode, peak reduction), and the
song has no ``target``: it is not a mix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from dmc.audio import AudioError, audio_info
from dmc.datasets.base import DatasetError
from dmc.datasets.enst import BadSongError, _check_bad_files, _check_root, _Notes
from dmc.multitrack import Song, Track

#: Split name -> the folder the dataset publishes it in.
SPLIT_FOLDERS = {"train": "Train", "val": "Val", "test": "Test"}
INPUT_NAME = re.compile(r"^input_(\d+)_\.wav$", re.IGNORECASE)
TARGET_NAME = re.compile(r"^target_(\d+)_LA2A_(.+?)__([01])__(\d+(?:\.\d+)?)\.wav$", re.IGNORECASE)
#: What a user is told when a folder is not SignalTrain's layout.
EXPECTED = (
    "Train/, Val/ and Test/ folders holding input_<n>_.wav and "
    "target_<n>_LA2A_<unit>__<0|1>__<peak reduction>.wav files"
)


@dataclass(frozen=True)
class LA2ARecording:
    """One recording through the LA-2A, as its file name describes it."""

    path: Path
    unit: str
    limit: bool
    peak_reduction: float

    def as_metadata(self) -> dict:
        return {
            "file": str(self.path),
            "unit": self.unit,
            "mode": "limit" if self.limit else "compress",
            "peak_reduction": self.peak_reduction,
        }


def song_id(file_id: int) -> str:
    """``signaltrain-158`` for ``input_158_.wav``: the dataset's numbers are unique across splits."""
    return f"signaltrain-{file_id:03d}"


def load_signaltrain(
    root: str | Path,
    split: str,
    *,
    sample_rate: int | None = None,
    min_seconds: float = 0.0,
    bad_files: str = "raise",
) -> list[Song]:
    """The clean inputs of one split as single-track songs, sorted by file number.

    Listing reads only file headers; tracks point at the WAVs and are read on demand.

    Args:
        root: the dataset folder holding ``Train``, ``Val`` and ``Test``.
        split: ``train``, ``val``, ``test`` (the published folders) or ``all``.
        sample_rate: rate of the returned songs (Hz); default the files' own rate.
        min_seconds: leave out inputs shorter than this.
        bad_files: ``raise`` (default) or ``skip``: what to do with an unreadable or
            empty input (skips are warned).

    Raises:
        DatasetError: a folder that is not SignalTrain's layout, an unknown split, or a
            bad input with ``bad_files="raise"``; the message names the path and what
            was expected.
    """
    root = _check_root(root, "SignalTrain LA2A", EXPECTED)
    _check_bad_files(bad_files)
    if split not in (*SPLIT_FOLDERS, "all"):
        raise DatasetError(
            f"unknown split {split!r}; choose one of {', '.join(SPLIT_FOLDERS)} or all"
        )
    folders = _split_folders(root)
    notes = _Notes("SignalTrain LA2A")
    songs = []
    for name in SPLIT_FOLDERS if split == "all" else (split,):
        if name not in folders:
            raise DatasetError(
                f"SignalTrain LA2A: {root} has no {SPLIT_FOLDERS[name]} folder; expected {EXPECTED}"
            )
        songs += _load_folder(folders[name], name, sample_rate, min_seconds, bad_files, notes)
    notes.emit()
    return sorted(songs, key=lambda s: s.metadata["file_id"])


def _split_folders(root: Path) -> dict[str, Path]:
    """Split -> its folder (the published capitalisation, or any other), refusing other layouts."""
    children = {p.name.lower(): p for p in root.iterdir() if p.is_dir()}
    found = {
        split: children[folder.lower()]
        for split, folder in SPLIT_FOLDERS.items()
        if folder.lower() in children
    }
    if not any(_inputs(folder) for folder in found.values()):
        listed = sorted(p.name for p in root.iterdir())[:8]
        raise DatasetError(
            f"SignalTrain LA2A: {root} is not SignalTrain's layout; expected {EXPECTED} "
            f"(found: {', '.join(listed) or 'nothing'})"
        )
    return found


def _inputs(folder: Path) -> dict[int, Path]:
    return {
        int(m.group(1)): p
        for p in folder.iterdir()
        if (m := INPUT_NAME.match(p.name)) and p.is_file()
    }


def _recordings(folder: Path, notes: _Notes) -> dict[int, LA2ARecording]:
    out: dict[int, LA2ARecording] = {}
    odd = []
    for path in sorted(folder.iterdir()):
        if not path.name.lower().startswith("target_"):
            continue
        match = TARGET_NAME.match(path.name)
        if match is None:
            odd.append(path.name)
            continue
        number, unit, switch, knob = match.groups()
        out.setdefault(int(number), LA2ARecording(path, unit, switch == "1", float(knob)))
    if odd:
        notes.other.append(
            f"{folder}: {len(odd)} target file(s) not named target_<n>_LA2A_<unit>__<0|1>__<peak reduction>.wav "
            f"were ignored: {', '.join(odd[:5])}"
        )
    return out


def _load_folder(
    folder: Path,
    split: str,
    sample_rate: int | None,
    min_seconds: float,
    bad_files: str,
    notes: _Notes,
) -> list[Song]:
    inputs = _inputs(folder)
    if not inputs:
        raise DatasetError(
            f"SignalTrain LA2A: no input_<n>_.wav files in {folder}; expected {EXPECTED}"
        )
    recordings = _recordings(folder, notes)
    unpaired = sorted(set(inputs) - set(recordings))
    orphans = sorted(set(recordings) - set(inputs))
    if unpaired:
        notes.other.append(
            f"{folder}: {len(unpaired)} input(s) without an LA-2A recording (kept as sources): "
            f"{', '.join(map(str, unpaired[:5]))}"
        )
    if orphans:
        notes.other.append(
            f"{folder}: {len(orphans)} LA-2A recording(s) without an input (ignored): "
            f"{', '.join(map(str, orphans[:5]))}"
        )
    songs = []
    for number in sorted(inputs):
        try:
            song = _input_song(number, inputs[number], recordings.get(number), split, sample_rate)
        except BadSongError as exc:
            if bad_files == "raise":
                raise
            notes.skipped.append(str(exc))
            continue
        if song.duration_seconds >= min_seconds:
            songs.append(song)
    return songs


def _input_song(
    number: int, path: Path, recording: LA2ARecording | None, split: str, sample_rate: int | None
) -> Song:
    try:
        file_rate, channels, frames = audio_info(path)
    except AudioError as exc:
        raise BadSongError(f"{song_id(number)}: {exc}; expected a readable WAV") from None
    if frames == 0:
        raise BadSongError(f"{song_id(number)}: {path} is empty; expected a clean recording")
    rate = sample_rate or file_rate
    metadata = {
        "dataset": "signaltrain",
        "split": split,
        "file_id": number,
        "file_sample_rate": file_rate,
        "file_channels": channels,
        "la2a": recording.as_metadata() if recording is not None else None,
    }
    return Song(
        song_id(number),
        [Track("input", "other", path=path)],
        rate,
        int(round(frames * rate / file_rate)),
        None,
        metadata,
    )

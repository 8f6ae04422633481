"""ENST-Drums read from its published folders as the paper's 8-channel "basic mixing" task.

ENST-Drums (Gillet & Richard, ISMIR 2006) holds, for each of three drummers, one
folder per microphone with one WAV per take, plus two reference mixes of every take::

    <root>/drummer_N/audio/<mic>/<take>.wav     mic: kick, snare, hi-hat, tom_1, tom_2,
                                                tom_3, overhead_L, overhead_R
    <root>/drummer_N/audio/wet_mix/<take>.wav   target (also dry_mix)

The console always sees the same eight channels in the same order (``ENST_CHANNELS``).
Kits differ between drummers, so a microphone can be missing for a whole drummer or a
single take; it then becomes a silent channel of the take's length, listed in the song's
``metadata["missing_mics"]`` and reported in one warning per drummer, because a fixed
channel layout is what the paper's Demucs baseline (fixed N = 8) needs.

Takes are listed from the target folder (a take without a target cannot be trained on)
and split 80/10/10 by take with :func:`dmc.datasets.splits.choose_split`. "hits" takes
(isolated strokes on one drum) are left out unless ``include_hits``: the public split
(168/21/21 of 210 takes) counted only phrases, solos and minus-one takes.

The per-song file checks at the end of this module are shared with the MedleyDB loader.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from dmc.audio import AudioError, audio_info
from dmc.datasets.base import DatasetError
from dmc.datasets.splits import choose_split
from dmc.multitrack import Song, Track

#: ``(channel name, role, folder names tried in order)`` of the basic mixing task.
ENST_CHANNELS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("kick", "kick", ("kick",)),
    ("snare", "snare", ("snare",)),
    ("hihat", "hihat", ("hi-hat", "hihat")),
    ("tom_1", "tom", ("tom_1",)),
    ("tom_2", "tom", ("tom_2",)),
    ("tom_3", "tom", ("tom_3",)),
    ("overhead_L", "overhead", ("overhead_L",)),
    ("overhead_R", "overhead", ("overhead_R",)),
)
#: Reference mixes a take may be trained against.
ENST_TARGETS = ("wet_mix", "dry_mix")
#: Files of one song may differ by this much (padded/cut with a warning); more is an error.
MAX_LENGTH_MISMATCH_SECONDS = 0.05
BAD_FILE_POLICIES = ("raise", "skip")


@dataclass(frozen=True)
class _Take:
    drummer: int
    name: str  # file stem, e.g. "013_phrase_rock_simple_slow_sticks"
    target_path: Path

    @property
    def song_id(self) -> str:
        return f"drummer_{self.drummer}_{self.name}"


def load_enst(
    root: str | Path,
    split: str,
    target: str = "wet_mix",
    drummers: tuple[int, ...] = (1, 2, 3),
    seed: int = 42,
    *,
    include_hits: bool = False,
    min_seconds: float = 0.0,
    split_file: str | Path | None = None,
    sample_rate: int | None = None,
    bad_files: str = "raise",
) -> list[Song]:
    """The takes of one split of ENST-Drums as 8-channel songs with a stereo target.

    Listing reads only file headers; tracks point at the WAVs and are read on demand.

    Args:
        root: the ENST-Drums folder holding ``drummer_1`` .. ``drummer_3``.
        split: ``train``, ``val``, ``test`` or ``all``.
        target: ``wet_mix`` or ``dry_mix`` (mono targets are read as stereo).
        drummers: which drummers' takes to use.
        seed: shuffle seed of the 80/10/10 split over the sorted take ids.
        include_hits: also count the isolated-stroke "hits" takes.
        min_seconds: leave out takes whose target is shorter (a training segment
            longer than a take cannot be cut from it). Applied before the split.
        split_file: a user split (see :func:`dmc.datasets.splits.read_split_file`)
            instead of the seeded one; entries may be ids or paths of target WAVs.
        sample_rate: rate of the returned songs (Hz); default the files' own rate.
        bad_files: ``raise`` (default) or ``skip``: what to do with a take whose files
            are unreadable or disagree in sample rate or length (skips are warned).

    Raises:
        DatasetError: a wrong root or option, or a bad take with ``bad_files="raise"``;
            the message names the path and what was expected.
    """
    root = _check_root(root, "ENST-Drums", "drummer_1, drummer_2, drummer_3 folders")
    if target not in ENST_TARGETS:
        raise DatasetError(
            f"unknown ENST-Drums target {target!r}; choose one of {', '.join(ENST_TARGETS)}"
        )
    _check_bad_files(bad_files)
    drummers = _check_drummers(drummers)
    takes = {t.song_id: t for n in drummers for t in _list_takes(root, n, target, include_hits)}
    if min_seconds > 0:
        takes = {i: t for i, t in takes.items() if _long_enough(t, min_seconds, bad_files)}
    ids = choose_split(sorted(takes), split, seed, split_file, _split_entry_to_id, "ENST-Drums")

    mic_dirs = {n: _mic_dirs(root / f"drummer_{n}" / "audio") for n in drummers}
    missing: dict[int, dict[str, int]] = {}
    notes = _Notes("ENST-Drums")
    songs = []
    for song_id in tqdm(ids, desc=f"ENST-Drums {split}", unit="take", disable=None, leave=False):
        take = takes[song_id]
        try:
            song = _take_song(take, mic_dirs[take.drummer], target, sample_rate, notes)
        except BadSongError as exc:
            if bad_files == "raise":
                raise
            notes.skipped.append(str(exc))
            continue
        for mic in song.metadata["missing_mics"]:
            counts = missing.setdefault(take.drummer, {})
            counts[mic] = counts.get(mic, 0) + 1
        songs.append(song)
    for drummer, counts in sorted(missing.items()):
        total = sum(1 for s in songs if s.metadata["drummer"] == drummer)
        listed = ", ".join(f"{mic} in {n} of {total} takes" for mic, n in counts.items())
        warnings.warn(
            f"ENST-Drums drummer_{drummer}: no recording of {listed}; those channels are silent",
            stacklevel=2,
        )
    notes.emit()
    return songs


def _take_song(
    take: _Take,
    mic_dirs: dict[str, Path | None],
    target: str,
    sample_rate: int | None,
    notes: _Notes,
) -> Song:
    files: dict[str, Path] = {target: take.target_path}
    missing = []
    for name, _, _ in ENST_CHANNELS:
        folder = mic_dirs[name]
        path = None if folder is None else folder / take.target_path.name
        if path is not None and path.is_file():
            files[name] = path
        else:
            missing.append(name)
    checked = check_song_files(take.song_id, files, reference=target)
    notes.note_mismatch(take.song_id, checked)
    rate = sample_rate or checked.sample_rate
    num_samples = checked.num_samples_at(rate)
    tracks = [
        Track(name, role, path=files[name])
        if name in files
        else silent_track(name, role, num_samples)
        for name, role, _ in ENST_CHANNELS
    ]
    metadata = {
        "dataset": "enst",
        "drummer": take.drummer,
        "take": take.name,
        "target": target,
        "missing_mics": missing,
        "file_sample_rate": checked.sample_rate,
    }
    target_track = Track(target, "other", path=take.target_path)
    return Song(take.song_id, tracks, rate, num_samples, target_track, metadata)


def _list_takes(root: Path, drummer: int, target: str, include_hits: bool) -> list[_Take]:
    folder = root / f"drummer_{drummer}"
    if not folder.is_dir():
        found = sorted(p.name for p in root.iterdir() if p.is_dir())
        raise DatasetError(
            f"ENST-Drums: {folder} not found; expected drummer_1 .. drummer_3 folders in {root} "
            f"(found: {', '.join(found[:8]) or 'no folders'})"
        )
    mix_dir = folder / "audio" / target
    if not mix_dir.is_dir():
        raise DatasetError(
            f"ENST-Drums: {mix_dir} not found; expected one {target} WAV per take there"
        )
    wavs = sorted(p for p in mix_dir.iterdir() if p.suffix.lower() == ".wav" and p.is_file())
    if not wavs:
        raise DatasetError(
            f"ENST-Drums: no WAV files in {mix_dir}; expected one {target} WAV per take"
        )
    return [_Take(drummer, p.stem, p) for p in wavs if include_hits or not _is_hits(p.stem)]


def _is_hits(take_name: str) -> bool:
    """ENST names isolated-stroke takes ``NNN_hits_<drum>_...``."""
    return "hits" in take_name.lower().split("_")


def _mic_dirs(audio_dir: Path) -> dict[str, Path | None]:
    out: dict[str, Path | None] = {}
    for name, _, folders in ENST_CHANNELS:
        out[name] = next((audio_dir / f for f in folders if (audio_dir / f).is_dir()), None)
    return out


def _long_enough(take: _Take, min_seconds: float, bad_files: str) -> bool:
    try:
        rate, _, frames = audio_info(take.target_path)
    except AudioError as exc:
        if bad_files == "skip":
            return False
        raise BadSongError(f"{take.song_id}: {exc}; expected a readable WAV") from None
    return frames >= min_seconds * rate


def _split_entry_to_id(entry: str) -> str:
    """``drummer_1_013_x``, or a path ``.../drummer_1/audio/wet_mix/013_x.wav``, to a song id."""
    parts = Path(entry).parts
    drummer = next((p for p in reversed(parts[:-1]) if p.startswith("drummer_")), None)
    stem = Path(entry).stem if entry.lower().endswith(".wav") else parts[-1]
    return f"{drummer}_{stem}" if drummer else stem


def _check_drummers(drummers) -> tuple[int, ...]:
    try:
        out = tuple(sorted({int(d) for d in drummers}))
    except (TypeError, ValueError):
        raise DatasetError(
            f"drummers must be numbers such as (1, 2, 3), got {drummers!r}"
        ) from None
    if not out or any(d < 1 for d in out):
        raise DatasetError(f"drummers must be positive numbers such as (1, 2, 3), got {drummers!r}")
    return out


# --------------------------------------------------------------------------- shared checks


class BadSongError(DatasetError):
    """One song's files are unreadable or inconsistent; ``bad_files="skip"`` skips just that song."""


@dataclass(frozen=True)
class CheckedFiles:
    """What the headers of one song's files say, once they agree."""

    sample_rate: int
    num_frames: int  # of the reference file (the target mix), at ``sample_rate``
    mismatch_frames: dict[str, int] = field(default_factory=dict)  # small length differences

    def num_samples_at(self, sample_rate: int) -> int:
        return int(round(self.num_frames * sample_rate / self.sample_rate))


def check_song_files(
    song_id: str,
    files: dict[str, Path],
    reference: str,
    max_mismatch_seconds: float = MAX_LENGTH_MISMATCH_SECONDS,
) -> CheckedFiles:
    """Read the headers of one song's files and check they can be mixed sample by sample.

    The ``reference`` file (the target mix) sets the song's length; another file may
    differ by up to ``max_mismatch_seconds`` (it is zero-padded or cut on read, and the
    difference is returned so the loader can warn).

    Raises:
        BadSongError: a file is missing or unreadable, the sample rates differ, a file's
            length is further off, or the reference is empty or has more than 2 channels.
    """
    infos = {}
    for name, path in files.items():
        if not path.is_file():
            raise BadSongError(f"{song_id}: {path} does not exist")
        try:
            infos[name] = audio_info(path)
        except AudioError as exc:
            raise BadSongError(f"{song_id}: {exc}; expected a readable WAV") from None
    ref_path = files[reference]
    ref_rate, ref_channels, ref_frames = infos[reference]
    if ref_frames == 0 or ref_channels > 2:
        raise BadSongError(
            f"{song_id}: {ref_path} has {ref_frames} samples in {ref_channels} channels; "
            "expected a non-empty mono or stereo mix"
        )
    mismatch = {}
    for name, (rate, _, frames) in infos.items():
        if rate != ref_rate:
            raise BadSongError(
                f"{song_id}: {files[name]} is at {rate} Hz but {ref_path} is at {ref_rate} Hz; "
                "every file of a song must share one sample rate"
            )
        diff = frames - ref_frames
        if abs(diff) > max_mismatch_seconds * rate:
            raise BadSongError(
                f"{song_id}: {files[name]} has {frames} samples but {ref_path} has {ref_frames} "
                f"({diff / rate:+.3f} s); expected equal lengths"
            )
        if diff:
            mismatch[name] = diff
    return CheckedFiles(ref_rate, ref_frames, mismatch)


def silent_track(name: str, role: str, num_samples: int) -> Track:
    """A mono track of zeros that costs no memory (a read-only broadcast view)."""
    return Track(name, role, audio=np.broadcast_to(np.zeros((1, 1), np.float32), (1, num_samples)))


class _Notes:
    """Per-song problems gathered during one load call and reported in one warning each."""

    def __init__(self, dataset: str) -> None:
        self.dataset = dataset
        self.mismatched: list[str] = []
        self.skipped: list[str] = []
        self.other: list[str] = []

    def note_mismatch(self, song_id: str, checked: CheckedFiles) -> None:
        if checked.mismatch_frames:
            worst = max(checked.mismatch_frames.values(), key=abs)
            names = ", ".join(sorted(checked.mismatch_frames))
            self.mismatched.append(f"{song_id} ({names}; up to {worst:+d} samples)")

    def emit(self) -> None:
        if self.mismatched:
            warnings.warn(
                f"{self.dataset}: {len(self.mismatched)} song(s) have files a few samples longer or "
                f"shorter than their mix, padded/cut to the mix: {'; '.join(self.mismatched[:5])}",
                stacklevel=3,
            )
        if self.skipped:
            warnings.warn(
                f"{self.dataset}: skipped {len(self.skipped)} song(s) with bad files "
                f"(bad_files='skip'): {'; '.join(self.skipped[:5])}",
                stacklevel=3,
            )
        for message in self.other:
            warnings.warn(f"{self.dataset}: {message}", stacklevel=3)


def _check_root(root: str | Path, dataset: str, expected: str) -> Path:
    if root is None or str(root) == "":
        raise DatasetError(f"{dataset}: no root given; pass the folder holding {expected}")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetError(
            f"{dataset} root {root} is not a folder; expected one holding {expected}"
        )
    return root


def _check_bad_files(bad_files: str) -> None:
    if bad_files not in BAD_FILE_POLICIES:
        raise DatasetError(
            f"bad_files must be one of {', '.join(BAD_FILE_POLICIES)}, got {bad_files!r}"
        )

"""Small ENST-Drums and MedleyDB folder trees in their published layouts, from generated audio.

Files are short (1 s) and at 8 kHz so a whole tree is written in well under a second.
Every file holds different seeded noise bursts, so a test can tell which file a track
reads.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from dmc.audio import write_audio

RATE = 8000
SECONDS = 1.0
ENST_MICS = ("kick", "snare", "hi-hat", "tom_1", "tom_2", "tom_3", "overhead_L", "overhead_R")


def signal(seed: int, channels: int = 1, seconds: float = SECONDS, rate: int = RATE) -> np.ndarray:
    """Decaying noise bursts, ``(channels, samples)``: never silent, different for each seed."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * rate))
    envelope = np.exp(-np.arange(n) % (rate // 4) / (rate / 40))
    return (0.2 * rng.standard_normal((channels, n)) * envelope).astype(np.float32)


def write(
    path: Path, seed: int, channels: int = 1, seconds: float = SECONDS, rate: int = RATE
) -> Path:
    return write_audio(path, signal(seed, channels, seconds, rate), rate)


def build_enst(
    root: Path,
    drummers: tuple[int, ...] = (1, 2, 3),
    takes: int = 10,
    hits: int = 2,
    missing_folders: dict[int, tuple[str, ...]] | None = None,
) -> Path:
    """``root/drummer_N/audio/<mic>/<take>.wav`` with wet_mix (stereo) and dry_mix (mono).

    By default drummer_2 has no ``tom_3`` folder, as kits differ between drummers.
    Also writes the folders a loader must ignore (accompaniment, annotation).
    """
    missing_folders = {2: ("tom_3",)} if missing_folders is None else missing_folders
    seed = 0
    for drummer in drummers:
        audio = root / f"drummer_{drummer}" / "audio"
        names = [f"{i + 1:03d}_hits_snare-drum_sticks_x6" for i in range(hits)]
        names += [f"{hits + i + 1:03d}_phrase_rock_simple_take{i}_sticks" for i in range(takes)]
        for name in names:
            for mic in ENST_MICS:
                if mic not in missing_folders.get(drummer, ()):
                    write(audio / mic / f"{name}.wav", seed := seed + 1)
            write(audio / "wet_mix" / f"{name}.wav", seed := seed + 1, channels=2)
            write(audio / "dry_mix" / f"{name}.wav", seed := seed + 1, channels=1)
            write(audio / "accompaniment" / f"{name}.wav", seed := seed + 1, channels=2)
            (root / f"drummer_{drummer}" / "annotation").mkdir(parents=True, exist_ok=True)
            (root / f"drummer_{drummer}" / "annotation" / f"{name}.txt").write_text("0.1 bd\n")
    return root


#: song id -> stems as ``(stem label, [(raw label, channels), ...])``.
MEDLEY_SONGS: dict[str, list[tuple[str, list[tuple[str, int]]]]] = {
    "Alpha_One": [
        ("electric bass", [("electric bass", 1)]),
        ("drum set", [("kick drum", 1), ("snare drum", 1), ("drum set", 2)]),
        ("male singer", [("male singer", 1)]),
    ],
    "Beta_Two": [  # 9 raw tracks in 3 stems: over a max_tracks of 4 or 6
        (
            "drum set",
            [
                ("kick drum", 1),
                ("snare drum", 1),
                ("high hat", 1),
                ("toms", 1),
                ("drum set", 2),
                ("drum set", 2),
            ],
        ),
        ("electric bass", [("electric bass", 1), ("electric bass", 1)]),
        ("piano", [("piano", 2)]),
    ],
    **{
        f"Song{i:02d}_Take": [
            ("clean electric guitar", [("clean electric guitar", 1)]),
            ("female singer", [("female singer", 1)]),
        ]
        for i in range(3, 11)
    },
}


def build_medleydb(root: Path, songs: dict | None = None) -> Path:
    """``root/<Song>/<Song>_METADATA.yaml`` + ``_MIX.wav`` + ``_RAW/`` + ``_STEMS/``."""
    songs = MEDLEY_SONGS if songs is None else songs
    seed = 1000
    for song_id, stems in songs.items():
        folder = root / song_id
        meta = {
            "artist": song_id.split("_")[0],
            "title": song_id.split("_")[-1],
            "genre": "Rock",
            "has_bleed": "no",
            "instrumental": "no",
            "mix_filename": f"{song_id}_MIX.wav",
            "raw_dir": f"{song_id}_RAW",
            "stem_dir": f"{song_id}_STEMS",
            "version": 1.2,
            "stems": {},
        }
        for s, (stem_label, raws) in enumerate(stems, start=1):
            stem_file = f"{song_id}_STEM_{s:02d}.wav"
            write(folder / f"{song_id}_STEMS" / stem_file, seed := seed + 1, channels=2)
            entry = {"component": "", "filename": stem_file, "instrument": stem_label, "raw": {}}
            for r, (raw_label, channels) in enumerate(raws, start=1):
                raw_file = f"{song_id}_RAW_{s:02d}_{r:02d}.wav"
                write(folder / f"{song_id}_RAW" / raw_file, seed := seed + 1, channels=channels)
                entry["raw"][f"R{r:02d}"] = {"filename": raw_file, "instrument": raw_label}
            meta["stems"][f"S{s:02d}"] = entry
        write(folder / f"{song_id}_MIX.wav", seed := seed + 1, channels=2)
        (folder / f"{song_id}_METADATA.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
    return root


@pytest.fixture
def enst_root(tmp_path) -> Path:
    return build_enst(tmp_path / "ENST-drums")


@pytest.fixture
def medley_root(tmp_path) -> Path:
    return build_medleydb(tmp_path / "MedleyDB")


@pytest.fixture
def small_medley(tmp_path):
    """A factory: a MedleyDB tree holding only the named songs of :data:`MEDLEY_SONGS`."""

    def make(*song_ids: str) -> Path:
        return build_medleydb(tmp_path / "small", {s: MEDLEY_SONGS[s] for s in song_ids})

    return make


@pytest.fixture
def rewrite():
    """Overwrite one file with new audio: ``rewrite(path, seconds=..., rate=..., channels=...)``."""

    def go(path: Path, seconds: float = SECONDS, rate: int = RATE, channels: int = 1) -> Path:
        return write(path, 99, channels, seconds, rate)

    return go


#: SignalTrain LA2A split folder -> (file number, LA-2A switch, peak reduction) of its pairs.
SIGNALTRAIN_PAIRS = {
    "Train": [(3, 0, 40), (7, 1, 65), (11, 0, 100)],
    "Val": [(20, 0, 55)],
    "Test": [(158, 0, 100), (201, 1, 0)],
}


def build_signaltrain(root: Path, pairs: dict | None = None, rate: int = RATE) -> Path:
    """``root/{Train,Val,Test}/input_<n>_.wav`` + ``target_<n>_LA2A_3c__<switch>__<knob>.wav``, mono."""
    pairs = SIGNALTRAIN_PAIRS if pairs is None else pairs
    for folder, entries in pairs.items():
        for number, switch, knob in entries:
            write(root / folder / f"input_{number}_.wav", 3000 + number, rate=rate)
            write(
                root / folder / f"target_{number}_LA2A_3c__{switch}__{knob}.wav",
                4000 + number,
                rate=rate,
            )
    return root


@pytest.fixture
def signaltrain_root(tmp_path) -> Path:
    return build_signaltrain(tmp_path / "SignalTrain_LA2A_Dataset_1.1")

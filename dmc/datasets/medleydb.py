"""MedleyDB read from its published folders as the paper's "full mixing" task.

MedleyDB (Bittner et al., ISMIR 2014) ships each song as::

    <root>/<Song>/<Song>_METADATA.yaml          stems S01.. with instrument labels, each
                                                with its raw recordings R01..
    <root>/<Song>/<Song>_MIX.wav                the engineer's mix: the target
    <root>/<Song>/<Song>_RAW/<Song>_RAW_NN_MM.wav   raw track MM of stem NN
    <root>/<Song>/<Song>_STEMS/<Song>_STEM_NN.wav   stem NN (its raw tracks, mixed)

The console mixes raw tracks, so those are the inputs; tracks are named
``NN_MM_<instrument label>`` (``03_01_electric_bass``) and get a :data:`dmc.roles.ROLES`
role from :data:`MEDLEYDB_ROLES`, a table over the MedleyDB instrument taxonomy.

Songs can have more raw tracks than a model takes (up to dozens); ``policy`` says what
then happens, see :func:`load_medleydb`. The split is made over every song found, before
the policy is applied, so changing ``max_tracks`` never moves a song between splits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from tqdm import tqdm

from dmc.datasets.base import DatasetError
from dmc.datasets.enst import BadSongError, _check_bad_files, _check_root, _Notes, check_song_files
from dmc.datasets.splits import choose_split
from dmc.multitrack import Song, Track
from dmc.roles import role_from_name

POLICIES = ("stems", "skip", "truncate")

_ROLE_LABELS: dict[str, tuple[str, ...]] = {
    "kick": ("kick drum", "bass drum"),
    "snare": ("snare drum",),
    "hihat": ("high hat", "hi hat", "hi-hat"),
    "tom": ("toms", "tom"),
    "cymbal": ("cymbal", "gong"),
    "drums": ("drum set", "drum machine"),
    "percussion": (
        "auxiliary percussion",
        "tambourine",
        "bongo",
        "conga",
        "darbuka",
        "doumbek",
        "tabla",
        "timpani",
        "gu",
        "triangle",
        "sleigh bells",
        "cowbell",
        "cabasa",
        "guiro",
        "castanet",
        "claps",
        "rattle",
        "shaker",
        "maracas",
        "whistle",
        "chimes",
    ),
    "bass": ("electric bass", "double bass"),
    "guitar": (
        "acoustic guitar",
        "clean electric guitar",
        "distorted electric guitar",
        "lap steel guitar",
        "slide guitar",
        "banjo",
        "mandolin",
        "ukulele",
        "oud",
        "sitar",
        "guzheng",
        "liuqin",
        "zhongruan",
    ),
    "keys": (
        "piano",
        "tack piano",
        "electric piano",
        "electronic organ",
        "pipe organ",
        "harpsichord",
        "harp",
        "dulcimer",
        "yangqin",
        "accordion",
        "concertina",
        "bandoneon",
        "harmonium",
        "melodica",
        "vibraphone",
        "marimba",
        "xylophone",
        "glockenspiel",
    ),
    "synth": ("synthesizer", "theremin"),
    "strings": (
        "violin",
        "viola",
        "cello",
        "erhu",
        "violin section",
        "viola section",
        "cello section",
        "string section",
    ),
    "brass": (
        "trumpet",
        "cornet",
        "trombone",
        "french horn",
        "euphonium",
        "tuba",
        "brass section",
        "french horn section",
        "trombone section",
        "horn section",
        "trumpet section",
    ),
    "woodwind": (
        "flute",
        "flute section",
        "piccolo",
        "bamboo flute",
        "dizi",
        "panpipes",
        "recorder",
        "alto saxophone",
        "baritone saxophone",
        "tenor saxophone",
        "soprano saxophone",
        "clarinet",
        "bass clarinet",
        "clarinet section",
        "oboe",
        "english horn",
        "bassoon",
        "bagpipe",
        "harmonica",
    ),
    "vocals": (
        "male singer",
        "female singer",
        "male speaker",
        "female speaker",
        "male rapper",
        "female rapper",
        "beatboxing",
        "vocalists",
        "choir",
    ),
    "other": ("fx/processed sound", "scratches", "sampler", "crowd", "main system", "unlabeled"),
}

#: MedleyDB instrument label (lower case) -> role. Labels not listed fall back to
#: :func:`dmc.roles.role_from_name`, then ``other``.
MEDLEYDB_ROLES: dict[str, str] = {
    label: role for role, labels in _ROLE_LABELS.items() for label in labels
}


def medleydb_role(label: str | list | None) -> str:
    """The role of a MedleyDB instrument label (or the first telling one of a list)."""
    labels = label if isinstance(label, list) else [label]
    labels = [str(x).strip().lower() for x in labels if x is not None]
    for text in labels:
        if text in MEDLEYDB_ROLES:
            return MEDLEYDB_ROLES[text]
    for text in labels:
        role = role_from_name(text)
        if role is not None:
            return role
    return "other"


@dataclass(frozen=True)
class _Part:
    """One raw track or stem as the YAML describes it."""

    name: str
    label: str
    role: str
    path: Path
    stem_index: int


def load_medleydb(
    root: str | Path,
    split: str,
    max_tracks: int = 16,
    policy: str = "stems",
    seed: int = 42,
    *,
    split_file: str | Path | None = None,
    metadata_dir: str | Path | None = None,
    sample_rate: int | None = None,
    bad_files: str = "raise",
) -> list[Song]:
    """The songs of one split of MedleyDB: raw tracks with roles and the stereo mix.

    Listing reads the YAML files and audio headers only.

    Args:
        root: folder holding one ``<Song>/`` folder per song (``MedleyDB/Audio``; the
            download's top folder ``MedleyDB`` is read through its ``Audio`` folder).
        split: ``train``, ``val``, ``test`` or ``all``.
        max_tracks: most input tracks a song may have.
        policy: for a song with more raw tracks than ``max_tracks``:
            ``stems`` uses its stems instead if they fit (else skips it),
            ``skip`` skips it, ``truncate`` keeps ``max_tracks`` raw tracks taking the
            first raw track of every stem, then the second, ... so every instrument
            stays represented. Skips, fallbacks and truncations are warned once per call.
        seed: shuffle seed of the 80/10/10 split over the sorted song ids.
        split_file: a user split (see :func:`dmc.datasets.splits.read_split_file`);
            entries may be song ids or song folder paths.
        metadata_dir: where ``<Song>_METADATA.yaml`` files live when they are not in
            the song folders (e.g. the ``medleydb`` package's ``data/Metadata``).
        sample_rate: rate of the returned songs (Hz); default the files' own rate.
        bad_files: ``raise`` (default) or ``skip`` a song whose YAML or audio is bad.

    Raises:
        DatasetError: a wrong root or option, or a bad song with ``bad_files="raise"``;
            the message names the file and what was expected.
    """
    root = _check_root(root, "MedleyDB", "<Song>/<Song>_METADATA.yaml folders")
    if policy not in POLICIES:
        raise DatasetError(
            f"unknown max-track policy {policy!r}; choose one of {', '.join(POLICIES)}"
        )
    if not isinstance(max_tracks, int) or max_tracks < 1:
        raise DatasetError(f"max_tracks must be a positive whole number, got {max_tracks!r}")
    _check_bad_files(bad_files)
    songs_found = _find_songs(root, None if metadata_dir is None else Path(metadata_dir))
    ids = choose_split(
        sorted(songs_found), split, seed, split_file, lambda e: Path(e).name, "MedleyDB"
    )

    notes = _Notes("MedleyDB")
    over_limit: list[str] = []
    songs = []
    for song_id in tqdm(ids, desc=f"MedleyDB {split}", unit="song", disable=None, leave=False):
        song_dir, yaml_path = songs_found[song_id]
        try:
            song = _song(
                song_id, song_dir, yaml_path, max_tracks, policy, sample_rate, notes, over_limit
            )
        except BadSongError as exc:
            if bad_files == "raise":
                raise
            notes.skipped.append(str(exc))
            continue
        if song is not None:
            songs.append(song)
    if over_limit:
        notes.other.append(
            f"{len(over_limit)} song(s) have more than {max_tracks} raw tracks (policy={policy!r}): "
            + "; ".join(over_limit[:8])
        )
    notes.emit()
    return songs


def _song(
    song_id, song_dir, yaml_path, max_tracks, policy, sample_rate, notes, over_limit
) -> Song | None:
    meta = _read_yaml(yaml_path)
    raws, stems = _parts(song_id, song_dir, yaml_path, meta)
    parts, source, dropped = raws, "raw", []
    if len(raws) > max_tracks:
        if policy == "stems" and len(stems) <= max_tracks:
            parts, source = stems, "stems"
            over_limit.append(f"{song_id}: {len(raws)} raw, used its {len(stems)} stems")
        elif policy == "truncate":
            parts = _round_robin(raws, max_tracks)
            dropped = [p.name for p in raws if p not in parts]
            source = "raw (truncated)"
            over_limit.append(f"{song_id}: {len(raws)} raw, kept {max_tracks}")
        else:
            reason = f"{len(stems)} stems do not fit either" if policy == "stems" else "skipped"
            over_limit.append(f"{song_id}: {len(raws)} raw, {reason}; skipped")
            return None
    mix_path = song_dir / str(meta.get("mix_filename") or f"{song_id}_MIX.wav")
    files = {"mix": mix_path, **{p.name: p.path for p in parts}}
    for name, path in files.items():  # only the files this song will read must exist
        if not path.is_file():
            raise BadSongError(
                f"{song_id}: {yaml_path} names {path} ({name}), which does not exist"
            )
    checked = check_song_files(song_id, files, reference="mix")
    notes.note_mismatch(song_id, checked)
    rate = sample_rate or checked.sample_rate
    tracks = [Track(p.name, p.role, path=p.path) for p in parts]
    metadata = {
        "dataset": "medleydb",
        "artist": meta.get("artist"),
        "title": meta.get("title"),
        "genre": meta.get("genre"),
        "has_bleed": meta.get("has_bleed") == "yes",
        "instrumental": meta.get("instrumental") == "yes",
        "source": source,
        "labels": {p.name: p.label for p in parts},
        "num_raw_tracks": len(raws),
        "dropped_tracks": dropped,
        "metadata_file": str(yaml_path),
        "file_sample_rate": checked.sample_rate,
    }
    target = Track("mix", "other", path=mix_path)
    return Song(song_id, tracks, rate, checked.num_samples_at(rate), target, metadata)


def _find_songs(root: Path, metadata_dir: Path | None) -> dict[str, tuple[Path, Path]]:
    if metadata_dir is not None and not metadata_dir.is_dir():
        raise DatasetError(
            f"MedleyDB metadata_dir {metadata_dir} is not a folder of <Song>_METADATA.yaml files"
        )
    found = {}
    for song_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        name = f"{song_dir.name}_METADATA.yaml"
        for candidate in (song_dir / name, None if metadata_dir is None else metadata_dir / name):
            if candidate is not None and candidate.is_file():
                found[song_dir.name] = (song_dir, candidate)
                break
    if not found and (root / "Audio").is_dir():
        # The download's top folder (MedleyDB/) given instead of its Audio/ folder: both work.
        return _find_songs(root / "Audio", metadata_dir)
    if not found:
        raise DatasetError(
            f"MedleyDB: no song folders under {root}; expected <Song>/<Song>_METADATA.yaml "
            "there: give --root the folder that holds one folder per song (MedleyDB/Audio); "
            "from Python, metadata_dir= if the YAML files live elsewhere"
        )
    return found


def _read_yaml(path: Path) -> dict:
    try:
        meta = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise BadSongError(f"cannot read MedleyDB metadata {path}: {exc}") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("stems"), dict) or not meta["stems"]:
        raise BadSongError(f"{path}: expected MedleyDB metadata with a 'stems' mapping (S01: ...)")
    return meta


def _parts(
    song_id: str, song_dir: Path, yaml_path: Path, meta: dict
) -> tuple[list[_Part], list[_Part]]:
    """Raw tracks and stems in index order; a stem without raw files stands in for itself.

    Paths are not checked here: a missing stem file only matters if the stems are used.
    """
    raw_dir = song_dir / str(meta.get("raw_dir") or f"{song_id}_RAW")
    stem_dir = song_dir / str(meta.get("stem_dir") or f"{song_id}_STEMS")
    raws, stems = [], []
    for stem_index, stem in _indexed(meta["stems"], "S", yaml_path):
        label = _label(stem.get("instrument"))
        stem_part = _Part(
            f"{stem_index:02d}_{_slug(label)}",
            label,
            medleydb_role(stem.get("instrument")),
            _file(stem_dir, stem, yaml_path, f"stem S{stem_index:02d}"),
            stem_index,
        )
        stems.append(stem_part)
        raw_entries = _indexed(stem.get("raw") or {}, "R", yaml_path)
        if not raw_entries:
            raws.append(stem_part)
        for raw_index, raw in raw_entries:
            raw_label = _label(raw.get("instrument"))
            if raw_label.lower() in ("", "unlabeled"):  # no label of its own: the stem's
                raw_label, role = label, stem_part.role
            else:
                role = medleydb_role(raw.get("instrument"))
            where = f"raw R{raw_index:02d} of stem S{stem_index:02d}"
            raws.append(
                _Part(
                    f"{stem_index:02d}_{raw_index:02d}_{_slug(raw_label)}",
                    raw_label,
                    role,
                    _file(raw_dir, raw, yaml_path, where),
                    stem_index,
                )
            )
    return raws, stems


def _indexed(entries, prefix: str, yaml_path: Path) -> list[tuple[int, dict]]:
    if not isinstance(entries, dict):
        raise BadSongError(
            f"{yaml_path}: expected a mapping of {prefix}01, {prefix}02, ... entries"
        )
    out = []
    for key, value in entries.items():
        match = re.fullmatch(rf"{prefix}(\d+)", str(key))
        if match is None or not isinstance(value, dict):
            raise BadSongError(
                f"{yaml_path}: unexpected entry {key!r}; expected {prefix}01, {prefix}02, ..."
            )
        out.append((int(match.group(1)), value))
    return sorted(out, key=lambda item: item[0])


def _file(folder: Path, entry: dict, yaml_path: Path, where: str) -> Path:
    filename = entry.get("filename")
    if not filename:
        raise BadSongError(f"{yaml_path}: {where} has no filename")
    return folder / str(filename)


def _round_robin(parts: list[_Part], count: int) -> list[_Part]:
    """First raw track of every stem, then every second one, ... until ``count``; index order."""
    by_stem: dict[int, list[_Part]] = {}
    for part in parts:
        by_stem.setdefault(part.stem_index, []).append(part)
    chosen: list[_Part] = []
    depth = 0
    while len(chosen) < count:
        chosen += [group[depth] for group in by_stem.values() if depth < len(group)][
            : count - len(chosen)
        ]
        depth += 1
    return [p for p in parts if p in chosen]


def _label(instrument) -> str:
    if isinstance(instrument, list):
        instrument = instrument[0] if instrument else ""
    return str(instrument or "").strip()


def _slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_") or "track"

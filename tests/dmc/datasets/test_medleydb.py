import json
import warnings

import numpy as np
import pytest
import yaml

from dmc.audio import read_audio
from dmc.datasets import DatasetError, load_songs
from dmc.datasets.medleydb import MEDLEYDB_ROLES, load_medleydb, medleydb_role
from dmc.roles import ROLES

RATE = 8000


def _quiet(root, split="all", **options):
    """Load and fail on any warning (the default tree fits 16 tracks)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return load_medleydb(root, split, **options)


def _song(songs, song_id):
    return next(s for s in songs if s.song_id == song_id)


def test_raw_tracks_names_roles_and_target(medley_root):
    songs = _quiet(medley_root)
    assert len(songs) == 10
    song = _song(songs, "Alpha_One")
    assert song.track_names == [
        "01_01_electric_bass",
        "02_01_kick_drum",
        "02_02_snare_drum",
        "02_03_drum_set",
        "03_01_male_singer",
    ]
    assert song.roles == ["bass", "kick", "snare", "drums", "vocals"]
    assert (
        song.tracks[3].path
        == medley_root / "Alpha_One" / "Alpha_One_RAW" / "Alpha_One_RAW_02_03.wav"
    )
    assert song.target.path == medley_root / "Alpha_One" / "Alpha_One_MIX.wav"
    assert song.sample_rate == RATE and song.num_samples == RATE
    assert (
        song.metadata["source"] == "raw"
        and song.metadata["labels"]["02_01_kick_drum"] == "kick drum"
    )
    assert song.metadata["artist"] == "Alpha" and song.metadata["has_bleed"] is False


def test_stereo_raw_track_is_averaged_for_the_console(medley_root):
    song = _song(_quiet(medley_root), "Alpha_One")
    assert song.tracks[3].num_channels == 2 and song.tracks[0].num_channels == 1
    stereo, _ = read_audio(song.tracks[3].path)
    tracks = song.track_audio()
    assert tracks.shape == (5, RATE)
    np.testing.assert_allclose(tracks[3], stereo.mean(axis=0), atol=1e-7)
    assert song.track_audio(mono=False).shape == (5, 2, RATE)
    mix, _ = read_audio(song.target.path)
    np.testing.assert_array_equal(song.target_audio(), mix)


def test_policy_stems_falls_back_to_stems(medley_root):
    with pytest.warns(
        UserWarning,
        match=r"1 song\(s\) have more than 6 raw tracks.*Beta_Two: 9 raw, used its 3 stems",
    ):
        songs = load_medleydb(medley_root, "all", max_tracks=6)
    song = _song(songs, "Beta_Two")
    assert song.track_names == ["01_drum_set", "02_electric_bass", "03_piano"]
    assert song.roles == ["drums", "bass", "keys"] and song.metadata["source"] == "stems"
    assert song.tracks[0].path.parent.name == "Beta_Two_STEMS"
    assert len(_song(songs, "Alpha_One").tracks) == 5  # fits: raw tracks


def test_policy_stems_skips_when_stems_do_not_fit_either(medley_root):
    with pytest.warns(UserWarning, match="Beta_Two: 9 raw, 3 stems do not fit either; skipped"):
        songs = load_medleydb(medley_root, "all", max_tracks=2)
    assert "Beta_Two" not in [s.song_id for s in songs] and "Alpha_One" not in [
        s.song_id for s in songs
    ]
    assert len(songs) == 8


def test_policy_skip(medley_root):
    with pytest.warns(UserWarning, match="Beta_Two: 9 raw, skipped"):
        songs = load_medleydb(medley_root, "all", max_tracks=6, policy="skip")
    assert [s.song_id for s in songs if s.song_id.startswith(("Alpha", "Beta"))] == ["Alpha_One"]


def test_policy_truncate_keeps_every_instrument(medley_root):
    with pytest.warns(UserWarning, match="Beta_Two: 9 raw, kept 5"):
        songs = load_medleydb(medley_root, "all", max_tracks=5, policy="truncate")
    song = _song(songs, "Beta_Two")
    # first raw of every stem, then the second ones, in index order
    assert song.track_names == [
        "01_01_kick_drum",
        "01_02_snare_drum",
        "02_01_electric_bass",
        "02_02_electric_bass",
        "03_01_piano",
    ]
    assert song.metadata["dropped_tracks"] == [
        "01_03_high_hat",
        "01_04_toms",
        "01_05_drum_set",
        "01_06_drum_set",
    ]
    assert song.metadata["num_raw_tracks"] == 9 and song.metadata["source"] == "raw (truncated)"


def test_split_is_deterministic_disjoint_and_independent_of_max_tracks(medley_root):
    parts = {k: [s.song_id for s in _quiet(medley_root, k)] for k in ("train", "val", "test")}
    assert [len(parts[k]) for k in ("train", "val", "test")] == [8, 1, 1]
    assert len(set().union(*parts.values())) == 10
    assert parts == {k: [s.song_id for s in _quiet(medley_root, k)] for k in parts}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        skipped = {
            k: [s.song_id for s in load_medleydb(medley_root, k, max_tracks=6, policy="skip")]
            for k in parts
        }
    assert {k: [i for i in v if i != "Beta_Two"] for k, v in parts.items()} == skipped
    assert {k: [s.song_id for s in _quiet(medley_root, k, seed=3)] for k in parts} != parts


def test_split_file_json_and_csv(medley_root, tmp_path):
    ids = sorted(p.name for p in medley_root.iterdir())
    (tmp_path / "split.json").write_text(
        json.dumps({"train": ids[2:], "val": [ids[0]], "test": [ids[1]]})
    )
    assert [s.song_id for s in _quiet(medley_root, "test", split_file=tmp_path / "split.json")] == [
        ids[1]
    ]
    lines = [f"train,{medley_root / i}" for i in ids[1:]] + [f"test {ids[0]}", "test,Missing_Song"]
    (tmp_path / "split.csv").write_text("\n".join(lines))
    with pytest.warns(
        UserWarning,
        match=r"1 id\(s\) in split file .* match no song found here \(first: Missing_Song\)",
    ):
        test = load_medleydb(medley_root, "test", split_file=tmp_path / "split.csv")
    assert [s.song_id for s in test] == [ids[0]]
    (tmp_path / "twice.json").write_text(json.dumps({"train": [ids[0]], "test": [ids[0]]}))
    with pytest.raises(DatasetError, match=f"'{ids[0]}' is in both train and test"):
        load_medleydb(medley_root, "test", split_file=tmp_path / "twice.json")
    with pytest.raises(DatasetError, match="cannot read split file"):
        load_medleydb(medley_root, "test", split_file=tmp_path / "nope.csv")


def test_metadata_dir_holds_the_yaml(small_medley, tmp_path):
    root = small_medley("Alpha_One")
    meta_dir = tmp_path / "Metadata"
    meta_dir.mkdir()
    (root / "Alpha_One" / "Alpha_One_METADATA.yaml").rename(meta_dir / "Alpha_One_METADATA.yaml")
    with pytest.raises(DatasetError, match="no song folders under .*metadata_dir= if the YAML"):
        load_medleydb(root, "all")
    songs = _quiet(root, metadata_dir=meta_dir)
    assert songs[0].metadata["metadata_file"] == str(meta_dir / "Alpha_One_METADATA.yaml")


def test_the_downloads_top_folder_is_read_through_its_audio_folder(small_medley, tmp_path):
    """``--root /data/MedleyDB`` (the download) and ``--root /data/MedleyDB/Audio`` both work."""
    audio = small_medley("Alpha_One")
    top = tmp_path / "MedleyDB"
    top.mkdir()
    audio.rename(top / "Audio")
    assert [s.song_id for s in _quiet(top)] == [s.song_id for s in _quiet(top / "Audio")]
    (tmp_path / "Empty" / "Audio").mkdir(parents=True)
    with pytest.raises(
        DatasetError, match=r"give --root the folder that holds one folder per song"
    ):
        load_medleydb(tmp_path / "Empty", "all")


def test_label_table_covers_the_taxonomy_with_valid_roles():
    assert set(MEDLEYDB_ROLES.values()) <= set(ROLES)
    taxonomy = [
        "erhu",
        "double bass",
        "string section",
        "acoustic guitar",
        "banjo",
        "harp",
        "piano",
        "tack piano",
        "flute",
        "piccolo",
        "tenor saxophone",
        "bassoon",
        "trumpet",
        "horn section",
        "harmonica",
        "accordion",
        "male singer",
        "female rapper",
        "vocalists",
        "high hat",
        "cymbal",
        "shaker",
        "vibraphone",
        "timpani",
        "toms",
        "snare drum",
        "kick drum",
        "bass drum",
        "tambourine",
        "tabla",
        "drum set",
        "clean electric guitar",
        "lap steel guitar",
        "electric bass",
        "drum machine",
        "electric piano",
        "synthesizer",
        "fx/processed sound",
        "Main System",
        "Unlabeled",
    ]
    roles = {label: medleydb_role(label) for label in taxonomy}
    assert all(label.lower() in MEDLEYDB_ROLES for label in taxonomy)
    others = [label for label, role in roles.items() if role == "other"]
    assert others == ["fx/processed sound", "Main System", "Unlabeled"]
    picked = (roles["double bass"], roles["bass drum"], roles["high hat"], roles["tack piano"])
    assert picked == ("bass", "kick", "hihat", "keys")
    # labels outside the table: the role words they contain, else "other"; lists use the first telling label
    assert medleydb_role("Rhodes Piano 2") == "keys" and medleydb_role("mystery box") == "other"
    assert (
        medleydb_role(["mystery box", "male singer"]) == "vocals" and medleydb_role(None) == "other"
    )


def test_unlabeled_raw_inherits_its_stem(small_medley):
    root = small_medley("Alpha_One")
    path = root / "Alpha_One" / "Alpha_One_METADATA.yaml"
    meta = yaml.safe_load(path.read_text())
    meta["stems"]["S03"]["raw"]["R01"]["instrument"] = "Unlabeled"
    meta["stems"]["S01"]["raw"]["R01"]["instrument"] = ["electric bass", "fx/processed sound"]
    path.write_text(yaml.safe_dump(meta))
    song = _quiet(root)[0]
    assert song.track_names[-1] == "03_01_male_singer" and song.roles[-1] == "vocals"
    assert song.track_names[0] == "01_01_electric_bass" and song.roles[0] == "bass"


def test_load_songs_plugs_in(medley_root):
    songs = load_songs("medleydb", "full", "train", root=medley_root)
    assert len(songs) == 8 and all(s.metadata["dataset"] == "medleydb" for s in songs)


@pytest.mark.parametrize(
    "setup,match",
    [
        (lambda root: root / "missing", r"MedleyDB root .*missing is not a folder"),
        (
            lambda root: (root / "Loose").mkdir() or root,
            r"no song folders under .*expected <Song>/<Song>_METADATA.yaml",
        ),
    ],
)
def test_wrong_roots(tmp_path, setup, match):
    root = tmp_path / "db"
    root.mkdir()
    with pytest.raises(DatasetError, match=match):
        load_medleydb(setup(root), "all")


def test_bad_options(medley_root):
    with pytest.raises(DatasetError, match="unknown max-track policy 'loudest'"):
        load_medleydb(medley_root, "all", policy="loudest")
    with pytest.raises(DatasetError, match="max_tracks must be a positive whole number, got 0"):
        load_medleydb(medley_root, "all", max_tracks=0)
    with pytest.raises(DatasetError, match="unknown split 'holdout'"):
        load_medleydb(medley_root, "holdout")


def test_yaml_naming_a_missing_file(small_medley):
    root = small_medley("Alpha_One", "Song03_Take")
    (root / "Alpha_One" / "Alpha_One_RAW" / "Alpha_One_RAW_02_02.wav").unlink()
    expected = (
        r"Alpha_One_METADATA.yaml names .*RAW_02_02.wav \(02_02_snare_drum\), which does not exist"
    )
    with pytest.raises(DatasetError, match=expected):
        load_medleydb(root, "all")
    with pytest.warns(UserWarning, match=r"skipped 1 song\(s\) with bad files"):
        songs = load_medleydb(root, "all", bad_files="skip")
    assert [s.song_id for s in songs] == ["Song03_Take"]


def test_missing_stem_file_only_matters_when_stems_are_used(small_medley):
    root = small_medley("Alpha_One")
    (root / "Alpha_One" / "Alpha_One_STEMS" / "Alpha_One_STEM_01.wav").unlink()
    assert len(_quiet(root)[0].tracks) == 5
    with pytest.raises(DatasetError, match="Alpha_One_STEM_01.wav.*does not exist"):
        load_medleydb(root, "all", max_tracks=3)


@pytest.mark.parametrize(
    "text,match",
    [
        ("stems: [unclosed\n", "cannot read MedleyDB metadata .*Alpha_One_METADATA.yaml"),
        ("artist: x\n", "expected MedleyDB metadata with a 'stems' mapping"),
        ("stems:\n  Drums:\n    filename: a.wav\n", "unexpected entry 'Drums'; expected S01"),
    ],
)
def test_bad_yaml(small_medley, text, match):
    root = small_medley("Alpha_One")
    (root / "Alpha_One" / "Alpha_One_METADATA.yaml").write_text(text)
    with pytest.raises(DatasetError, match=match):
        load_medleydb(root, "all")


def test_mismatched_sample_rate_corrupt_file_and_lengths(small_medley, rewrite):
    root = small_medley("Alpha_One")
    raw_dir = root / "Alpha_One" / "Alpha_One_RAW"
    rewrite(raw_dir / "Alpha_One_RAW_01_01.wav", seconds=(RATE + 5) / RATE)
    with pytest.warns(UserWarning, match=r"Alpha_One \(01_01_electric_bass; up to \+5 samples\)"):
        song = load_medleydb(root, "all")[0]
    assert song.num_samples == RATE and song.track_audio().shape == (5, RATE)
    rewrite(raw_dir / "Alpha_One_RAW_01_01.wav", seconds=0.5)
    with pytest.raises(
        DatasetError, match=r"RAW_01_01.wav has 4000 samples but .*_MIX.wav has 8000 \(-0.500 s\)"
    ):
        load_medleydb(root, "all")
    rewrite(raw_dir / "Alpha_One_RAW_01_01.wav", rate=44100)
    with pytest.raises(
        DatasetError, match=r"RAW_01_01.wav is at 44100 Hz but .*_MIX.wav is at 8000 Hz"
    ):
        load_medleydb(root, "all")
    (raw_dir / "Alpha_One_RAW_01_01.wav").write_bytes(b"\x00" * 64)
    with pytest.raises(
        DatasetError, match=r"cannot read audio file .*RAW_01_01.wav.*expected a readable WAV"
    ):
        load_medleydb(root, "all")

"""``python -m dmc.datasets export-song``: one song as a folder that ``dmc.mix`` reads as it is."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from dmc.audio import read_audio, write_audio
from dmc.datasets.__main__ import main
from dmc.datasets.demo import load_demo


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("DMC_CACHE_DIR", str(folder))
    return folder


def test_a_demo_song_is_written_as_role_named_tracks_and_a_reference(cache, tmp_path, capsys):
    out = tmp_path / "song"
    argv = ["export-song", str(out), "--task", "drums", "--seconds", "2", "--start", "1"]
    assert main(argv) == 0
    (song,) = load_demo("drums", "test", cache_dir=cache, num_songs=1, workers=0)
    names = [*song.track_names, "mix"]
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{n}.wav" for n in names)
    excerpt = song.excerpt(44100, 2 * 44100)
    for track in excerpt.tracks:
        audio, rate = read_audio(out / f"{track.name}.wav")
        assert rate == 44100 and sf.info(str(out / f"{track.name}.wav")).subtype == "PCM_24"
        np.testing.assert_allclose(audio, track.audio, atol=1e-6)
    np.testing.assert_allclose(read_audio(out / "mix.wav")[0], excerpt.target.audio, atol=1e-6)
    assert capsys.readouterr().out == (
        f"wrote 8 tracks and the reference (mix.wav) of demo-drums-test-000 (2.0 s) to {out}\n"
    )
    # only the song asked for was generated
    assert [p.name for p in (cache / "demo-v1" / "drums" / "test").iterdir()] == [song.song_id]


def test_a_song_by_id_from_a_folder_dataset_and_a_smoke_excerpt(tmp_path, monkeypatch, capsys):
    root = tmp_path / "mine"
    rng = np.random.default_rng(0)
    for name in ("kick", "bass", "mix"):
        write_audio(root / "tune" / f"{name}.wav", 0.1 * rng.standard_normal(6 * 44100), 44100)
    monkeypatch.setenv("DMC_SMOKE", "1")
    out = tmp_path / "out"
    argv = ["export-song", str(out), "--data", "folder", "--root", str(root), "--song", "tune"]
    assert main(argv) == 0
    assert sorted(p.name for p in out.iterdir()) == ["bass.wav", "kick.wav", "mix.wav"]
    assert sf.info(str(out / "kick.wav")).frames == 4 * 44100
    assert "note: DMC_SMOKE is set: the first 4 s only" in capsys.readouterr().err
    # a second export of the same song into the same folder replaces it
    assert main(argv) == 0


def test_bad_input_is_one_line_and_exit_status_2(cache, tmp_path, capsys):
    occupied = tmp_path / "occupied"
    write_audio(occupied / "vocals.wav", np.zeros(100, dtype=np.float32), 44100)
    (tmp_path / "file.wav").write_bytes(b"")
    load_demo("drums", "test", num_songs=1, workers=0)  # generated here, not in a case below
    capsys.readouterr()
    cases = {
        "--song 5: demo drums/test holds songs 0 to 4": ["--task", "drums", "--song", "5"],
        "already holds other audio files (vocals.wav)": ["--task", "drums", "--out-dir"],
        "is a file; give a folder": ["--task", "drums", "--out-file"],
        "--start 99 s is past the end of demo-drums-test-000": ["--task", "drums", "--start", "99"],
        "invalid choice: 'dev'": ["--split", "dev"],
    }
    for message, options in cases.items():
        out = {"--out-dir": occupied, "--out-file": tmp_path / "file.wav"}.get(
            options[-1], tmp_path / "new"
        )
        options = [o for o in options if not o.startswith("--out-")]
        try:
            code = main(["export-song", str(out), *options])
        except SystemExit as exit:  # argparse's usage errors
            code = exit.code
        err = capsys.readouterr().err.strip()
        assert code == 2 and message in err and len(err.splitlines()) == 1, (message, err)
        assert not (tmp_path / "new").exists()

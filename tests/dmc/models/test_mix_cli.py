import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from dmc.audio import db_to_gain, difference_db, read_audio, write_audio
from dmc.checkpoint import save_model
from dmc.mix import main
from dmc.stereo_image import pan_from_text, pan_to_text

PROG = "python -m dmc.mix"
needs_ffmpeg = pytest.mark.skipif(
    shutil.which("ffmpeg") is None, reason="ffmpeg is not installed (apt-get install ffmpeg)"
)


@pytest.fixture
def song_dir(tmp_path, make_drums):
    """Four tracks: mono and stereo, WAV and FLAC, 44.1 and 48 kHz, one name without a role."""
    folder = tmp_path / "song"
    folder.mkdir()
    write_audio(folder / "03_kick_in.wav", make_drums(1.0, seed=1), 44100)
    write_audio(
        folder / "overhead_L.flac",
        np.stack([make_drums(1.0, seed=2), make_drums(1.0, seed=3)]),
        44100,
    )
    write_audio(
        folder / "Bass DI.wav", 0.1 * np.sin(np.arange(44100) * 2 * np.pi * 55 / 44100), 44100
    )
    write_audio(folder / "track7.wav", make_drums(0.9, 48000, seed=4), 48000)  # shorter, other rate
    return folder


def _chord(seconds: float, rate: int) -> np.ndarray:
    """A stereo chord (what a lossy codec keeps well), ``(2, samples)``."""
    t = np.arange(int(seconds * rate)) / rate
    left = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6)) / 3
    return 0.3 * np.stack([left, 0.8 * left]).astype(np.float32)


@pytest.fixture
def encoded_song(tmp_path, make_drums):
    """A folder as an engineer gets it: kick.wav (mono, 44.1 kHz), snare.flac (mono, 48 kHz),
    bass.mp3 (stereo, 22.05 kHz, libsndfile's MP3 encoder) and vocals.m4a (stereo AAC,
    48 kHz, encoded by ffmpeg: only ffmpeg reads it), and a text file to ignore."""
    folder = tmp_path / "encoded"
    folder.mkdir()
    write_audio(folder / "kick.wav", make_drums(1.0, 44100, seed=1), 44100)
    write_audio(folder / "snare.flac", make_drums(1.0, 48000, seed=2), 48000)
    bass = 0.2 * np.sin(np.arange(22050) * 2 * np.pi * 55 / 22050)
    sf.write(folder / "bass.mp3", np.stack([bass, bass], axis=1), 22050, format="MP3")
    write_audio(tmp_path / "vocals.wav", _chord(1.0, 48000), 48000)
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(tmp_path / "vocals.wav"),
         "-c:a", "aac", "-b:a", "192k", str(folder / "vocals.m4a")],
        check=True, timeout=60,
    )  # fmt: skip
    (folder / "notes.txt").write_text("take 3")
    return folder


@pytest.fixture
def checkpoints(tiny, tmp_path):
    return {
        task: save_model(tmp_path / f"console_{task}.pt", tiny.console(task))
        for task in ("drums", "full")
    }


def _mix(song_dir, task, checkpoint, out, *options) -> int:
    """``python -m dmc.mix SONG_DIR --task T --checkpoint C --out OUT [options]``, in process."""
    argv = [str(song_dir), "--task", task, "--checkpoint", str(checkpoint), "--out", str(out)]
    return main(argv + [str(o) for o in options])


def test_mix_writes_a_wav_of_the_tracks_length_and_readable_parameters(
    song_dir, checkpoints, tmp_path, capsys
):
    out, params = tmp_path / "mix.wav", tmp_path / "params.json"
    assert (
        _mix(song_dir, "full", checkpoints["full"], out, "--params", params, "--device", "cpu") == 0
    )
    info = sf.info(str(out))
    assert (info.channels, info.samplerate, info.frames) == (
        2,
        44100,
        44100,
    )  # the majority rate, longest track
    document = json.loads(params.read_text())
    tracks = {t["file"]: t for t in document["tracks"]}
    assert set(tracks) == {"03_kick_in.wav", "overhead_L.flac", "Bass DI.wav", "track7.wav"}
    assert [tracks[f]["role"] for f in ("03_kick_in.wav", "overhead_L.flac", "Bass DI.wav")] == [
        "kick",
        "overhead",
        "bass",
    ]
    assert tracks["track7.wav"]["role_source"] == "encoder"
    first = tracks["03_kick_in.wav"]["params"]
    assert document["units"]["comp_attack_ms"] == "ms" and "eq_band2_freq_hz" in first
    assert first["pan"] == "C" or first["pan"][0] in "LR"
    assert "mix.wav" in capsys.readouterr().out


def test_edited_parameters_render_through_tcn_and_chain(song_dir, checkpoints, tmp_path):
    params = tmp_path / "params.json"
    _mix(song_dir, "drums", checkpoints["drums"], tmp_path / "a.wav", "--params", params)
    document = json.loads(params.read_text())
    for entry in document["tracks"]:
        entry["params"] = {"gain_db": 0.0, "pan": "L100"}
    kick = next(t for t in document["tracks"] if t["file"] == "03_kick_in.wav")
    kick["params"] = {"gain_db": -6.0, "pan": "R100"}  # alone on the right, 6 dB down
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(document))
    renders = {}
    for renderer in ("tcn", "chain"):
        out = tmp_path / f"{renderer}.wav"
        options = ("--from-params", edited, "--renderer", renderer)
        assert _mix(song_dir, "drums", checkpoints["drums"], out, *options) == 0
        renders[renderer], _ = read_audio(out)
    source, _ = read_audio(song_dir / "03_kick_in.wav")
    expected_right = source[0] * db_to_gain(kick["staging_gain_db"] - 6.0)
    np.testing.assert_allclose(renders["chain"][1], expected_right, atol=2e-4)
    np.testing.assert_allclose(
        renders["tcn"], renders["chain"], atol=1e-4
    )  # gain and pan need no proxy


def test_the_exact_renderer_equals_the_chain_for_any_parameters(song_dir, checkpoints, tmp_path):
    """--renderer dsp renders strong settings as the real chain does, from a TCN console's file."""
    params = tmp_path / "params.json"
    _mix(song_dir, "full", checkpoints["full"], tmp_path / "a.wav", "--params", params)
    document = json.loads(params.read_text())
    rng = np.random.default_rng(0)
    for entry in document["tracks"]:
        entry["params"] |= {
            "comp_ratio": float(rng.uniform(3, 8)),
            "comp_threshold_db": float(rng.uniform(-40, -20)),
            "reverb_wet": float(rng.uniform(0.2, 0.6)),
            "eq_band2_gain_db": float(rng.uniform(-9, 9)),
        }
    edited = tmp_path / "strong.json"
    edited.write_text(json.dumps(document))
    renders = {}
    for renderer in ("chain", "dsp"):
        out = tmp_path / f"{renderer}.wav"
        options = ("--from-params", edited, "--renderer", renderer)
        assert _mix(song_dir, "full", checkpoints["full"], out, *options) == 0
        renders[renderer], _ = read_audio(out)
    assert difference_db(renders["dsp"], renders["chain"]) < -25


def test_a_dsp_console_mixes_whole_tracks_and_sets_the_whole_strip(song_dir, tiny, tmp_path):
    """A drums console with the exact effects controls every strip setting, and its own
    render equals the exact renderer's and the chain's on its parameters."""
    checkpoint = save_model(tmp_path / "dsp_drums.pt", tiny.console("drums", effects="dsp"))
    params = tmp_path / "params.json"
    out = tmp_path / "console.wav"
    assert _mix(song_dir, "drums", checkpoint, out, "--params", params) == 0
    document = json.loads(params.read_text())
    assert "comp_ratio" in document["tracks"][0]["params"]  # the whole strip, on drums
    console, _ = read_audio(out)
    for renderer in ("chain", "dsp"):
        other = tmp_path / f"{renderer}.wav"
        options = ("--from-params", params, "--renderer", renderer)
        assert _mix(song_dir, "drums", checkpoint, other, *options) == 0
        rendered, _ = read_audio(other)
        assert difference_db(rendered, console) < -40, (
            renderer
        )  # the file rounds settings to 3 decimals
    assert _mix(song_dir, "drums", checkpoint, tmp_path / "x.wav", "--renderer", "tcn") == 2


def test_settings_a_console_cannot_play_are_an_error(song_dir, checkpoints, tmp_path, capsys):
    """An EQ edited into a drums (gain/pan) TCN console's file is refused, not dropped."""
    params = tmp_path / "params.json"
    _mix(song_dir, "drums", checkpoints["drums"], tmp_path / "a.wav", "--params", params)
    document = json.loads(params.read_text())
    document["tracks"][0]["params"]["eq_band1_gain_db"] = 6.0
    edited = tmp_path / "eq.json"
    edited.write_text(json.dumps(document))
    options = ("--from-params", edited, "--renderer", "console")
    assert _mix(song_dir, "drums", checkpoints["drums"], tmp_path / "b.wav", *options) == 2
    error = capsys.readouterr().err
    assert "eq_band1_gain_db" in error and "--renderer chain or dsp" in error
    options = ("--from-params", edited, "--renderer", "dsp")
    assert _mix(song_dir, "drums", checkpoints["drums"], tmp_path / "c.wav", *options) == 0


@needs_ffmpeg
def test_every_format_of_a_folder_song_is_mixed_with_a_note_per_converted_track(
    encoded_song, checkpoints, tmp_path, capsys
):
    """MP3 and M4A tracks are mixed, not dropped; each track downmixed or resampled says
    so, and the output rate is named with its reason (2 of 4 tracks are at 48 kHz)."""
    out, params = tmp_path / "mix.wav", tmp_path / "params.json"
    assert _mix(encoded_song, "full", checkpoints["full"], out, "--params", params) == 0
    captured = capsys.readouterr()
    assert f"mixed 4 tracks (full) -> {out}" in captured.out
    files = [t["file"] for t in json.loads(params.read_text())["tracks"]]
    assert files == ["bass.mp3", "kick.wav", "snare.flac", "vocals.m4a"]
    why = "(a console channel is mono, 44.1 kHz)"
    assert captured.err.splitlines() == [
        f"{PROG}: note: bass.mp3: 2 channels averaged to mono and resampled from 22050 Hz "
        f"to 44100 Hz {why}",
        f"{PROG}: note: snare.flac: resampled from 48000 Hz to 44100 Hz {why}",
        f"{PROG}: note: vocals.m4a: 2 channels averaged to mono and resampled from 48000 Hz "
        f"to 44100 Hz {why}",
        f"{PROG}: note: the tracks have different sample rates (22050 Hz: bass.mp3; "
        "44100 Hz: kick.wav; 48000 Hz: snare.flac, vocals.m4a); the mix is written at "
        "48000 Hz, the rate of 2 of the 4 tracks (--sample-rate HZ to choose)",
    ]
    info = sf.info(str(out))
    assert (info.channels, info.samplerate) == (2, 48000)
    assert 48000 <= info.frames <= 48000 + 2048  # 1 s; a lossy codec pads its last frame


@needs_ffmpeg
def test_a_decoded_track_is_heard_in_the_mix(encoded_song, checkpoints, tmp_path):
    """Through the real chain, with vocals.m4a alone on the right: the right channel is the
    decoded AAC (downmixed, at 48 kHz), not silence and not another track."""
    params = tmp_path / "params.json"
    _mix(encoded_song, "drums", checkpoints["drums"], tmp_path / "a.wav", "--params", params)
    document = json.loads(params.read_text())
    for entry in document["tracks"]:
        entry["params"] = {"pan": "R100" if entry["file"] == "vocals.m4a" else "L100"}
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(document))
    out = tmp_path / "vocals_right.wav"
    options = ("--from-params", edited, "--renderer", "chain")
    assert _mix(encoded_song, "drums", checkpoints["drums"], out, *options) == 0
    right = read_audio(out)[0][1]
    source = _chord(1.0, 48000).mean(axis=0)
    start, stop = 2400, 45600  # away from the codec's and the resamplers' edges
    correlation = np.corrcoef(right[start:stop], source[start:stop])[0, 1]
    assert correlation > 0.99


@pytest.mark.parametrize(
    "extra, rate, reason",
    [
        ([], 48000, "the highest of the rates most tracks share (44100 and 48000 Hz, 1 each)"),
        (["--sample-rate", "22050"], 22050, None),
    ],
)
def test_tied_rates_take_the_highest_and_say_so_and_sample_rate_chooses(
    tmp_path, make_drums, checkpoints, capsys, extra, rate, reason
):
    folder = tmp_path / "tie"
    folder.mkdir()
    write_audio(folder / "kick.wav", make_drums(0.5, 44100, seed=1), 44100)
    write_audio(folder / "snare.wav", make_drums(0.5, 48000, seed=2), 48000)
    out = tmp_path / "mix.wav"
    assert _mix(folder, "drums", checkpoints["drums"], out, *extra) == 0
    assert sf.info(str(out)).samplerate == rate
    rate_notes = [
        line for line in capsys.readouterr().err.splitlines() if "the mix is written" in line
    ]
    assert rate_notes == ([] if reason is None else [rate_notes[0]])
    if reason is not None:
        assert rate_notes[0].endswith(f"at 48000 Hz, {reason} (--sample-rate HZ to choose)")


@pytest.mark.parametrize("rate", ["44.1k", "100", "400000"])
def test_a_bad_sample_rate_is_one_line_and_exit_2(song_dir, rate, capsys):
    with pytest.raises(SystemExit) as exited:
        main([str(song_dir), "--sample-rate", rate])
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--sample-rate" in err, err


@pytest.mark.parametrize("reference", ["mix.wav", "target.flac", "MIX.WAV"])
def test_a_reference_mix_in_the_folder_is_left_out_and_named(
    reference, song_dir, checkpoints, tmp_path, capsys
):
    write_audio(song_dir / reference, np.ones((2, 44100), dtype=np.float32) * 0.5, 44100)
    write_audio(song_dir / ".hidden.wav", np.ones(44100, dtype=np.float32) * 0.5, 44100)
    params = tmp_path / "params.json"
    assert (
        _mix(song_dir, "drums", checkpoints["drums"], tmp_path / "a.wav", "--params", params) == 0
    )
    files = [t["file"] for t in json.loads(params.read_text())["tracks"]]
    assert sorted(files) == sorted(
        ["03_kick_in.wav", "overhead_L.flac", "Bass DI.wav", "track7.wav"]
    )
    notes = capsys.readouterr().err.splitlines()
    assert notes[0] == f"{PROG}: note: left out {reference}: a reference mix, not a track"
    assert not any(reference in line for line in notes[1:])  # the rest: converted tracks


def test_the_chain_renderer_without_a_parameters_file_renders_the_consoles_parameters(
    song_dir, checkpoints, tmp_path
):
    """--renderer chain is never ignored: the console's own parameters go through the real chain."""
    params = tmp_path / "params.json"
    tcn, chain, again = (tmp_path / f"{name}.wav" for name in ("tcn", "chain", "again"))
    assert _mix(song_dir, "full", checkpoints["full"], tcn, "--params", params) == 0
    assert _mix(song_dir, "full", checkpoints["full"], chain, "--renderer", "chain") == 0
    options = ("--from-params", params, "--renderer", "chain")
    assert _mix(song_dir, "full", checkpoints["full"], again, *options) == 0
    chain_audio, tcn_audio = read_audio(chain)[0], read_audio(tcn)[0]

    def relative_error(audio):
        return np.sqrt(np.mean((audio - chain_audio) ** 2) / np.mean(chain_audio**2))

    assert relative_error(read_audio(again)[0]) < 0.01  # the same parameters, rounded in the file
    assert relative_error(tcn_audio) > 0.1  # a random tiny TCN is no chain


@pytest.mark.parametrize(
    "text, pan", [("C", 0.5), ("L100", 0.0), ("R100", 1.0), ("l 50%", 0.25), (0.8, 0.8)]
)
def test_pan_text_round_trips(text, pan):
    assert pan_from_text(text) == pytest.approx(pan)
    assert pan_from_text(pan_to_text(pan)) == pytest.approx(pan)


def test_bad_inputs_give_one_clear_line_and_a_nonzero_exit(tmp_path, song_dir, checkpoints, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = {
        "no audio tracks": [str(empty), "--task", "drums"],
        "unknown task 'piano'": [str(song_dir), "--task", "piano"],
        "song folder not found": [str(tmp_path / "nowhere")],
        "is a file; give the folder that holds the song's tracks": [
            str(song_dir / "03_kick_in.wav")
        ],
        "checkpoint not found": [
            str(song_dir),
            "--task",
            "drums",
            "--checkpoint",
            str(tmp_path / "x.pt"),
        ],
    }
    for message, argv in cases.items():
        assert main(argv) == 2, message
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1, err
    (song_dir / "broken.wav").write_bytes(b"RIFF....WAVEjunk")
    assert main([str(song_dir), "--task", "drums", "--checkpoint", str(checkpoints["drums"])]) == 2
    err = capsys.readouterr().err.strip()
    assert "broken.wav" in err and len(err.splitlines()) == 1


def test_bad_pan_in_edited_file_names_track_and_value(song_dir, checkpoints, tmp_path, capsys):
    params = tmp_path / "p.json"
    _mix(song_dir, "drums", checkpoints["drums"], tmp_path / "a.wav", "--params", params)
    document = json.loads(params.read_text())
    document["tracks"][1]["params"]["pan"] = "X7"
    params.write_text(json.dumps(document))
    assert (
        main(
            [
                str(song_dir),
                "--task",
                "drums",
                "--from-params",
                str(params),
                "--renderer",
                "chain",
                "--out",
                str(tmp_path / "b.wav"),
            ]
        )
        == 2
    )
    assert "'X7'" in capsys.readouterr().err


def test_module_runs_as_a_command(song_dir, checkpoints, tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "dmc.mix",
            str(song_dir),
            "--task",
            "drums",
            "--checkpoint",
            str(checkpoints["drums"]),
            "--out",
            str(tmp_path / "m.wav"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "m.wav").is_file()

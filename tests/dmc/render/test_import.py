"""``python -m dmc.render import``: an outside system's mixes become conditions like the built-in ones.

A small synthetic render (three 2 s passages, mono, random and target) is copied per
test. The imported "system" is the target itself at another gain, in m4a, WAV and FLAC,
as a passage file or a whole-song mix: at equal loudness it must score close to the
target, far closer than mono.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess

import numpy as np
import pytest

from dmc.audio import decode_mp3, write_audio
from dmc.contracts.manifest import load_manifest
from dmc.render.naming import OPAQUE_NAME, opaque_name
from evaluation.design import build_design
from evaluation.design import config as design_config

from .conftest import SAMPLE_RATE, make_song, oracle_registry, run_main

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")


@pytest.fixture(scope="module")
def base_render(tmp_path_factory):
    from .conftest import plans_for, render

    out = tmp_path_factory.mktemp("base")
    songs = [make_song(i) for i in range(3)]
    render(plans_for(songs, oracle_registry(), ["mono", "random", "target"]), out)
    return out


@pytest.fixture
def rendered(base_render, tmp_path):
    out = tmp_path / "render"
    shutil.copytree(base_render, out)
    return out


def snapshot(folder) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def system_files(render_dir, folder, gain_db: float = -6.0, kinds=("wav", "wav", "wav")) -> list:
    """The target of every passage at ``gain_db``: song 0 and 2 as passage files, song 1 as a whole song."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest = load_manifest(render_dir)
    written = []
    for index, (entry, kind) in enumerate(zip(manifest.passages("drums"), kinds)):
        gain = 10 ** (gain_db / 20)
        if index == 1:  # a whole-song mix: the song's own target, cut to the passage on import
            song = make_song(1)
            path = write_audio(
                folder / f"{entry.song_id}.wav", song.target_audio() * gain, SAMPLE_RATE
            )
        else:
            audio, rate = decode_mp3(render_dir / entry.condition("target").file)
            path = write_audio(folder / f"{entry.passage_id}.wav", audio * gain, rate)
        if kind != "wav":
            converted = path.with_suffix(f".{kind}")
            subprocess.run(
                ["ffmpeg", "-loglevel", "error", "-y", "-i", str(path), str(converted)],
                check=True,
                timeout=60,
            )
            path.unlink()
            path = converted
        written.append(path)
    return written


def do_import(render_dir, source, capsys, *options):
    argv = [
        "import",
        "--method",
        "mixbot",
        "--from",
        str(source),
        "--out",
        str(render_dir),
        "--no-progress",
    ]
    return run_main([*argv, *options], capsys)


@needs_ffmpeg
def test_imported_mixes_become_conditions_finished_like_the_built_in_ones(
    rendered, tmp_path, capsys
):
    system_files(rendered, tmp_path / "mixbot", kinds=("m4a", "wav", "flac"))
    code, out, err = do_import(rendered, tmp_path / "mixbot", capsys)
    assert code == 0, err
    assert "mixbot: 3 passage(s) imported, 0 up to date" in out
    manifest = load_manifest(rendered)
    key = manifest.settings["name_key"]
    for entry in manifest.passages("drums"):
        condition = entry.condition("mixbot")
        assert OPAQUE_NAME.match(condition.file) and "mixbot" not in condition.file
        assert condition.file == opaque_name(key, "drums", entry.passage_id, "mixbot")
        assert abs(condition.loudness_lufs + 23.0) < 0.3 and condition.true_peak_dbtp <= -1.0 + 0.1
        assert condition.duration_seconds == pytest.approx(entry.length_seconds, abs=1e-3)
        decoded, rate = decode_mp3(rendered / condition.file)
        assert rate == SAMPLE_RATE and decoded.shape == (
            2,
            round(entry.length_seconds * SAMPLE_RATE),
        )
        # this render's songs live in memory only: scored against the decoded target MP3, said so
        assert condition.extra["imported"]["metrics_reference"] == "decoded target MP3"
        assert np.isfinite(condition.extra["metrics"]["sd_mrstft"])
    readers = [e.condition("mixbot").extra for e in manifest.passages("drums")]
    assert [(r["imported"]["reader"], r["imported"]["window"]) for r in readers] == [
        ("ffmpeg", "passage"), ("libsndfile", "song"), ("libsndfile", "passage"),
    ]  # fmt: skip
    # the decoded target MP3 at another gain (lossless FLAC) is that reference at equal loudness
    assert (
        readers[2]["metrics"]["sd_mrstft"] < 0.01 and readers[2]["metrics"]["panning_error"] < 0.01
    )
    assert "scored against the decoded target MP3" in err
    assert "mixbot" in (rendered / "metrics.csv").read_text()
    design = build_design(manifest, design_config.TestConfig())
    assert all(t.methods[-1] == "mixbot" and t.methods[0] == "target" for t in design.trials)


def test_importing_the_same_files_again_changes_nothing(rendered, tmp_path, capsys):
    system_files(rendered, tmp_path / "mixbot")
    assert do_import(rendered, tmp_path / "mixbot", capsys)[0] == 0
    before = snapshot(rendered)
    code, out, _ = do_import(rendered, tmp_path / "mixbot", capsys)
    assert code == 0 and "0 passage(s) imported, 3 up to date" in out
    assert snapshot(rendered) == before


def test_other_files_need_force_which_replaces_the_system(rendered, tmp_path, capsys):
    system_files(rendered, tmp_path / "v1")
    assert do_import(rendered, tmp_path / "v1", capsys)[0] == 0
    before = snapshot(rendered)
    files = system_files(rendered, tmp_path / "v2", gain_db=-3.0)
    (tmp_path / "v2" / files[0].name).write_bytes(
        (tmp_path / "v1" / files[0].name).read_bytes()
    )  # one passage unchanged
    code, _, err = do_import(rendered, tmp_path / "v2", capsys)
    assert code == 2 and "already imported from other files" in err and "--force replaces it" in err
    assert snapshot(rendered) == before
    files[2].unlink()  # the replacement leaves the third passage out
    code, out, err = do_import(rendered, tmp_path / "v2", capsys, "--force", "--partial")
    assert code == 0, err
    assert "1 passage(s) imported, 1 up to date, 1 no longer given removed" in out
    manifest = load_manifest(rendered)
    third = manifest.passages("drums")[2]
    assert "mixbot" not in third.methods
    assert not (
        rendered / opaque_name(manifest.settings["name_key"], "drums", third.passage_id, "mixbot")
    ).exists()
    assert sorted(snapshot(rendered)) == sorted(
        set(before)
        - {f"{opaque_name(manifest.settings['name_key'], 'drums', third.passage_id, 'mixbot')}"}
    )


def test_partial_imports_what_is_there_and_remove_takes_the_system_out(rendered, tmp_path, capsys):
    files = system_files(rendered, tmp_path / "mixbot")
    files[0].unlink()
    before = snapshot(rendered)
    code, _, err = do_import(rendered, tmp_path / "mixbot", capsys)
    assert code == 2 and "1 passage(s) have no file" in err and "--partial" in err
    code, _, err = do_import(rendered, tmp_path / "mixbot", capsys, "--partial")
    assert code == 0 and "left out (--partial)" in err
    assert [("mixbot" in e.methods) for e in load_manifest(rendered).passages("drums")] == [
        False,
        True,
        True,
    ]
    code, out, _ = run_main(["import", "--remove", "mixbot", "--out", str(rendered)], capsys)
    assert code == 0 and "removed 'mixbot': 2 condition(s)" in out
    audio = lambda files: {f for f in files if f.startswith("audio/")}  # noqa: E731
    assert audio(snapshot(rendered)) == audio(before)
    assert "mixbot" not in (rendered / "metrics.csv").read_text()


def test_a_re_render_keeps_imported_systems(rendered, tmp_path, capsys):
    from .conftest import plans_for, render

    system_files(rendered, tmp_path / "mixbot")
    assert do_import(rendered, tmp_path / "mixbot", capsys)[0] == 0
    songs = [make_song(i) for i in range(3)]
    result = render(plans_for(songs, oracle_registry(), ["mono", "random", "target"]), rendered)
    assert result.skipped == 9 and result.dropped_imports == []
    manifest = load_manifest(rendered)
    assert all("mixbot" in e.methods for e in manifest.passages("drums"))
    manifest.check_files()


def _silent(render_dir, folder):
    files = system_files(render_dir, folder)
    write_audio(files[0], np.zeros((2, 2 * SAMPLE_RATE), np.float32), SAMPLE_RATE)


def _long(render_dir, folder):
    files = system_files(render_dir, folder)
    write_audio(files[0], 0.1 * np.ones((2, 3 * SAMPLE_RATE), np.float32), SAMPLE_RATE)


def _nan(render_dir, folder):
    files = system_files(render_dir, folder)
    audio = 0.1 * np.ones((2, 2 * SAMPLE_RATE), np.float32)
    audio[0, 100] = np.nan
    write_audio(files[0], audio, SAMPLE_RATE)


def _channels(render_dir, folder):
    files = system_files(render_dir, folder)
    write_audio(files[0], 0.1 * np.ones((3, 2 * SAMPLE_RATE), np.float32), SAMPLE_RATE)


def _short_song(render_dir, folder):
    files = system_files(render_dir, folder)
    write_audio(files[1], 0.1 * np.ones((2, SAMPLE_RATE // 2), np.float32), SAMPLE_RATE)


BAD_INPUT = [
    (
        lambda r, f: (
            system_files(r, f)
            and (f / "stranger.wav").write_bytes((f / next(f.iterdir()).name).read_bytes())
        ),
        [],
        "1 file(s) match no passage of the render (stranger.wav)",
    ),
    (lambda r, f: system_files(r, f)[2].unlink(), [], "1 passage(s) have no file"),
    (lambda r, f: system_files(r, f)[0].write_text("not audio"), [], "cannot read"),
    (_silent, [], "is silent in passage"),
    (_long, [], "s long but passage"),
    (_nan, [], "holds NaN or infinite samples"),
    (_channels, [], "has 3 channels; export a stereo (or mono) mix"),
    (_short_song, [], "export the whole song"),
    (system_files, ["--method", "mono"], "method name 'mono' is a built-in condition"),
    (system_files, ["--method", "Mix-Bot"], "must be a lowercase identifier"),
    (system_files, ["--task", "full"], "unknown task 'full'; the render has drums"),
    (system_files, ["--tolerance", "-1"], "--tolerance must be 0 or more"),
    (lambda r, f: f.mkdir(), [], "holds no audio files"),
    (lambda r, f: None, [], "is not a folder"),
    (lambda r, f: system_files(r, f) and (r / "manifest.json").unlink(), [], "no render manifest"),
]


@pytest.mark.parametrize(("setup", "options", "message"), BAD_INPUT)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    rendered, tmp_path, capsys, setup, options, message
):
    source = tmp_path / "mixbot"
    setup(rendered, source)
    before = snapshot(rendered)
    code, out, err = do_import(rendered, source, capsys, *options)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "dmc.render: error: " in err and message in err, (
        err
    )
    assert out == ""
    assert snapshot(rendered) == before


def test_removing_what_is_not_an_imported_system_is_refused(rendered, capsys):
    for name, message in (
        ("mono", "is rendered by `python -m dmc.render testset`"),
        ("nope", "no system 'nope'"),
    ):
        code, _, err = run_main(["import", "--remove", name, "--out", str(rendered)], capsys)
        assert code == 2 and message in err
    code, _, err = run_main(["import", "--out", str(rendered)], capsys)
    assert code == 2 and "give --method NAME --from DIR" in err
    manifest = json.loads((rendered / "manifest.json").read_text())
    assert manifest["tasks"]["drums"]["passages"][0]["conditions"][0]["method"] == "mono"

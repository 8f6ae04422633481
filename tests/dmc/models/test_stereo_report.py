"""``python -m dmc.mix --report`` and scripts/check_stereo_image.py: where a mix puts every track."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from dmc.audio import read_audio, write_audio
from dmc.checkpoint import save_model
from dmc.effects.chain import constant_power_pan
from dmc.metrics import rl_levels_db
from dmc.mix import main
from dmc.stereo_image import centre_tolerance_percent, summarise

SAMPLE_RATE = 44100
SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "check_stereo_image.py"


def document(pans: dict[str, tuple[str, str]], fader: bool = False) -> dict:
    """A ``dmc-mix-params`` document: ``{file: (role, pan text)}``."""
    tracks = []
    for file, (role, pan) in pans.items():
        params = {"gain_db": -1.5, "pan": pan} | ({"fader_db": 2.0} if fader else {})
        tracks.append({"file": file, "role": role, "role_source": "file name", "params": params})
    return {"format": "dmc-mix-params", "task": "full" if fader else "drums", "tracks": tracks}


def test_a_one_sided_mix_is_summarised_as_one_sided_and_leaning(make_drums):
    pans = {
        "kick.wav": ("kick", "C"),
        "snare.wav": ("snare", "R30"),
        "hihat.wav": ("hihat", "R80"),
        "tom.wav": ("tom", "R40"),
        "overhead_L.wav": ("overhead", "R5"),
    }
    mix = sum(
        constant_power_pan(make_drums(3.0, seed=i), 0.5 + 0.5 * p)
        for i, p in enumerate((0.0, 0.3, 0.8, 0.4, 0.05))
    )
    summary = summarise(document(pans), mix, SAMPLE_RATE)
    assert summary["centre"] == {"kick.wav": "C", "snare.wav": "R30"}
    assert summary["off_centre"] == {"snare.wav": "R30"}
    assert (summary["left"], summary["right"], summary["both_sides"]) == (
        0,
        2,
        False,
    )  # R5 counts as centre
    assert summary["rl_db"] == pytest.approx(rl_levels_db(mix, SAMPLE_RATE))
    assert summary["rl_db"]["broadband"] > 1.0


def test_a_snare_where_the_overheads_picture_it_counts_as_centred(make_drums):
    """Kick and bass have 10 % of room, a snare 15 %: the demo's engineer puts it up to 17 % off."""
    pans = {
        "kick.wav": ("kick", "L12"),
        "snare.wav": ("snare", "R12"),
        "bass.wav": ("bass", "R9"),
        "snare_2.wav": ("snare", "L16"),
    }
    mix = constant_power_pan(make_drums(3.0, seed=0), 0.5)
    summary = summarise(document(pans), mix, SAMPLE_RATE)
    assert summary["off_centre"] == {"kick.wav": "L12", "snare_2.wav": "L16"}
    assert centre_tolerance_percent("snare") == 15.0
    assert centre_tolerance_percent("lead") == centre_tolerance_percent("drums") == 10.0


@pytest.fixture
def drum_song(tmp_path, make_drums):
    folder = tmp_path / "songs" / "drums-01"
    folder.mkdir(parents=True)
    for i, name in enumerate(("kick", "snare", "hihat", "tom_1", "overhead_L", "overhead_R")):
        write_audio(folder / f"{name}.wav", make_drums(2.0, seed=i), SAMPLE_RATE)
    return folder


@pytest.fixture
def checkpoints(tiny, tmp_path):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    for task in ("drums", "full"):
        save_model(folder / f"console_{task}.pt", tiny.console(task))
        save_model(folder / f"console_dsp_{task}.pt", tiny.console(task, effects="dsp"))
    return folder


def test_the_report_prints_every_track_and_how_far_the_mix_leans(
    drum_song, checkpoints, tmp_path, capsys
):
    params = tmp_path / "params.json"
    common = [
        str(drum_song),
        "--task",
        "drums",
        "--checkpoint",
        str(checkpoints / "console_drums.pt"),
    ]
    assert main([*common, "--out", str(tmp_path / "a.wav"), "--params", str(params)]) == 0
    edited = json.loads(params.read_text())
    pans = {
        "kick.wav": "C",
        "snare.wav": "L5",
        "hihat.wav": "L70",
        "tom_1.wav": "R40",
        "overhead_L.wav": "L100",
        "overhead_R.wav": "R100",
    }
    for track in edited["tracks"]:
        track["params"] = {
            "gain_db": -3.0 if track["file"] == "hihat.wav" else 0.0,
            "pan": pans[track["file"]],
        }
    params.write_text(json.dumps(edited))
    capsys.readouterr()
    out = tmp_path / "b.wav"
    argv = [
        *common,
        "--out",
        str(out),
        "--from-params",
        str(params),
        "--renderer",
        "chain",
        "--report",
    ]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {
        line.split()[1]: line.split()
        for line in lines
        if line.split()[1:2] and line.split()[1] in pans
    }
    assert set(rows) == set(pans)
    assert rows["hihat.wav"][0] == "hihat" and rows["hihat.wav"][-2:] == ["-3.0", "L70"]
    assert rows["kick.wav"][-1] == "C" and rows["overhead_R.wav"][-1] == "R100"
    lean = next(line for line in lines if line.startswith("mix R-L level:"))
    levels = rl_levels_db(*read_audio(out))
    assert f"{levels['broadband']:+.1f} dB" in lean and f"high {levels['high']:+.1f}" in lean
    assert "off-centre tracks: 2 left, 2 right" in lines[-1] and "one side" not in lines[-1]


def test_check_stereo_image_tabulates_every_song_with_the_given_consoles(
    drum_song, checkpoints, make_drums, capsys
):
    band = drum_song.parent / "band-01"
    band.mkdir()
    for i, name in enumerate(("bass", "guitar", "lead", "drums")):
        write_audio(band / f"{name}.flac", make_drums(2.0, seed=10 + i), SAMPLE_RATE)
    (band / "info.json").write_text(json.dumps({"task": "full"}))
    spec = importlib.util.spec_from_file_location("check_stereo_image", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.song_task(drum_song) == "drums" and script.song_task(band) == "full"
    assert script.main(["--folders", str(drum_song.parent), "--checkpoints", str(checkpoints)]) == 0
    table = [line for line in capsys.readouterr().out.splitlines() if line.startswith("|")]
    assert table[0].startswith("| song | task |") and len(table) == 4
    assert table[2].startswith("| band-01 | full | bass ") and table[3].startswith(
        "| drums-01 | drums | kick "
    )
    assert all(len(row.split("|")) == len(table[0].split("|")) for row in table)
    # --method console_dsp mixes with console_dsp_<task>.pt: it needs no other file
    for task in ("drums", "full"):
        (checkpoints / f"console_{task}.pt").unlink()
    argv = ["--folders", str(drum_song.parent), "--checkpoints", str(checkpoints)]
    assert script.main([*argv, "--method", "console_dsp"]) == 0
    dsp_table = [line for line in capsys.readouterr().out.splitlines() if line.startswith("|")]
    assert [row.split("|")[1:3] for row in dsp_table] == [row.split("|")[1:3] for row in table]

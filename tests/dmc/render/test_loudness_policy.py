"""The loudness policy: chosen once per render (--lufs), stored once in its manifest, honoured by
every condition and by later imports; manifests of the first format still read."""

from __future__ import annotations

import json

import pytest

from dmc.audio import decode_mp3, integrated_loudness, write_audio
from dmc.contracts.manifest import load_manifest
from dmc.contracts.policies import LoudnessPolicy
from dmc.render.testset import RenderSettings

from .conftest import SECONDS, plans_for, render, run_main


def test_a_render_at_another_loudness_stores_the_policy_once_and_meets_it(
    songs, registry, tmp_path
):
    policy = LoudnessPolicy(target_lufs=-18.0)
    out = tmp_path / "loud"
    render(
        plans_for(songs[:2], registry, ["console", "mono", "random", "target"]),
        out,
        settings=RenderSettings(SECONDS, policy),
    )
    document = json.loads((out / "manifest.json").read_text())
    assert document["version"] == 2 and document["loudness"]["target_lufs"] == -18.0
    assert "loudness_target_lufs" not in document
    assert not {"target_lufs", "max_true_peak_dbtp", "vbr_quality"} & set(document["settings"])
    manifest = load_manifest(out)
    assert manifest.loudness == policy
    for condition in manifest.files().values():
        audio, rate = decode_mp3(manifest.path_of(condition.file))
        assert integrated_loudness(audio, rate) == pytest.approx(-18.0, abs=0.5), condition.method
    # the same render at the default level is another render: every condition is made again
    again = render(plans_for(songs[:2], registry, ["console", "mono", "random", "target"]), out)
    assert again.rendered == len(manifest.files()) and again.skipped == 0
    assert load_manifest(out).loudness == LoudnessPolicy()


def test_an_import_into_a_render_at_another_loudness_meets_the_renders_level(
    songs, registry, tmp_path, capsys
):
    out = tmp_path / "loud"
    settings = RenderSettings(SECONDS, LoudnessPolicy(target_lufs=-16.0))
    render(
        plans_for(songs[:2], registry, ["console", "mono", "random", "target"]),
        out,
        settings=settings,
    )
    manifest = load_manifest(out)
    mixes = tmp_path / "mixes"
    mixes.mkdir()
    for passage in manifest.passages("drums"):
        mono = manifest.path_of(passage.condition("mono").file)
        audio, rate = decode_mp3(mono)
        write_audio(mixes / f"{passage.passage_id}.wav", 0.3 * audio, rate)  # 10 dB down
    code, _, err = run_main(
        [
            "import",
            "--method",
            "quiet_mix",
            "--from",
            str(mixes),
            "--out",
            str(out),
            "--no-progress",
        ],
        capsys,
    )
    assert code == 0, err
    for passage in load_manifest(out).passages("drums"):
        condition = passage.condition("quiet_mix")
        assert condition.loudness_lufs == pytest.approx(-16.0, abs=0.5)


def test_a_manifest_of_the_first_format_reads_its_policy(tmp_path, rendered):
    out, _ = rendered
    document = json.loads((out / "manifest.json").read_text())
    loudness = document.pop("loudness")
    document["version"] = 1
    document["loudness_target_lufs"] = loudness["target_lufs"]
    document["settings"] |= {"target_lufs": -20.0, "max_true_peak_dbtp": -2.0, "vbr_quality": 4}
    (out / "manifest.json").write_text(json.dumps(document))
    assert load_manifest(out).loudness == LoudnessPolicy(-20.0, -2.0, 4)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"target_lufs": 3.0}, "between -70 and 0 LUFS"),
        ({"target_lufs": float("nan")}, "finite"),
        ({"max_true_peak_dbtp": 0.5}, "at most 0 dBTP"),
        ({"vbr_quality": 10}, "integer 0-9"),
        ({"vbr_quality": True}, "integer 0-9"),
    ],
)
def test_a_bad_policy_names_its_field(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LoudnessPolicy(**kwargs)


def test_the_policy_survives_its_json():
    policy = LoudnessPolicy(-19.5, -1.5, 3)
    assert LoudnessPolicy.from_json(json.loads(json.dumps(policy.to_json()))) == policy
    with pytest.raises(ValueError, match="encoder"):
        LoudnessPolicy.from_json({"target_lufs": -23.0, "encoder": {"format": "flac"}})


def test_lufs_out_of_range_is_one_line_and_exit_2(capsys):
    code, _, err = run_main(["testset", "--lufs", "5", "--passages", "1"], capsys)
    assert code == 2 and err.count("\n") == 1 and "--lufs" in err and "-70 and 0" in err

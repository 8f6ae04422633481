"""The renderer on small synthetic songs: files, manifest, names, params, re-runs, interruptions."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from dmc.audio import decode_mp3, integrated_loudness, true_peak_db
from dmc.contracts.files import file_sha256
from dmc.contracts.manifest import load_manifest
from dmc.metrics import METRIC_NAMES
from dmc.mixers.baselines import MonoMixer, RandomMixer
from dmc.mixers.spec import MethodSpec
from dmc.render.report import metrics_frame, plot_metrics, summary_text, write_metrics_csv
from dmc.render.testset import RenderSettings

SECONDS = 2.0  # as in the folder's conftest: render() and plans_for()
FFMPEG = shutil.which("ffmpeg")


def ffmpeg_decode(path: Path) -> np.ndarray:
    """Decode with ffmpeg (an independent decoder) when present, else libsndfile."""
    if FFMPEG is None:
        return decode_mp3(path)[0]
    raw = subprocess.run(
        [FFMPEG, "-v", "error", "-i", str(path), "-f", "f32le", "-ac", "2", "-"],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(raw, dtype=np.float32).reshape(-1, 2).T


def test_the_manifest_agrees_with_the_files(rendered):
    out, result = rendered
    manifest = load_manifest(out / "manifest.json")
    manifest.check_files()
    assert result.rendered == 3 * 6 and result.skipped == 0
    assert [p.song_id for p in manifest.passages("drums")] == ["song00", "song01", "song02"]
    for passage in manifest.passages("drums"):
        assert passage.methods == ["console", "mono", "random", "target", "anchor_3k5", "anchor_7k"]
        for condition in passage.conditions:
            path = manifest.path_of(condition.file)
            assert file_sha256(path) == condition.sha256
            audio, sample_rate = decode_mp3(path)
            assert condition.duration_seconds == pytest.approx(
                audio.shape[1] / sample_rate, abs=1e-9
            )
            assert condition.duration_seconds == pytest.approx(SECONDS, abs=1 / sample_rate)
            assert condition.loudness_lufs == pytest.approx(
                integrated_loudness(audio, sample_rate), abs=1e-6
            )
            assert condition.true_peak_dbtp == pytest.approx(
                true_peak_db(audio, sample_rate), abs=1e-6
            )
            assert condition.peak_over_ceiling == (condition.true_peak_dbtp > -1.0)


def test_every_file_decodes_to_minus_23_lufs_within_half_a_lu(rendered):
    out, _ = rendered
    manifest = load_manifest(out)
    for condition in manifest.files().values():
        audio = ffmpeg_decode(manifest.path_of(condition.file))
        assert audio.shape[1] == round(SECONDS * manifest.sample_rate)
        assert integrated_loudness(audio, manifest.sample_rate) == pytest.approx(-23.0, abs=0.5), (
            condition.method
        )
        assert np.max(np.abs(audio)) < 1.0  # never clipped


def test_file_names_reveal_neither_method_nor_order(rendered):
    out, _ = rendered
    manifest = load_manifest(out)
    names = list(manifest.files())
    assert len(set(names)) == len(names) == 18
    for name in names:
        assert re.fullmatch(r"audio/[0-9a-f]{20}\.mp3", name), name
    assert sorted(p.name for p in (out / "audio").iterdir()) == sorted(Path(n).name for n in names)
    # the position of each method among a passage's sorted names changes between passages
    orders = {tuple(np.argsort([c.file for c in p.conditions])) for p in manifest.passages("drums")}
    assert len(orders) > 1


def test_params_file_holds_every_method_with_settings_in_real_units(rendered, target_settings):
    out, _ = rendered
    manifest = load_manifest(out)
    data = json.loads((out / "params.json").read_text())
    assert data["format"] == "dmc-render-params"
    for passage in manifest.passages("drums"):
        assert passage.params_file == "params.json"
        entry = data["tasks"]["drums"][passage.passage_id]
        assert (
            [t["name"] for t in entry["tracks"]]
            == passage.track_names
            == ["kick", "bass", "keys", "perc"]
        )
        assert all(np.isfinite(t["staging_gain_db"]) for t in entry["tracks"])
        assert set(entry["methods"]) == {"console", "mono", "random"}
        assert [(p["gain_db"], p["pan"]) for p in entry["methods"]["console"]] == target_settings
        seed = passage.condition("random").extra["seed"]
        assert entry["methods"]["random"] == RandomMixer("drums", seed).draw(4)


def test_metrics_score_every_method_but_the_target_and_rank_the_oracle_first(rendered, tmp_path):
    out, _ = rendered
    manifest = load_manifest(out)
    frame = metrics_frame(manifest)
    assert len(frame) == 3 * 5 and "target" not in set(frame["method"])
    assert frame[list(METRIC_NAMES)].notna().all().all()
    by_passage = frame.pivot(index="passage_id", columns="method", values="sd_mrstft")
    assert (by_passage["console"] < by_passage["mono"]).all()
    assert (by_passage["console"] < by_passage["random"]).all()
    csv = write_metrics_csv(manifest, tmp_path / "metrics.csv")
    assert csv.read_text().splitlines()[0].split(",") == [
        "task",
        "passage_id",
        "song_id",
        "method",
        "file",
        *METRIC_NAMES,
    ]
    text = summary_text(frame)
    assert text.startswith("task drums") and all(
        m in text for m in ("console", "mono", "random", "anchor_7k")
    )
    png = plot_metrics(frame, tmp_path / "metrics.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------------- re-runs


@pytest.fixture
def small(songs, registry, renderer):
    plans_for, _ = renderer
    return plans_for(songs[:2], registry, ["mono", "random", "target"])


def snapshot(out: Path) -> dict[str, tuple[int, str]]:
    return {
        p.name: (p.stat().st_mtime_ns, file_sha256(p)) for p in sorted((out / "audio").iterdir())
    }


def test_a_rerun_skips_what_is_up_to_date_and_force_renders_it_identically(
    small, tmp_path, renderer
):
    _, render = renderer
    first = render(small, tmp_path)
    before = snapshot(tmp_path)
    again = render(small, tmp_path)
    assert (again.rendered, again.skipped) == (0, 6)
    assert snapshot(tmp_path) == before
    forced = render(small, tmp_path, force=True)
    assert (forced.rendered, forced.skipped) == (6, 0)
    after = snapshot(tmp_path)
    assert after.keys() == before.keys()  # the same opaque names
    assert {k: v[1] for k, v in after.items()} == {
        k: v[1] for k, v in before.items()
    }  # byte-identical audio
    assert all(after[k][0] != before[k][0] for k in before)  # but written again
    assert load_manifest(tmp_path).files().keys() == first.manifest.files().keys()


def test_changing_the_seed_renders_only_the_random_baseline_again(small, tmp_path, renderer):
    _, render = renderer
    render(small, tmp_path)
    result = render(small, tmp_path, settings=RenderSettings(seconds=SECONDS, seed=7))
    assert (result.rendered, result.skipped) == (2, 4)
    assert set(result.method_seconds) == {"random"}


def test_the_random_baseline_is_identical_in_separate_renders(small, tmp_path, renderer):
    _, render = renderer
    one = render(small, tmp_path / "one").manifest
    two = render(small, tmp_path / "two").manifest
    for a, b in zip(one.passages("drums"), two.passages("drums")):
        assert a.condition("random").sha256 == b.condition("random").sha256
        assert (
            a.condition("random").file != b.condition("random").file
        )  # each folder has its own name key


def test_fewer_methods_remove_the_files_no_longer_listed(songs, registry, tmp_path, renderer):
    plans_for, render = renderer
    render(plans_for(songs[:2], registry, ["mono", "random", "target"]), tmp_path)
    result = render(plans_for(songs[:2], registry, ["mono", "target"]), tmp_path)
    assert (result.rendered, result.skipped, result.removed) == (0, 4, 2)
    manifest = load_manifest(tmp_path)
    assert sorted(p.name for p in (tmp_path / "audio").iterdir()) == sorted(
        Path(f).name for f in manifest.files()
    )


class _Interrupt:
    """A mixer that stops the run (like Ctrl-C) on its second call."""

    name = "console"

    def __init__(self):
        self.calls = 0

    def mix(self, tracks, sample_rate, names=None):
        self.calls += 1
        if self.calls == 2:
            raise KeyboardInterrupt
        return MonoMixer("drums").mix(tracks, sample_rate)


def test_an_interrupted_run_leaves_no_half_files_and_the_rerun_resumes(
    songs, registry, tmp_path, renderer
):
    plans_for, render = renderer
    interrupting = _Interrupt()
    registry["console"] = MethodSpec("console", ("drums",), "tracks", lambda request: interrupting)
    plans = plans_for(songs, registry, ["console", "mono", "target"])
    with pytest.raises(KeyboardInterrupt):
        render(plans, tmp_path)
    assert not [p.name for p in tmp_path.rglob(".*")]  # no temporary files left
    manifest = load_manifest(tmp_path)
    manifest.check_files()
    assert [p.song_id for p in manifest.passages("drums")] == ["song00"]
    registry["console"] = MethodSpec(
        "console", ("drums",), "tracks", lambda request: MonoMixer("drums")
    )
    result = render(plans_for(songs, registry, ["console", "mono", "target"]), tmp_path)
    assert (result.rendered, result.skipped) == (6, 3)


def test_worker_processes_write_the_same_files_as_an_in_process_render(small, tmp_path):
    from dmc.render.testset import render_testset

    settings = RenderSettings(seconds=2.0)
    pooled = render_testset(
        small, tmp_path / "pooled", settings, progress=False, workers=2
    ).manifest
    inline = render_testset(
        small, tmp_path / "inline", settings, progress=False, workers=0
    ).manifest
    for a, b in zip(pooled.passages("drums"), inline.passages("drums")):
        assert [(c.method, c.sha256, c.extra["metrics"]) for c in a.conditions] == [
            (c.method, c.sha256, c.extra["metrics"]) for c in b.conditions
        ]


def test_demucs_refuses_songs_whose_tracks_do_not_fit_its_drum_slots(
    songs, standin_checkpoints, tmp_path
):
    from dmc.mixers import resolve_methods
    from dmc.multitrack import find_passages
    from dmc.render.testset import RenderError, TaskPlan, render_testset

    specs, _ = resolve_methods("drums", ["demucs"], checkpoint_dir=standin_checkpoints)
    with pytest.raises(ValueError, match="no free slot for a 'bass' track"):
        specs[0].check_roles(songs[0].roles)
    plans = [TaskPlan("drums", [(songs[0], find_passages(songs[0], 2.0)[0])], specs)]
    settings = RenderSettings(seconds=2.0, checkpoint_dir=standin_checkpoints)
    with pytest.raises(
        RenderError, match="method demucs: the drums model has no free slot for a 'bass' track"
    ):
        render_testset(plans, tmp_path, settings, progress=False, workers=0)

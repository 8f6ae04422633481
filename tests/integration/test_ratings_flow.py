"""Ratings written through the web app are analysed by the analysis scripts, end to end.

Simulated ears rate every condition of every trial through the JSON API (the same calls
the trial page makes), with a known quality per method. The analysis scripts then read
the web app's database and must recover that ordering, and screen out the one rater who
rates the hidden reference carelessly.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from dmc.audio import encode_mp3
from dmc.contracts.manifest import Condition, Manifest, PassageEntry, load_manifest

SR = 44100
QUALITY = {
    "target": 0.92,
    "console": 0.7,
    "demucs": 0.4,
    "random": 0.3,
    "mono": 0.35,
    "anchor_7k": 0.5,
    "anchor_3k5": 0.15,
}


def _render(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    tasks = {}
    for task, count in (("drums", 3), ("full", 3)):
        methods = [m for m in QUALITY if task == "drums" or m != "demucs"]
        passages = []
        for i in range(count):
            conditions = []
            for j, method in enumerate(methods):
                name = f"audio/{task[0]}{i}{j:02d}{rng.integers(1 << 30):08x}.mp3"
                audio = (0.1 * rng.standard_normal((2, SR // 2))).astype(np.float32)
                encode_mp3(folder / name, audio, SR)
                conditions.append(Condition(method, name, "0" * 64, -23.0, -3.0, 0.5))
            passages.append(
                PassageEntry(f"{task}-song{i}@0000.00s", f"{task}-song{i}", 0.0, 0.5, conditions)
            )
        tasks[task] = passages
    return Manifest(tasks, "2026-11-26T00:00:00Z", "0.1.0", SR).save(folder / "manifest.json")


@pytest.fixture
def rated_database(tmp_path):
    from webapp import create_app

    manifest_path = _render(tmp_path / "render")
    config = tmp_path / "test.yaml"
    config.write_text(
        "title: flow\nreference: hidden\nanchors: true\ntraining:\n  trials: 1\nseed: 7\n"
    )
    url = f"sqlite:///{tmp_path / 'instance' / 'ratings.sqlite'}"
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "SQLALCHEMY_DATABASE_URI": url,
            "MANIFEST_PATH": str(manifest_path),
            "TEST_CONFIG": str(config),
            "ADMIN_PASSWORD": "integration-password",
        }
    )
    files = {
        file: condition.method for file, condition in load_manifest(manifest_path).files().items()
    }
    client = app.test_client()
    rng = np.random.default_rng(1)
    for rater in range(8):
        careless = rater == 7
        token = client.post("/api/raters", json={"consent": True}).get_json()["token"]
        intro = {"experience_years": 4, "role": "producer", "playback_device": "open_headphones"}
        assert client.post(f"/api/raters/{token}/questionnaire", json=intro).status_code == 200
        assert client.post(f"/api/raters/{token}/volume", json={}).status_code == 200
        status = client.get(f"/api/raters/{token}").get_json()
        for trial_id in status["trial_ids"]:
            trial = client.get(f"/api/raters/{token}/trials/{trial_id}").get_json()
            ratings = {}
            for condition in trial["conditions"]:
                assert condition["url"].startswith("/audio/")
                method = files[
                    condition["url"].removeprefix("/audio/")
                ]  # the manifest's opaque name
                quality = 0.3 if careless and method == "target" else QUALITY[method]
                ratings[condition["label"]] = float(np.clip(quality + rng.normal(0, 0.07), 0, 1))
            top = max(ratings, key=ratings.get)
            ratings[top] = 1.0
            body = {
                "ratings": ratings,
                "plays": dict.fromkeys(ratings, 1),
                "time_on_trial_ms": 5000,
                "comment": None,
            }
            response = client.post(f"/api/raters/{token}/trials/{trial_id}", json=body)
            assert response.status_code == 200, response.get_json()
    with app.app_context():
        from webapp.storage.db import db

        db.engine.dispose()
    return url


def test_web_app_ratings_flow_into_box_plots_and_statistics(rated_database, tmp_path, capsys):
    from analysis import boxplots, significance
    from webapp.storage.export import ratings_frame

    frame = ratings_frame(rated_database)
    assert not frame.duplicated(["rater_id", "trial_id", "method"]).any()
    assert set(frame["method"]) == set(QUALITY)

    out = tmp_path / "out"
    assert boxplots.main(["--db", rated_database, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert str(out / "boxplots.png") in printed
    assert "excluded" in printed and "r00008" in printed  # the careless rater, and why
    png = (out / "boxplots.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000

    assert significance.main(["--db", rated_database, "--out", str(out), "--resamples", "200"]) == 0
    with open(out / "descriptives.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["task"] == "drums"]
    medians = {r["method"]: float(r["median"]) for r in rows}
    # The careless rater is screened out, so the hidden reference keeps its top median.
    ranked = sorted(medians, key=medians.get, reverse=True)
    assert ranked[:3] == ["target", "console", "anchor_7k"]
    assert ranked[-1] == "anchor_3k5"
    with open(out / "friedman.csv") as f:
        friedman = {r["task"]: float(r["p_value"]) for r in csv.DictReader(f)}
    assert friedman["drums"] < 0.001 and friedman["full"] < 0.001

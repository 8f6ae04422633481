"""Test anyone's mixes, end to end, with the documented commands (docs/render.md, "Test your own system").

A folder of WAV multitracks with the engineer's mix is rendered (``--data folder``), a
second system's mixes, made here with ffmpeg from the rendered audio as one m4a and one
WAV, are imported, served by the web app beside the built-in methods, rated through its
API by three raters, exported from the admin page, analysed, and published as the
companion page.
"""

from __future__ import annotations

import csv
import shutil
import subprocess

import numpy as np
import pytest

from analysis.page import main as page_main
from dmc.audio import write_audio
from dmc.contracts.manifest import load_manifest
from dmc.effects.chain import mix
from dmc.render.cli import main as render_main
from dmc.staging import GainStaging

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed"),
]

RATE = 44100
QUALITY = {"target": 0.92, "autobot": 0.65, "random": 0.4, "mono": 0.3}
PASSWORD = "bring your own systems"


def write_multitracks(root) -> None:
    """Two songs of four role-named WAV tracks and the engineer's mix (mix.wav), 2.5 s each."""
    rng = np.random.default_rng(0)
    t = np.arange(int(2.5 * RATE)) / RATE
    for index in range(2):
        kick = np.sin(2 * np.pi * 55 * t) * np.exp(-(t % 0.5) * 20)
        snare = rng.standard_normal(t.size) * np.exp(-((t + 0.25) % 0.5) * 30) * 0.5
        bass = 0.4 * np.sin(2 * np.pi * (41 + 10 * index) * t)
        keys = 0.2 * sum(np.sin(2 * np.pi * f * t) for f in (262.0, 330.0, 392.0))
        tracks = np.stack([kick, snare, bass, keys]).astype(np.float32)
        folder = root / f"song{index + 1}"
        for name, track in zip(("kick", "snare", "bass", "piano"), tracks):
            write_audio(folder / f"{name}.wav", track, RATE)
        params = [{"gain_db": g, "pan": p} for g, p in ((0, 0.5), (-3, 0.4), (-2, 0.5), (-6, 0.8))]
        target, _ = mix(GainStaging().apply(tracks, RATE), RATE, params, stages=("gain",))
        write_audio(folder / "mix.wav", target, RATE)


def ffmpeg(source, target, *filters: str) -> None:
    command = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(source)]
    subprocess.run([*command, *filters, str(target)], check=True, timeout=60)


def rate_through_the_web_app(render_dir, instance, raters: int = 3) -> bytes:
    """Raters take the built-in test through the JSON API; returns the admin's ratings.csv."""
    from webapp import create_app
    from webapp.storage.db import db

    app = create_app({
        "TESTING": True, "INSTANCE_PATH": str(instance),
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'ratings.sqlite'}",
        "MANIFEST_PATH": str(render_dir / "manifest.json"), "TEST_CONFIG": None, "ADMIN_PASSWORD": PASSWORD,
    })  # fmt: skip
    files = {f: c.method for f, c in load_manifest(render_dir).files().items()}
    client = app.test_client()
    rng = np.random.default_rng(1)
    served = set()
    for _ in range(raters):
        token = client.post("/api/raters", json={"consent": True}).get_json()["token"]
        intro = {
            "experience_years": 6,
            "role": "mixing_engineer",
            "playback_device": "open_headphones",
        }
        assert client.post(f"/api/raters/{token}/questionnaire", json=intro).status_code == 200
        assert client.post(f"/api/raters/{token}/volume", json={}).status_code == 200
        for trial_id in client.get(f"/api/raters/{token}").get_json()["trial_ids"]:
            trial = client.get(f"/api/raters/{token}/trials/{trial_id}").get_json()
            ratings = {}
            for condition in trial["conditions"]:
                method = files[condition["url"].removeprefix("/audio/")]
                assert method not in condition["url"]
                if method == "autobot" and method not in served:
                    audio = client.get(condition["url"])
                    stored = (render_dir / condition["url"].removeprefix("/audio/")).read_bytes()
                    # served as the web app serves every condition (its blinding may pad the file)
                    assert audio.status_code == 200 and audio.mimetype == "audio/mpeg"
                    assert len(audio.data) >= len(stored)
                    served.add(method)
                ratings[condition["label"]] = float(
                    np.clip(QUALITY[method] + rng.normal(0, 0.05), 0, 1)
                )
            ratings[max(ratings, key=ratings.get)] = 1.0
            body = {
                "ratings": ratings,
                "plays": dict.fromkeys(ratings, 1),
                "time_on_trial_ms": 9000,
                "comment": None,
            }
            assert (
                client.post(f"/api/raters/{token}/trials/{trial_id}", json=body).status_code == 200
            )
    assert served == {"autobot"}
    admin = app.test_client()
    admin.get("/admin/login")
    with admin.session_transaction() as session:
        csrf = session["csrf"]
    assert (
        admin.post("/admin/login", data={"password": PASSWORD, "csrf_token": csrf}).status_code
        == 303
    )
    export = admin.get("/admin/export/ratings.csv")
    assert export.status_code == 200
    with app.app_context():
        db.engine.dispose()
    return export.data


def test_a_folder_of_wavs_to_the_companion_page(tmp_path, capsys):
    songs, render_dir, system = tmp_path / "songs", tmp_path / "render", tmp_path / "autobot"
    write_multitracks(songs)
    # 1. render the built-in methods from your own multitracks
    argv = ["testset", "--data", "folder", "--root", str(songs), "--methods", "mono,random,target"]
    assert (
        render_main(
            [*argv, "--seconds", "2", "--out", str(render_dir), "--no-progress", "--workers", "0"]
        )
        == 0
    )
    manifest = load_manifest(render_dir)
    first, second = manifest.passages("full")
    # 2. another system's mixes: here made from the rendered audio, one as m4a, one as WAV
    system.mkdir()
    ffmpeg(
        render_dir / first.condition("mono").file,
        system / f"{first.passage_id}.m4a",
        "-af",
        "volume=-4dB",
    )
    ffmpeg(
        render_dir / second.condition("random").file,
        system / f"{second.passage_id}.wav",
        "-af",
        "volume=3dB",
    )
    assert (
        render_main(
            ["import", "--method", "autobot", "--from", str(system), "--out", str(render_dir)]
        )
        == 0
    )
    assert "autobot: 2 passage(s) imported" in capsys.readouterr().out
    # 3. serve, rate and export
    export = tmp_path / "ratings.csv"
    export.write_bytes(rate_through_the_web_app(render_dir, tmp_path / "instance"))
    with open(export, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["method"] for r in rows} == set(QUALITY)
    # 4. analyse, as the README does
    from analysis.__main__ import main as analysis_main

    out = tmp_path / "analysis"
    assert (
        analysis_main(
            ["significance", "--ratings", str(export), "--out", str(out), "--resamples", "200"]
        )
        == 0
    )
    with open(out / "descriptives.csv", newline="") as handle:
        medians = {r["method"]: float(r["median"]) for r in csv.DictReader(handle)}
    assert sorted(medians, key=medians.get, reverse=True) == ["target", "autobot", "random", "mono"]
    # 5. publish
    site = tmp_path / "site"
    argv = [
        "--render",
        str(render_dir),
        "--ratings",
        str(export),
        "--out",
        str(site),
        "--resamples",
        "200",
    ]
    assert page_main(argv) == 0
    text = (site / "index.html").read_text()
    assert '<div class="name">autobot</div>' in text and '<img src="analysis/boxplots.png"' in text
    assert (site / "audio" / "full").is_dir() and len(list(site.rglob("autobot.mp3"))) == 2

"""What only the Chromium test saw, checked without a browser on 10 s stimuli.

Three slips were caught only by ``test_browser.py``, which skips on a machine without
Chromium: serving every file of a trial padded to its *smallest* file's length (the
1 s files of the other tests all round to one length, so only real 10 s stimuli, whose
sizes differ by tens of KiB between a stereo mix, a mono one and a low-passed anchor,
show it), storing each condition's play count looked up by method instead of by letter,
and the analysis' screening leaving out its headphone rule by default. Here a rendered
test of two 10 s drums passages (the target, the console, a random and a mono mix, both
anchors), served by the app with the headphone check on, is taken by two careful raters
through the HTTP API: one passes the headphone check, one fails it. Their export goes
through the analysis' screening with its default rules.
"""

from __future__ import annotations

import csv
import hashlib
import io

import numpy as np
import pytest
from scipy import signal

from analysis.ratings import read_ratings_file
from analysis.screening import screen
from dmc.audio import encode_mp3
from dmc.contracts.manifest import Condition, Manifest, PassageEntry
from evaluation.design import load_design, plan_for_rater

RATE = 44100
SECONDS = 10.0
METHODS = ("target", "console", "random", "mono", "anchor_7k", "anchor_3k5")
ROUND_BYTES = 4096  # webapp.blinding rounds served lengths up to this
CONFIG = "reference: hidden\nanchors: true\nheadphone_check: true\ntraining:\n  trials: 1\n"


def stereo_music(seed: int) -> np.ndarray:
    """A 10 s stereo band-ish signal: a bass line, a chord spread wide, hats and a snare."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(SECONDS * RATE)) / RATE
    bass = 0.3 * np.sin(2 * np.pi * 55 * (1 + (t % 2 > 1) * 0.5) * t)
    chord = [0.08 * np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) for f in (262, 330, 392, 523)]
    hats = rng.standard_normal(t.size) * (np.sin(2 * np.pi * 4 * t) > 0.8) * 0.06
    snare = rng.standard_normal(t.size) * (np.sin(2 * np.pi * 1 * t) > 0.95) * 0.2
    left = bass + chord[0] + chord[1] + 0.4 * chord[2] + hats + snare
    right = bass + 0.4 * chord[1] + chord[2] + chord[3] + np.roll(hats, 441) + snare
    return np.stack([left, right]).astype(np.float32)


def condition_audio(method: str, music: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if method == "target":
        return music
    if method == "console":
        return music * np.array([[0.9], [1.1]], dtype=np.float32)
    if method == "random":
        return music[::-1] * rng.uniform(0.5, 1.0, (2, 1)).astype(np.float32)
    if method == "mono":
        return np.repeat(music.mean(axis=0, keepdims=True), 2, axis=0)
    cutoff = 7000.0 if method == "anchor_7k" else 3500.0
    sos = signal.butter(8, cutoff, fs=RATE, output="sos")
    return signal.sosfilt(sos, music, axis=-1).astype(np.float32)


@pytest.fixture(scope="module")
def render(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ten-seconds")
    entries = []
    for i in range(2):
        music = stereo_music(i)
        conditions = []
        for k, method in enumerate(METHODS):
            name = (
                "audio/" + hashlib.sha256(f"drums/{i}/{method}".encode()).hexdigest()[:16] + ".mp3"
            )
            encode_mp3(folder / name, condition_audio(method, music, 10 * i + k), RATE)
            digest = hashlib.sha256((folder / name).read_bytes()).hexdigest()
            conditions.append(Condition(method, name, digest, -23.0, -2.0, SECONDS))
        entries.append(
            PassageEntry(f"song{i}@{30 * i:07.2f}s", f"song{i}", 30.0 * i, SECONDS, conditions)
        )
    Manifest({"drums": entries}, "2026-01-01T00:00:00Z", "0.1.0", RATE).save(
        folder / "manifest.json"
    )
    (folder / "test.yaml").write_text(CONFIG)
    return folder


@pytest.fixture
def app(make_app, render):
    return make_app(
        MANIFEST_PATH=str(render / "manifest.json"), TEST_CONFIG=str(render / "test.yaml")
    )


def test_every_file_of_a_ten_second_trial_is_served_at_the_largest_files_length(
    app, render, rater_client
):
    rater = rater_client(app.test_client())
    for trial_id in rater.status()["trial_ids"]:
        trial = rater.trial(trial_id)
        on_disk, served = [], set()
        for condition in trial["conditions"]:
            with rater.client.get(condition["url"]) as response:
                assert response.status_code == 200
                served.add(len(response.data))
            on_disk.append((render / condition["url"].removeprefix("/audio/")).stat().st_size)
        # the files differ by more than the rounding of the served length: padding to any
        # file but the largest makes the larger ones longer than the rest
        assert max(on_disk) - min(on_disk) > 4 * ROUND_BYTES, (trial_id, on_disk)
        assert len(served) == 1, (trial_id, sorted(served))
        assert served.pop() >= max(on_disk) + ROUND_BYTES


def careful_ratings(design, rater_id: str, trial_id: str) -> dict[str, float]:
    """The ratings of a rater who hears what is there: the target at the top, the anchors low."""
    labels = next(t for t in plan_for_rater(design, rater_id).trials if t.trial_id == trial_id)
    scores = {"target": 1.0, "console": 0.8, "random": 0.45, "mono": 0.55}
    scores |= {"anchor_7k": 0.3, "anchor_3k5": 0.1}
    return {label: scores[method] for label, method in labels.labels}


def take_the_test(rater, design, plays_of) -> dict[str, dict[str, int]]:
    """Every trial, each letter played ``plays_of(position)`` times; returns the plays sent."""
    sent = {}
    for trial_id in rater.status()["trial_ids"]:
        ratings = careful_ratings(design, rater.rater_id, trial_id)
        plays = {label: plays_of(i) for i, label in enumerate(sorted(ratings))}
        body = {"ratings": ratings, "plays": plays, "time_on_trial_ms": 60000, "comment": None}
        assert rater.submit(trial_id, body).status_code == 200
        sent[trial_id] = plays
    return sent


def exported(app, admin_login, tmp_path):
    admin = app.test_client()
    admin_login(admin)
    text = admin.get("/admin/export/ratings.csv").data.decode()
    path = tmp_path / "ratings.csv"
    path.write_text(text)
    return list(csv.DictReader(io.StringIO(text))), path


def test_each_letters_plays_are_stored_with_its_method(
    app, render, rater_client, admin_login, tmp_path
):
    rater = rater_client(app.test_client())
    design = load_design(render / "manifest.json", render / "test.yaml")
    sent = take_the_test(rater, design, plays_of=lambda i: i + 1)  # A once, B twice, ...
    rows, _ = exported(app, admin_login, tmp_path)
    # each method's row holds the count of the letter it was behind for this rater
    method_of = {t.trial_id: t.method_of for t in plan_for_rater(design, rater.rater_id).trials}
    stored = {(r["trial_id"], r["method"]): int(r["plays"]) for r in rows}
    assert stored == {
        (t, method_of[t][label]): n for t, plays in sent.items() for label, n in plays.items()
    }
    assert len(set(stored.values())) == len(METHODS)  # six different counts, one per letter


def test_the_default_screening_excludes_the_rater_who_failed_the_headphone_check(
    app, render, rater_client, admin_login, tmp_path
):
    client = app.test_client()
    passed, failed = rater_client(client, intro=False), rater_client(client, intro=False)
    passed.pass_intro(headphones_right=True)
    failed.pass_intro(headphones_right=False)
    design = load_design(render / "manifest.json", render / "test.yaml")
    for rater in (passed, failed):
        take_the_test(rater, design, plays_of=lambda i: 1)
    rows, path = exported(app, admin_login, tmp_path)
    assert {(r["rater_id"], r["headphone_check"]) for r in rows} == {
        (passed.rater_id, "passed"),
        (failed.rater_id, "failed"),
    }
    result = screen(read_ratings_file(path))  # the default rules, as `python -m analysis` uses
    report = result.report.set_index("rater_id")
    assert bool(report.loc[failed.rater_id, "headphones_excluded"]) is True
    assert bool(report.loc[failed.rater_id, "excluded"]) is True
    # the careful rater with headphones passes every rule and is all that is kept
    assert not report.loc[passed.rater_id, ["headphones_excluded", "excluded"]].any()
    assert set(result.ratings["rater_id"]) == {passed.rater_id}

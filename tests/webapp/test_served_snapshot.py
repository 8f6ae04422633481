"""A served test is immutable: nothing done to the render folder changes what raters hear.

Issue 30's finding, the other way round: a test with anchors is served, raters take it,
then the render folder is rendered again without the anchors (other audio, stale files
removed), then deleted, then ``serve`` is restarted with the same command. Every
stimulus of every planned rater (conditions, open references, the volume page's
audio) still answers 200 with the same bytes, their trials are unchanged, and they can
go on rating. Which test is served changes only when the experimenter starts a new one.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import urllib.request

import pytest

from webapp.commands.common import BadInput
from webapp.commands.serve import choose_test
from webapp.services.snapshots import STIMULI_FOLDER, record_serving, serving

from .conftest import call_json

CONFIG = "reference: both\nanchors: true\ntrials_per_rater: 3\n"
NO_ANCHORS = ("target", "console", "demucs", "random", "mono")


def _bytes(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=20) as response:
        assert response.status == 200
        return response.read()


def _rater(base: str) -> tuple[str, dict[str, dict]]:
    """A rater through the steps before the trials; their trials as the API shows them."""
    api = f"{base}/api/raters"
    token = call_json(api, {"consent": True})["token"]
    form = {"experience_years": 3, "role": "musician", "playback_device": "earbuds"}
    call_json(f"{api}/{token}/questionnaire", form)
    call_json(f"{api}/{token}/volume", {})
    ids = call_json(f"{api}/{token}")["trial_ids"]
    return token, {trial_id: call_json(f"{api}/{token}/trials/{trial_id}") for trial_id in ids}


def _stimuli(raters: dict[str, dict[str, dict]]) -> list[str]:
    """Every audio URL the raters' plans use: each letter, each open reference, the volume's."""
    urls = {f"/calibration-audio/{token}" for token in raters}
    for trials in raters.values():
        for trial in trials.values():
            urls.update(c["url"] for c in trial["conditions"])
            urls.add(trial["reference_url"])
    return sorted(urls)


def test_a_rerender_or_a_deleted_render_changes_nothing_raters_hear(
    tmp_path, server_process, render_writer
):
    render = tmp_path / "render"
    render_writer(render, {"drums": 3, "full": 2})  # with both anchors
    config = tmp_path / "test.yaml"
    config.write_text(CONFIG)
    server = server_process(
        ("--config", str(config), "--server", "waitress"), manifest=render / "manifest.json"
    ).start()
    raters = dict(_rater(server.url) for _ in range(3))
    linked = subprocess.run(
        [sys.executable, "-m", "webapp", "create-raters", "1"]
        + ["--instance", str(server.instance)],
        capture_output=True,
        text=True,
        timeout=60,
        env=server.env,
        cwd=tmp_path,
        check=False,
    )
    assert linked.returncode == 0 and linked.stderr == "", linked.stderr
    link = linked.stdout.split("\t")[1].strip()
    assert link.startswith(f"{server.url}/r/")  # where serve listens, not localhost:5000
    link = link.removeprefix(server.url)  # (a restart below listens on another free port)
    urls = _stimuli(raters)
    letters = {len(t["conditions"]) for trials in raters.values() for t in trials.values()}
    assert letters <= {6, 7} and 7 in letters  # drums: hidden reference, 4 systems, 2 anchors
    before = {url: _bytes(server.url + url) for url in urls}
    assert len(before) > 3 * 3  # every letter and reference of 3 raters x 3 trials

    def unchanged(moment: str) -> None:
        for url, body in before.items():
            assert _bytes(server.url + url) == body, (moment, url)
        for token, trials in raters.items():
            for trial_id, trial in trials.items():
                shown = call_json(f"{server.url}/api/raters/{token}/trials/{trial_id}")
                assert shown == trial, (moment, trial_id)
        assert urllib.request.urlopen(server.url + link, timeout=20).status == 200

    # The README's opening render again, without --anchors: stale files go, the rest is
    # rendered anew (other audio under the same names), the manifest rewritten.
    shutil.rmtree(render / "audio")
    render_writer(render, {"drums": 3, "full": 2}, methods=NO_ANCHORS)
    unchanged("after a re-render without anchors")
    shutil.rmtree(render)
    unchanged("after the render folder was deleted")

    server.stop()  # started again with the same command: the same test, the render gone
    server.start()
    log = server.log.read_text()
    assert "(as before)" in log and "(gone) since this test was snapshotted" in log
    unchanged("after a restart")

    # And the raters go on: a trial saved now, in the rater's order.
    trials = next(iter(raters.values()))
    first = next(iter(trials.values()))
    labels = [c["label"] for c in first["conditions"]]
    ratings = dict.fromkeys(labels, 0.5) | {labels[0]: 1.0}
    plays = dict.fromkeys(labels, 1) | {"reference": 1}
    saved = call_json(
        f"{server.url}{first['submit_url']}",
        {"ratings": ratings, "plays": plays, "time_on_trial_ms": 1000},
    )
    assert saved["saved"] is True
    assert any((server.instance / STIMULI_FOLDER).iterdir())


def _serve(app, config=None, manifest=None, new_test=False):
    app.config["MANIFEST_PATH"] = str(manifest) if manifest else app.config["MANIFEST_PATH"]
    app.config["TEST_CONFIG"] = str(config) if config else None
    with app.app_context():
        test, lines = choose_test(app, new_test, manifest, config)
        record_serving(test, "http://127.0.0.1:8000")
    return test, lines


def test_a_test_raters_are_taking_is_replaced_only_when_asked(
    make_app, tmp_path, rater_client, render_writer
):
    render = tmp_path / "render"
    manifest = render_writer(render, {"drums": 2, "full": 1})
    first_config, other_config = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first_config.write_text("seed: 1\n")
    other_config.write_text("seed: 2\nreference: open\n")
    app = make_app(MANIFEST_PATH=str(manifest))
    first, lines = _serve(app, first_config)
    assert lines == [f"serving {first.describe()} (new)"]
    # Nobody is taking it yet: another config simply makes the next test.
    second, _ = _serve(app, other_config)
    assert second.test_id != first.test_id
    app.config["SERVE_SNAPSHOT"] = True
    rater = rater_client(app.test_client())
    # Now raters are: another config is refused, the same files again are the same test.
    with pytest.raises(BadInput, match=r"1 rater\(s\) planned on it have not finished"):
        _serve(app, first_config)
    render_writer(render, {"drums": 3, "full": 1})  # an import: the files changed
    again, lines = _serve(app, other_config)
    assert again.test_id == second.test_id and lines[0].endswith("(as before)")
    assert "(re-rendered or imported into) since this test was snapshotted" in lines[1]
    with app.app_context():
        assert choose_test(app, False)[0].test_id == second.test_id  # no options: the same
    third, lines = _serve(app, other_config, new_test=True)  # deliberately a new test
    assert third.test_id not in (first.test_id, second.test_id) and third.trials == 4
    assert lines[1].startswith(f"1 rater(s) of test {second.test_id} had not finished;")
    with app.app_context():
        assert serving().test_id == third.test_id
    assert rater.status()["total"] >= 1


def test_the_admin_page_says_which_render_the_test_is_running(
    make_app, tmp_path, admin_login, render_writer
):
    render = tmp_path / "render"
    manifest = render_writer(render, {"drums": 2, "full": 1})
    app = make_app(MANIFEST_PATH=str(manifest), SERVE_SNAPSHOT=True)
    test, _ = _serve(app)
    client = app.test_client()
    admin_login(client)
    page = client.get("/admin/").data.decode()
    assert f"Test <code>{test.test_id}</code>: the render <code>{manifest}</code>" in page
    assert str(test.folder) in page and "sources-changed" not in page
    render_writer(render, {"drums": 2, "full": 1}, methods=NO_ANCHORS)
    page = client.get("/admin/").data.decode()
    assert f"{manifest} (re-rendered or imported into)" in page
    assert f"Test <code>{test.test_id}</code>" in page  # still the same test


def test_a_render_that_appears_after_serve_started_is_snapshotted_once(
    make_app, tmp_path, render_writer, database_url
):
    render = tmp_path / "render"
    app = make_app(
        MANIFEST_PATH=str(render / "manifest.json"),
        SERVE_SNAPSHOT=True,
        SQLALCHEMY_DATABASE_URI=database_url,
    )
    client = app.test_client()
    assert client.get("/").status_code == 503  # nothing rendered yet: the page says how
    render_writer(render, {"drums": 2, "full": 1})
    assert client.get("/").status_code == 200
    with app.app_context():
        recorded = serving()
    assert recorded is not None and recorded.base_url is None
    shutil.rmtree(render)
    assert client.get("/").status_code == 200  # pinned to the snapshot
    # Another server process of the same serve finds the test recorded, not the render.
    other = make_app(
        MANIFEST_PATH=str(render / "manifest.json"),
        SERVE_SNAPSHOT=True,
        SQLALCHEMY_DATABASE_URI=database_url,
    )
    assert other.test_client().get("/").status_code == 200
    with other.app_context():
        assert serving() == recorded

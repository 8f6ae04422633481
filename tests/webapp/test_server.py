"""A real ``python -m webapp serve`` process (gunicorn): crash safety and start-up behaviour."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pytest

from webapp.storage.export import ratings_frame

pytestmark = pytest.mark.slow


def _call(url: str, body: dict | None = None, timeout: float = 10.0) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read() or b"{}")


def _body(trial: dict) -> dict:
    labels = [c["label"] for c in trial["conditions"]]
    ratings = {label: round(0.1 + 0.8 * i / len(labels), 2) for i, label in enumerate(labels)}
    ratings[labels[-1]] = 1.0
    return {"ratings": ratings, "plays": dict.fromkeys(labels, 1), "time_on_trial_ms": 1000}


def test_acknowledged_ratings_survive_kill_9(server_process, tmp_path):
    server = server_process().start()
    acknowledged: list[tuple[str, str, dict]] = []
    stop = threading.Event()
    enough = threading.Event()

    def rate_forever():
        while not stop.is_set():
            try:
                status, rater = _call(
                    f"{server.url}/api/raters", {"consent": True, "simulated": True}
                )
                if status != 201:
                    return
                base = f"{server.url}/api/raters/{rater['token']}"
                intro = {"experience_years": 3, "role": "producer", "playback_device": "earbuds"}
                _call(f"{base}/questionnaire", intro)
                _call(f"{base}/volume", {})
                _, info = _call(f"{server.url}/api/raters/{rater['token']}")
                for trial_id in info["trial_ids"]:
                    _, trial = _call(f"{server.url}/api/raters/{rater['token']}/trials/{trial_id}")
                    body = _body(trial)
                    status, answer = _call(
                        f"{server.url}/api/raters/{rater['token']}/trials/{trial_id}", body
                    )
                    if status == 200 and answer["saved"]:
                        acknowledged.append((rater["rater_id"], trial_id, body))
                        if len(acknowledged) >= 30:
                            enough.set()
            except (OSError, http.client.HTTPException, ValueError):
                return  # the server is gone (killed mid-request or mid-answer)

    writers = [threading.Thread(target=rate_forever) for _ in range(3)]
    for w in writers:
        w.start()
    assert enough.wait(60), (
        f"only {len(acknowledged)} ratings acknowledged: {server.log.read_text()[-1500:]}"
    )
    server.kill()  # SIGKILL while the writers are still submitting
    stop.set()
    for w in writers:
        w.join(30)
    snapshot = list(acknowledged)

    restarted = server_process().start()
    frame = ratings_frame(f"sqlite:///{tmp_path / 'instance' / 'dmc-listening.sqlite'}")
    stored: dict[tuple[str, str], list[float]] = {}
    for row in frame.itertuples():
        stored.setdefault((row.rater_id, row.trial_id), []).append(row.rating)
    assert len(snapshot) >= 30
    for rater_id, trial_id, body in snapshot:
        assert (rater_id, trial_id) in stored, f"acknowledged rating lost: {rater_id} {trial_id}"
        assert sorted(stored[(rater_id, trial_id)]) == sorted(body["ratings"].values())
    assert frame.groupby(["rater_id", "trial_id", "method"]).size().max() == 1
    # The restarted server answers for the same raters.
    _, info = _call(f"{restarted.url}/healthz")
    assert info["test"] is True
    restarted.stop()


def test_serve_starts_without_a_render_and_says_how(server_process, tmp_path):
    # No --manifest, no $DMC_MANIFEST, no ./renders/testset: nothing to serve.
    server = server_process(rendered=False).start()
    with pytest.raises(urllib.error.HTTPError) as page:
        urllib.request.urlopen(f"{server.url}/", timeout=5)
    assert page.value.code == 503
    assert "python -m dmc.render testset" in page.value.read().decode()
    page.value.close()
    _, health = _call(f"{server.url}/healthz")
    assert health["test"] is False and str(tmp_path / "renders" / "testset") in health["problem"]
    server.stop()
    assert "no test yet" in server.log.read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--manifest", "/nonexistent/manifest.json"],
            "no render manifest at /nonexistent/manifest.json",
        ),
        (["--config", "/nonexistent/test.yaml"], "test config not found"),
    ],
)
def test_serve_refuses_bad_arguments(args, message, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "webapp", "serve", "--instance", str(tmp_path / "i"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2 and message in result.stderr


def test_serve_refuses_an_invalid_design(tmp_path, render_dir):
    config = tmp_path / "bad.yaml"
    config.write_text("reference: visible\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "webapp",
            "serve",
            "--instance",
            str(tmp_path / "i"),
            "--manifest",
            str(render_dir),
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2 and "reference must be one of" in result.stderr

"""Fixtures for the web-app tests: a small rendered test, an app per test, rater helpers.

The rendered test is real: short seeded signals encoded to MP3 with
``dmc.audio.encode_mp3`` under opaque names, listed in a manifest written by
``dmc.contracts.manifest.Manifest.save``. Each test gets its own instance folder and database
(SQLite by default; PostgreSQL for tests that ask for ``database_url`` when
``DMC_TEST_POSTGRES_URL`` is set).
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from dmc.audio import encode_mp3
from dmc.contracts.manifest import Condition, Manifest, PassageEntry

SAMPLE_RATE = 44100
ROOT = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "correct horse battery staple"
DRUM_METHODS = ("target", "console", "demucs", "random", "mono", "anchor_7k", "anchor_3k5")


def _signal(seconds: float, seed: int) -> np.ndarray:
    """A stereo chord with seeded noise bursts, float32 ``(2, samples)``."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    chord = sum(
        np.sin(2 * np.pi * f * t) for f in rng.choice([110.0, 220.0, 277.2, 329.6, 440.0], 3)
    )
    bursts = rng.standard_normal(t.size) * (np.sin(2 * np.pi * 2 * t) > 0.9)
    mono = 0.15 * chord / 3 + 0.05 * bursts
    return np.stack([mono, np.roll(mono, 50)]).astype(np.float32)


def write_render(
    folder: Path,
    passages: dict[str, int],
    seconds: float = 1.0,
    methods: tuple[str, ...] = DRUM_METHODS,
) -> Path:
    """Render a tiny test set: ``{task: number of passages}``; returns the manifest path."""
    tasks = {}
    seed = 0
    every = methods
    for task, count in passages.items():
        methods = every if task == "drums" else tuple(m for m in every if m != "demucs")
        entries = []
        for i in range(count):
            conditions = []
            for method in methods:
                seed += 1
                name = (
                    "audio/"
                    + hashlib.sha256(f"{task}/{i}/{method}".encode()).hexdigest()[:16]
                    + ".mp3"
                )
                encode_mp3(folder / name, _signal(seconds, seed), SAMPLE_RATE)
                digest = hashlib.sha256((folder / name).read_bytes()).hexdigest()
                conditions.append(Condition(method, name, digest, -23.0, -2.0, seconds))
            entries.append(
                PassageEntry(f"song{i}@{10 * i:07.2f}s", f"song{i}", 10.0 * i, seconds, conditions)
            )
        tasks[task] = entries
    manifest = Manifest(tasks, "2026-01-01T00:00:00Z", "0.1.0", SAMPLE_RATE, seeds={"random": 0})
    return manifest.save(folder / "manifest.json")


@pytest.fixture
def render_writer():
    """:func:`write_render`, for tests that render (and render again) a test of their own."""
    return write_render


@pytest.fixture(scope="session")
def render_dir(tmp_path_factory) -> Path:
    """Two drums passages and one full-mix passage, 1 s each (session-wide, read-only)."""
    folder = tmp_path_factory.mktemp("render")
    write_render(folder, {"drums": 2, "full": 1})
    return folder


def _postgres_url() -> str | None:
    url = os.environ.get("DMC_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail(
                "CI is set but DMC_TEST_POSTGRES_URL is not: the PostgreSQL tests must run in CI"
            )
        pytest.skip(
            "DMC_TEST_POSTGRES_URL is not set (start a PostgreSQL server to run these tests)"
        )
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """Both storage back ends: a fresh SQLite file, or the emptied PostgreSQL test database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'instance' / 'ratings.sqlite'}"
    request.applymarker(pytest.mark.postgres)
    url = _postgres_url()
    from webapp.storage import models  # noqa: F401
    from webapp.storage.db import Base

    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:  # the export view would block dropping its tables
            connection.execute(sa.text("DROP VIEW IF EXISTS rating_export"))
        Base.metadata.drop_all(engine)
    finally:
        engine.dispose()
    return url


@pytest.fixture
def make_app(tmp_path, render_dir):
    """Build an app on a temporary instance folder; keyword arguments override settings."""
    from webapp import create_app

    def build(**overrides):
        config = {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'instance' / 'ratings.sqlite'}",
            "MANIFEST_PATH": str(render_dir / "manifest.json"),
            "TEST_CONFIG": None,
            "ADMIN_PASSWORD": ADMIN_PASSWORD,
        }
        config.update(overrides)
        app = create_app(config)
        built.append(app)
        return app

    built: list = []
    yield build
    from webapp.storage.db import db

    for app in built:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


def valid_submission(trial: dict, top: str | None = None, seed: int = 0) -> dict:
    """Ratings for every letter (one at 1.0), one play each, like a careful rater."""
    rng = np.random.default_rng(seed)
    labels = [c["label"] for c in trial["conditions"]]
    ratings = {label: round(float(rng.uniform(0, 0.95)), 2) for label in labels}
    ratings[top or labels[0]] = 1.0
    plays = dict.fromkeys(labels, 1)
    if trial["reference_url"]:
        plays["reference"] = 2
    return {"ratings": ratings, "plays": plays, "time_on_trial_ms": 12345, "comment": None}


class RaterClient:
    """A rater driven through the JSON API and the form pages of a Flask test client.

    By default the rater goes through the steps before the trials at once (questionnaire,
    volume, and the headphone check with right answers when the test has one), so that
    trials can be submitted; ``intro=False`` leaves them to the test.
    """

    def __init__(self, client, simulated: bool = False, intro: bool = True) -> None:
        self.client = client
        response = client.post("/api/raters", json={"consent": True, "simulated": simulated})
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        self.token, self.rater_id = body["token"], body["rater_id"]
        self.intro_done = False
        if intro:
            self.pass_intro()

    def status(self) -> dict:
        return self.client.get(f"/api/raters/{self.token}").get_json()

    def trial(self, trial_id: str) -> dict:
        response = self.client.get(f"/api/raters/{self.token}/trials/{trial_id}")
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def submit(self, trial_id: str, body: dict | None = None, seed: int = 0):
        body = body if body is not None else valid_submission(self.trial(trial_id), seed=seed)
        return self.client.post(f"/api/raters/{self.token}/trials/{trial_id}", json=body)

    def pass_intro(self, headphones_right: bool = True) -> None:
        """Questionnaire, volume and (when the test has one) the headphone check."""
        if self.intro_done:
            return
        base = f"/r/{self.token}"
        form = {
            "experience_years": "7",
            "role": "mixing_engineer",
            "playback_device": "studio_monitors",
        }
        assert self.client.post(f"{base}/questionnaire", data=form).status_code == 303
        assert self.client.post(f"{base}/volume", data={"volume_ok": "yes"}).status_code == 303
        if self.status()["stage"] == "headphones":
            answers = self.headphone_answers(right=headphones_right)
            form = {f"answer-{i}": str(a) for i, a in enumerate(answers)}
            assert self.client.post(f"{base}/headphones", data=form).status_code == 303
        self.intro_done = True

    def headphone_answers(self, right: bool = True) -> list[int]:
        """The right answers of this rater's headphone check (or wrong ones)."""
        from webapp.services.headphones import answer_key, correct_answers

        app = self.client.application
        with app.app_context():
            from webapp.services.study import study_status

            trials = study_status().study.design.config.headphone_check.trials
        key = correct_answers(answer_key(app.config["SECRET_KEY"], self.token, trials))
        return key if right else [a % 3 + 1 for a in key]

    def finish_all_trials(self, seed: int = 0) -> None:
        for i, trial_id in enumerate(self.status()["trial_ids"]):
            response = self.submit(trial_id, seed=seed + i)
            assert response.status_code == 200, response.get_json()


@pytest.fixture
def rater_client():
    return RaterClient


@pytest.fixture
def submission():
    return valid_submission


@pytest.fixture
def admin_login():
    """Log a test client in as admin; returns the session's CSRF token."""

    def login(client) -> str:
        client.get("/admin/login")
        with client.session_transaction() as session:
            token = session["csrf"]
        response = client.post(
            "/admin/login", data={"password": ADMIN_PASSWORD, "csrf_token": token}
        )
        assert response.status_code == 303
        with client.session_transaction() as session:
            return session["csrf"]

    return login


# --------------------------------------------------------------------------- real server


def call_json(url: str, body: dict | None = None) -> dict:
    """GET (or POST ``body`` as) JSON at ``url`` of a real server; its decoded answer."""
    import json

    request = urllib.request.Request(
        url,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="GET" if body is None else "POST",
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        return json.loads(response.read())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """``python -m webapp serve`` in a subprocess on a free loopback port."""

    def __init__(
        self,
        instance: Path,
        manifest: Path | None,
        extra_args: tuple[str, ...] = (),
        env: dict | None = None,
        cwd: Path = ROOT,
    ):
        self.instance, self.manifest, self.extra_args, self.cwd = (
            instance,
            manifest,
            extra_args,
            cwd,
        )
        self.env = {
            **os.environ,
            "DMC_SECRET_KEY": "x" * 48,
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.env.pop("DMC_MANIFEST", None)
        self.process: subprocess.Popen | None = None
        self.port = 0
        self.log = instance.parent / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 30.0) -> ServerProcess:
        self.port = free_port()
        command = [
            sys.executable,
            "-m",
            "webapp",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--instance",
            str(self.instance),
            *self.extra_args,
        ]
        if self.manifest is not None:
            command += ["--manifest", str(self.manifest)]
        self._log_handle = open(self.log, "ab")  # noqa: SIM115 (closed in kill/stop)
        self.process = subprocess.Popen(
            command, cwd=self.cwd, env=self.env, stdout=self._log_handle, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.process.returncode}: {self.log.read_text()[-2000:]}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"server did not answer within {timeout_s} s: {self.log.read_text()[-2000:]}"
        )

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flushing, like a crash."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self._log_handle.close()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if not self._log_handle.closed:
            self._log_handle.close()


@pytest.fixture(scope="module")
def bs1534_server(tmp_path_factory):
    """A real server of the shipped ``evaluation/configs/bs1534.yaml`` on nine passages.

    Five drums and four full-mix passages: six scored per rater, two training passages
    from the other three, and one left over for the volume page.
    """
    yield from _config_server(
        tmp_path_factory, "bs1534", ROOT / "evaluation" / "configs" / "bs1534.yaml", copy=True
    )


def _config_server(tmp_path_factory, name: str, config: Path, copy: bool = False):
    """A real server (waitress) of ``config`` on nine passages, five drums and four full;
    ``copy`` serves a copy of the config from the test's folder (which tests may edit)."""
    folder = tmp_path_factory.mktemp(name)
    write_render(folder / "render", {"drums": 5, "full": 4})
    if copy:
        (folder / "test.yaml").write_text(config.read_text())
        config = folder / "test.yaml"
    server = ServerProcess(
        folder / "instance",
        folder / "render" / "manifest.json",
        ("--config", str(config), "--server", "waitress"),
        cwd=folder,
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mushra_server(tmp_path_factory):
    """A real server of the shipped ``evaluation/configs/mushra100.yaml`` (bs1534.yaml on a
    0-100 scale) on nine passages, as :func:`bs1534_server`."""
    yield from _config_server(
        tmp_path_factory, "mushra100", ROOT / "evaluation" / "configs" / "mushra100.yaml"
    )


@pytest.fixture
def server_process(tmp_path, render_dir):
    """Factory of server processes sharing one instance folder; all stopped at the end."""
    started: list[ServerProcess] = []

    def make(
        extra_args: tuple[str, ...] = (),
        env: dict | None = None,
        rendered: bool = True,
        manifest: Path | None = None,
    ) -> ServerProcess:
        if manifest is None and rendered:
            manifest = render_dir / "manifest.json"
        server = ServerProcess(tmp_path / "instance", manifest, extra_args, env, cwd=tmp_path)
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()

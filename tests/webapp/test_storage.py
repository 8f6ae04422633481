"""Storage on both back ends (SQLite; PostgreSQL when DMC_TEST_POSTGRES_URL is set).

Idempotent resubmission, concurrent double submits, balanced subsets under concurrent
rater creation, and the analysis hand-over (:func:`webapp.storage.export.ratings_frame`).
"""

from __future__ import annotations

import csv
import io
import threading
from collections import Counter

import pytest
from sqlalchemy import func, select, text

from dmc.contracts.ratings import EXPORT_COLUMNS
from webapp.storage.db import db
from webapp.storage.export import questionnaire_frame, ratings_frame
from webapp.storage.models import Assignment, Rating, TrialResult


def _run_threads(target, count: int) -> list:
    results: list = [None] * count
    errors: list = []

    def run(i):
        try:
            results[i] = target(i)
        except Exception as exc:  # noqa: BLE001 (collected and re-raised in the test thread)
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    if errors:
        raise errors[0]
    return results


def test_concurrent_double_submits_store_one_row_per_method(
    make_app, database_url, rater_client, submission
):
    app = make_app(SQLALCHEMY_DATABASE_URI=database_url)
    rater = rater_client(app.test_client())
    trial_id = rater.status()["trial_ids"][0]
    trial = rater.trial(trial_id)
    bodies = [submission(trial, seed=i % 2) for i in range(8)]  # two answers, four times each

    def submit(i):
        client = app.test_client()
        response = client.post(f"/api/raters/{rater.token}/trials/{trial_id}", json=bodies[i])
        return response.status_code, (response.get_json() or {}).get("resubmitted")

    answers = _run_threads(submit, 8)
    # The first one in is saved; its three twins are harmless resubmissions, the other four
    # would change a saved trial and are refused.
    assert sorted(answers, key=str) == sorted(
        [(200, False)] + [(200, True)] * 3 + [(409, None)] * 4, key=str
    )
    with app.app_context():
        rows = db.session.execute(select(Rating.label, Rating.rating)).all()
        assert db.session.scalar(select(func.count()).select_from(TrialResult)) == 1
    assert len(rows) == len(trial["conditions"])
    assert dict(rows) in [b["ratings"] for b in bodies]  # one complete submission, never a mix


def test_concurrent_raters_get_unique_ids_and_balanced_subsets(make_app, database_url, tmp_path):
    config = tmp_path / "test.yaml"
    config.write_text("trials_per_rater: 1\n")
    app = make_app(SQLALCHEMY_DATABASE_URI=database_url, TEST_CONFIG=str(config))

    def create(_):
        response = app.test_client().post("/api/raters", json={"consent": True})
        assert response.status_code == 201
        return response.get_json()["rater_id"]

    ids = _run_threads(create, 12)
    assert len(set(ids)) == 12
    with app.app_context():
        counts = Counter(
            db.session.scalars(select(Assignment.trial_id).where(~Assignment.is_training))
        )
    assert sorted(counts.values()) == [4, 4, 4]  # 12 raters over 3 trials, exactly balanced


def test_ratings_frame_matches_the_csv_export(make_app, database_url, rater_client, admin_login):
    app = make_app(SQLALCHEMY_DATABASE_URI=database_url)
    client = app.test_client()
    raters = [rater_client(client), rater_client(client, simulated=True)]
    for i, rater in enumerate(raters):
        rater.finish_all_trials(seed=10 * i)
    frame = ratings_frame(database_url)
    assert tuple(frame.columns) == EXPORT_COLUMNS
    assert len(frame) == 2 * 19
    assert frame.groupby(["rater_id", "trial_id", "method"]).size().max() == 1
    assert set(frame["is_simulated"]) == {True, False} and frame["rating"].between(0, 1).all()
    assert str(frame["plays"].dtype) == "int64" and (frame["time_on_trial_ms"] == 12345).all()
    admin_login(client)
    exported = list(
        csv.DictReader(io.StringIO(client.get("/admin/export/ratings.csv").data.decode()))
    )
    assert [r["rater_id"] for r in exported] == list(frame["rater_id"])
    assert [float(r["rating"]) for r in exported] == list(frame["rating"])
    assert [r["submitted_at"] for r in exported] == list(frame["submitted_at"])
    people = questionnaire_frame(database_url).set_index("rater_id")
    assert list(people.index) == [r.rater_id for r in raters]
    assert (
        list(people["trials_done"]) == [4, 4]
        and people.loc[raters[0].rater_id, "role"] == "mixing_engineer"
    )


def test_default_database_url_is_used_by_the_frames(monkeypatch, tmp_path, make_app, rater_client):
    monkeypatch.setenv("DMC_WEBAPP_INSTANCE", str(tmp_path / "elsewhere"))
    monkeypatch.delenv("DMC_DATABASE_URL", raising=False)
    from webapp.config import default_database_url, default_instance_path

    assert default_instance_path() == tmp_path / "elsewhere"
    url = default_database_url()
    assert url == f"sqlite:///{tmp_path / 'elsewhere' / 'dmc-listening.sqlite'}"
    app = make_app(SQLALCHEMY_DATABASE_URI=url, INSTANCE_PATH=str(tmp_path / "elsewhere"))
    rater_client(app.test_client()).finish_all_trials()
    assert len(ratings_frame()) == 19
    monkeypatch.setenv("DMC_DATABASE_URL", "sqlite:////nowhere/x.sqlite")
    assert default_database_url() == "sqlite:////nowhere/x.sqlite"


@pytest.mark.parametrize(("setting", "level"), [(None, 1), ("FULL", 2)])
def test_sqlite_runs_in_wal_mode_with_durable_commits(make_app, setting, level):
    app = make_app(**({"SQLITE_SYNCHRONOUS": setting} if setting else {}))
    with app.app_context():
        connection = db.session.connection()
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA synchronous")).scalar() == level  # NORMAL by default
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 15000
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_bad_sqlite_synchronous_setting_is_refused(make_app):
    with pytest.raises(
        ValueError, match="SQLITE_SYNCHRONOUS must be FULL, EXTRA or NORMAL, got 'OFF'"
    ):
        make_app(SQLITE_SYNCHRONOUS="OFF")


def test_a_busy_database_answers_503_saves_nothing_and_the_retry_lands(
    make_app, rater_client, submission
):
    from webapp.storage.db import _sqlite_write_lock

    app = make_app(SQLITE_BUSY_TIMEOUT_MS=200)
    rater = rater_client(app.test_client())
    trial_id = rater.status()["trial_ids"][0]
    body = submission(rater.trial(trial_id))
    with app.app_context():
        lock = _sqlite_write_lock(db.engine)
    assert lock.acquire()  # another writer of this process holds the write slot
    try:
        response = rater.submit(trial_id, body)
    finally:
        lock.release()
    assert response.status_code == 503 and response.headers["Retry-After"] == "2"
    assert "nothing was saved" in response.get_json()["error"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Rating)) == 0
    retry = rater.submit(trial_id, body)
    assert retry.status_code == 200 and retry.get_json()["resubmitted"] is False
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Rating)) == len(body["ratings"])

"""Rough edges of the rater's path, each tried the way it went wrong.

A finished rater's questionnaire is final (409, the first answers kept), and headphone
answers are whole numbers 1-3 only. (The volume route's huge numbers are rows of
``test_hostile_input.py``; a trial shown before the steps that come first is refused in
``test_api.py``.)
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from webapp.storage.db import db
from webapp.storage.models import Rater

INTRO = {"experience_years": "7", "role": "mixing_engineer", "playback_device": "studio_monitors"}
CHANGED = {"experience_years": "1", "role": "student", "playback_device": "earbuds"}


def _answers(app, token: str) -> tuple:
    with app.app_context():
        rater = db.session.scalar(select(Rater).where(Rater.token == token))
        return (
            rater.experience_years,
            rater.role,
            rater.playback_device,
            rater.questionnaire_at,
            rater.finished_at,
        )


def test_the_questionnaire_is_final_once_the_test_is_finished(make_app, database_url, rater_client):
    app = make_app(SQLALCHEMY_DATABASE_URI=database_url)
    client = app.test_client()
    rater = rater_client(client)  # questionnaire INTRO answered
    base = f"/r/{rater.token}"
    # Before the end the rater may still correct an answer (and put it back).
    assert client.post(f"{base}/questionnaire", data=CHANGED).status_code == 303
    assert _answers(app, rater.token)[:3] == (1.0, "student", "earbuds")
    assert client.post(f"{base}/questionnaire", data=INTRO).status_code == 303
    rater.finish_all_trials()
    assert client.post(f"{base}/comments", data={"comment": "done"}).status_code == 303
    finished = _answers(app, rater.token)
    assert finished[:3] == (7.0, "mixing_engineer", "studio_monitors")
    assert finished[3] < finished[4]  # answered before finishing

    api = client.post(f"/api/raters/{rater.token}/questionnaire", json=CHANGED)
    assert api.status_code == 409 and "finished" in api.get_json()["error"]
    page = client.post(f"{base}/questionnaire", data=CHANGED)
    assert page.status_code == 409 and b"finished" in page.data
    assert _answers(app, rater.token) == finished  # the first answers, and their time
    # Sending the same answers again (a retry) is harmless: accepted, nothing changes.
    same = client.post(f"/api/raters/{rater.token}/questionnaire", json=INTRO)
    assert same.status_code == 200 and same.get_json()["stage"] == "finish"
    assert _answers(app, rater.token) == finished


@pytest.mark.parametrize(
    "answer", [1.0, 2.0, True, "1.0", " 1e0", None, [1]], ids=lambda a: repr(a)
)
def test_headphone_answers_must_be_whole_numbers(make_app, tmp_path, rater_client, answer):
    config = tmp_path / "test.yaml"
    config.write_text("headphone_check: {trials: 3, min_correct: 2}\n")
    app = make_app(TEST_CONFIG=str(config))
    client = app.test_client()
    rater = rater_client(client, intro=False)
    base = f"/api/raters/{rater.token}"
    client.post(f"{base}/questionnaire", json=INTRO)
    client.post(f"{base}/volume", json={})
    right = rater.headphone_answers()
    refused = client.post(f"{base}/headphones", json={"answers": [answer, *right[1:]]})
    assert refused.status_code == 400 and refused.get_json()["field"] == "answers.0"
    form = {"answer-0": json.dumps(answer), "answer-1": "2", "answer-2": "3"}
    assert client.post(f"/r/{rater.token}/headphones", data=form).status_code == 400
    assert rater.status()["stage"] == "headphones"  # nothing stored
    scored = client.post(f"{base}/headphones", json={"answers": right})
    assert scored.status_code == 200 and scored.get_json()["correct"] == 3
    with app.app_context():
        stored = db.session.scalar(select(Rater.headphone_answers))
    assert stored == "".join(str(a) for a in right) and len(stored) == 3

"""The JSON API and the rater pages through Flask's test client: flow, resume, bad input."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from evaluation.design import plan_for_rater
from webapp.services.study import study_status
from webapp.storage.db import db
from webapp.storage.models import Assignment, Rater, Rating, TrialResult

METHOD_NAMES = ("target", "console", "demucs", "random", "mono", "anchor_7k", "anchor_3k5")


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_full_flow_through_the_pages(make_app, render_dir, tmp_path):
    config = tmp_path / "test.yaml"
    config.write_text("completion:\n  code: ABC-123\n  return_url: https://example.org/done\n")
    app = make_app(TEST_CONFIG=str(config))
    client = app.test_client()
    page = client.get("/?PROLIFIC_PID=worker-7")
    assert page.status_code == 200 and b'value="worker-7"' in page.data
    assert client.post("/start", data={"external_id": "worker-7"}).status_code == 400  # no consent
    started = client.post("/start", data={"consent": "yes", "external_id": "worker-7"})
    assert started.status_code == 303
    link = started.headers["Location"]
    assert b'id="questionnaire"' in client.get(link).data
    bad = client.post(
        f"{link}/questionnaire",
        data={"experience_years": "-3", "role": "producer", "playback_device": "other"},
    )
    assert bad.status_code == 400 and b"between 0 and 80" in bad.data
    form = {
        "experience_years": "12",
        "role": "mixing_engineer",
        "playback_device": "open_headphones",
    }
    assert client.post(f"{link}/questionnaire", data=form).status_code == 303
    assert client.post(f"{link}/volume", data={}).status_code == 400
    assert client.post(f"{link}/volume", data={"volume_ok": "yes"}).status_code == 303
    token = link.rsplit("/", 1)[1]
    seen = []
    for _ in range(4):  # 1 training + 3 trials
        html = client.get(link).data.decode()
        data = json.loads(
            re.search(
                r'<script id="trial-data" type="application/json">(.*?)</script>', html
            ).group(1)
        )
        seen.append(data["trial_id"])
        body = {
            "ratings": {
                c["label"]: (1.0 if i == 0 else 0.3) for i, c in enumerate(data["conditions"])
            },
            "plays": {c["label"]: 1 for c in data["conditions"]},
            "time_on_trial_ms": 5000,
            "comment": "ok",
        }
        assert client.post(data["submit_url"], json=body).status_code == 200
    assert seen[0].startswith("training:") and len(set(seen)) == 4
    assert b'id="comments"' in client.get(link).data
    assert client.post(f"{link}/comments", data={"comment": "nice test"}).status_code == 303
    finish = client.get(link).data.decode()
    assert "ABC-123" in finish and 'href="https://example.org/done"' in finish
    with app.app_context():
        rater = db.session.scalar(select(Rater).where(Rater.token == token))
        assert (rater.external_id, rater.experience_years, rater.role) == (
            "worker-7",
            12.0,
            "mixing_engineer",
        )
        assert rater.final_comment == "nice test" and rater.finished_at is not None
    assert _count(app, TrialResult) == 4


def test_pages_do_not_reveal_methods(client, rater_client):
    rater = rater_client(client)
    html = client.get(f"/r/{rater.token}").data.decode()
    api = json.dumps(rater.trial(rater.status()["next_trial_id"]))
    for text in (html, api):
        for name in METHOD_NAMES:
            assert not re.search(rf"\b{name}\b", text), name


def test_open_reference_is_served_under_an_alias(make_app, tmp_path, rater_client):
    config = tmp_path / "test.yaml"
    config.write_text("reference: both\nanchors: true\n")
    app = make_app(TEST_CONFIG=str(config))
    client = app.test_client()
    rater = rater_client(client)
    trial = rater.trial("drums:song0@0000.00s")
    assert trial["reference_url"] == "/reference-audio/drums:song0@0000.00s"
    urls = {c["url"] for c in trial["conditions"]}
    assert trial["reference_url"] not in urls and len(urls) == 7
    with client.get(trial["reference_url"]) as reference:
        assert reference.status_code == 200 and reference.mimetype == "audio/mpeg"
        reference_etag, reference_bytes = reference.headers["ETag"], reference.data
    # Its own ETag and its own bytes, of the same length as every letter's.
    for url in urls:
        with client.get(url) as response:
            assert response.headers["ETag"] != reference_etag
            assert response.data != reference_bytes and len(response.data) == len(reference_bytes)
    first = rater.status()["next_trial_id"]
    assert rater.submit(first).status_code == 200
    with app.app_context():
        assert db.session.scalar(select(TrialResult.reference_plays)) == 2


def test_plans_are_seeded_by_rater_and_recorded(app, client, rater_client):
    a, b = rater_client(client), rater_client(client)
    with app.app_context():
        design = study_status().study.design
        for rater in (a, b):
            rows = db.session.scalars(
                select(Assignment)
                .join(Rater, Rater.id == Assignment.rater_pk)
                .where(Rater.rater_id == rater.rater_id)
                .order_by(Assignment.position)
            ).all()
            plan = plan_for_rater(design, rater.rater_id)
            assert [(r.trial_id, r.labels) for r in rows] == [
                (t.trial_id, t.method_of) for t in plan.trials
            ]
            assert (
                db.session.scalar(select(Rater.seed).where(Rater.rater_id == rater.rater_id))
                == plan.seed
            )
    assert a.status()["trial_ids"] != b.status()["trial_ids"] or a.trial(
        a.status()["trial_ids"][1]
    ) != b.trial(b.status()["trial_ids"][1])


def test_resume_lands_on_the_first_unfinished_trial(client, rater_client):
    rater = rater_client(client)
    order = rater.status()["trial_ids"]
    assert rater.submit(order[0]).status_code == 200
    ahead = rater.submit(order[2])  # out of order: refused, nothing stored
    assert (
        ahead.status_code == 409 and f"save trial {order[1]!r} first" in ahead.get_json()["error"]
    )
    for _ in range(2):  # a reload shows the same trial
        html = client.get(f"/r/{rater.token}").data.decode()
        assert f'"trial_id": "{order[1]}"' in html
    assert rater.status() | {"trial_ids": None} == {
        "rater_id": rater.rater_id,
        "stage": "trial",
        "done": 1,
        "total": 4,
        "next_trial_id": order[1],
        "trial_ids": None,
    }


def test_a_saved_trial_is_final_and_an_identical_resubmission_harmless(
    app, client, rater_client, submission
):
    rater = rater_client(client)
    trial_id = rater.status()["trial_ids"][0]
    trial = rater.trial(trial_id)
    first = submission(trial, seed=1)
    second = submission(trial, seed=2)
    assert rater.submit(trial_id, first).get_json()["resubmitted"] is False
    again = rater.submit(trial_id, first | {"time_on_trial_ms": 99})  # a retry, a stale tab
    assert again.status_code == 200 and again.get_json()["resubmitted"] is True
    changed = rater.submit(trial_id, second)
    assert changed.status_code == 409 and "cannot be changed" in changed.get_json()["error"]
    recommented = rater.submit(trial_id, first | {"comment": "second thoughts"})
    assert recommented.status_code == 409
    with app.app_context():
        rows = db.session.execute(select(Rating.label, Rating.rating)).all()
        stored = db.session.execute(select(TrialResult.time_on_trial_ms)).scalars().all()
    assert len(rows) == len(trial["conditions"]) and stored == [first["time_on_trial_ms"]]
    assert dict(rows) == first["ratings"]


def test_trials_wait_for_the_steps_before_them(make_app, tmp_path, rater_client, submission):
    config = tmp_path / "test.yaml"
    config.write_text("headphone_check: true\n")
    app = make_app(TEST_CONFIG=str(config))
    client = app.test_client()
    with app.app_context():  # a personal link (create-raters): not agreed yet
        from webapp.services.raters import create_rater
        from webapp.services.study import study_status

        unconsented = create_rater(study_status().study.design, consented=False).token
    rater = rater_client(client, intro=False)
    first = rater.status()["trial_ids"][0]
    early = {"ratings": {"A": 1.0}, "plays": {"A": 1}, "time_on_trial_ms": 1000}

    def refused(token: str, step: str) -> None:
        """Showing the trial and saving it are refused alike, naming the step to do."""
        shown = client.get(f"/api/raters/{token}/trials/{first}")
        saved = client.post(f"/api/raters/{token}/trials/{first}", json=early)
        for response in (shown, saved):
            assert response.status_code == 409, response.get_json()
            assert step in response.get_json()["error"]

    refused(unconsented, "consent")
    base = f"/api/raters/{rater.token}"
    for step, fix in (
        (
            "questionnaire",
            {"experience_years": 3, "role": "producer", "playback_device": "earbuds"},
        ),
        ("volume", {"level_db": -6.0}),
    ):
        refused(rater.token, step)
        assert client.post(f"{base}/{step}", json=fix).status_code == 200
    refused(rater.token, "headphone check")
    # Before any step, a trial outside the plan is still "not part of this rater's test".
    assert client.get(f"{base}/trials/no-such-trial").status_code == 404
    check = client.get(f"{base}/headphones").get_json()
    assert check["trials"] == 6 and len(check["urls"]) == 6
    answers = rater.headphone_answers(right=False)
    scored = client.post(f"{base}/headphones", json={"answers": answers}).get_json()
    assert scored == {"stage": "trial", "passed": False, "correct": 0, "trials": 6}
    again = client.post(f"{base}/headphones", json={"answers": rater.headphone_answers()})
    assert again.status_code == 409 and "only once" in again.get_json()["error"]
    body = submission(rater.trial(first))
    assert rater.submit(first, body).status_code == 200  # a screened rater carries on
    page = client.get(f"/r/{rater.token}").data.decode()
    assert 'id="screened"' not in page  # the notice shows before the first trial only


def _mutations():
    nan, inf = float("nan"), float("inf")
    return [
        ("ratings not an object", lambda b: b.update(ratings=[1, 2]), 400, "ratings must be"),
        ("rating above 1", lambda b: b["ratings"].update(A=1.5), 400, "between 0 and 1"),
        ("rating below 0", lambda b: b["ratings"].update(A=-0.01), 400, "between 0 and 1"),
        ("rating NaN", lambda b: b["ratings"].update(A=nan), 400, "finite"),
        ("rating infinite", lambda b: b["ratings"].update(A=inf), 400, "finite"),
        ("rating a string", lambda b: b["ratings"].update(A="0.5"), 400, "must be a number"),
        ("rating a boolean", lambda b: b["ratings"].update(A=True), 400, "must be a number"),
        ("missing ratings", lambda b: b.pop("ratings"), 400, "missing field 'ratings'"),
        ("missing plays", lambda b: b.pop("plays"), 400, "missing field 'plays'"),
        (
            "missing time",
            lambda b: b.pop("time_on_trial_ms"),
            400,
            "missing field 'time_on_trial_ms'",
        ),
        ("negative time", lambda b: b.update(time_on_trial_ms=-1), 400, "time_on_trial_ms must be"),
        ("fractional plays", lambda b: b["plays"].update(A=1.5), 400, "plays.A must be"),
        ("unknown field", lambda b: b.update(method="console"), 400, "unknown field"),
        (
            "unknown letter",
            lambda b: b["ratings"].update(Z=0.5),
            400,
            r"unknown condition\(s\) \['Z'\]",
        ),
        (
            "missing letter",
            lambda b: b["ratings"].pop("B"),
            400,
            r"missing rating\(s\) for \['B'\]",
        ),
        ("unknown play key", lambda b: b["plays"].update(reference=1), 400, "in plays"),
        ("comment not text", lambda b: b.update(comment=5), 400, "comment must be text"),
        ("unplayed condition", lambda b: b["plays"].update(C=0), 422, "never played"),
        ("none at the top", lambda b: b["ratings"].update(A=0.99), 422, "at the top"),
    ]


@pytest.mark.parametrize(
    ("case", "mutate", "status", "message"), _mutations(), ids=[m[0] for m in _mutations()]
)
def test_bad_submissions_are_refused_and_store_nothing(
    app, client, rater_client, submission, case, mutate, status, message
):
    rater = rater_client(client)
    trial_id = rater.status()["trial_ids"][0]
    body = submission(rater.trial(trial_id), top="A")
    mutate(body)
    response = client.post(
        f"/api/raters/{rater.token}/trials/{trial_id}",
        data=json.dumps(body),  # allows NaN and Infinity, as a careless client would send
        content_type="application/json",
    )
    assert response.status_code == status, response.get_json()
    assert re.search(message, response.get_json()["error"])
    assert _count(app, Rating) == 0 and _count(app, TrialResult) == 0


@pytest.mark.parametrize(
    ("path", "kwargs", "status", "message"),
    [
        ("/api/raters/not-a-token/trials/drums:song0@0000.00s", {"json": {}}, 404, "unknown rater"),
        (
            "/api/raters/{token}/trials/drums:nope",
            {"json": {"ratings": {"A": 1}, "plays": {}, "time_on_trial_ms": 1}},
            404,
            "unknown trial",
        ),
        ("/api/raters/{token}/trials/drums:song0@0000.00s", {"data": "ratings=1"}, 415, "JSON"),
        (
            "/api/raters/{token}/trials/drums:song0@0000.00s",
            {"data": "{not json", "content_type": "application/json"},
            400,
            "not valid JSON",
        ),
        ("/api/raters/{token}/trials/drums:song0@0000.00s", {"json": [1, 2]}, 400, "JSON object"),
        (
            "/api/raters/{token}/trials/drums:song0@0000.00s",
            {"json": {"ratings": {"A": 1}, "pad": "x" * 70000}},
            413,
            "too large",
        ),
        ("/api/raters", {"json": {"consent": False}}, 400, "consent must be true"),
        ("/api/raters", {"json": {"consent": True, "simulated": "yes"}}, 400, "simulated must be"),
        ("/api/raters", {"json": {"consent": True, "admin": True}}, 400, "unknown field"),
    ],
)
def test_bad_requests_get_clear_json_errors(
    app, client, rater_client, path, kwargs, status, message
):
    rater = rater_client(client)
    before = _count(app, Rater)
    response = client.post(path.format(token=rater.token), **kwargs)
    assert response.status_code == status
    assert message in response.get_json()["error"]
    assert _count(app, Rating) == 0 and _count(app, Rater) == before


def test_trial_outside_the_raters_subset_is_refused(make_app, tmp_path, rater_client, submission):
    config = tmp_path / "test.yaml"
    config.write_text("trials_per_rater: 1\ntraining:\n  trials: 0\n")
    app = make_app(TEST_CONFIG=str(config))
    client = app.test_client()
    rater = rater_client(client)
    (mine,) = rater.status()["trial_ids"]
    other = next(
        t
        for t in ("drums:song0@0000.00s", "drums:song1@0000.00s", "full:song0@0000.00s")
        if t != mine
    )
    body = submission(rater.trial(mine))
    response = rater.submit(other, body)
    assert (
        response.status_code == 404
        and "not part of this rater's test" in response.get_json()["error"]
    )
    assert client.get(f"/api/raters/{rater.token}/trials/{other}").status_code == 404
    assert _count(app, Rating) == 0


def test_link_without_consent_asks_for_it_first(app, client, submission):
    from webapp.services.raters import create_rater

    with app.app_context():
        rater = create_rater(study_status().study.design, consented=False)
        token = rater.token
    assert b'id="consent"' in client.get(f"/r/{token}").data
    shown = client.get(f"/api/raters/{token}/trials/drums:song0@0000.00s")
    assert shown.status_code == 409 and "consent" in shown.get_json()["error"]
    early = {"ratings": {"A": 1.0}, "plays": {"A": 1}, "time_on_trial_ms": 1000}
    response = client.post(f"/api/raters/{token}/trials/drums:song0@0000.00s", json=early)
    assert response.status_code == 409 and "consent" in response.get_json()["error"]
    assert client.post(f"/r/{token}/consent", data={"consent": "yes"}).status_code == 303
    assert b'id="questionnaire"' in client.get(f"/r/{token}").data
    assert client.get("/r/unknown-token").status_code == 404


def test_comments_before_the_last_trial_are_refused(client, rater_client):
    rater = rater_client(client)
    response = client.post(f"/r/{rater.token}/comments", data={"comment": "done?"})
    assert response.status_code == 409 and b"not finished yet" in response.data


def test_nothing_rendered_still_starts_and_says_how(make_app, tmp_path):
    app = make_app(MANIFEST_PATH=str(tmp_path / "renders" / "testset"))
    client = app.test_client()
    page = client.get("/")
    assert page.status_code == 503 and b"python -m dmc.render testset" in page.data
    assert client.get("/healthz").get_json()["test"] is False
    response = client.post("/api/raters", json={"consent": True})
    assert response.status_code == 503 and "dmc.render testset" in response.get_json()["error"]


def test_invalid_design_is_reported_not_served(make_app, tmp_path):
    config = tmp_path / "test.yaml"
    config.write_text("conditions: [console, consol]\n")
    client = make_app(TEST_CONFIG=str(config)).test_client()
    page = client.get("/")
    assert page.status_code == 503 and b"unknown condition &#39;consol&#39;" in page.data


def test_security_headers(client):
    response = client.get("/")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"

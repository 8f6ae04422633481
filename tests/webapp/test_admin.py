"""The admin area: password login, CSRF on every state change, dashboard, plot, exports, CLI."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import func, select

from dmc.contracts.ratings import EXPORT_COLUMNS
from webapp.storage.db import db
from webapp.storage.models import Assignment, Rater

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/boxplot.png",
        "/admin/export/ratings.csv",
        "/admin/export/ratings.json",
        "/admin/export/questionnaire.csv",
        "/admin/export/comments.csv",
    ],
)
def test_admin_pages_need_a_login(client, path):
    response = client.get(path)
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_login_rejects_wrong_password_and_missing_csrf(client):
    client.get("/admin/login")
    with client.session_transaction() as session:
        token = session["csrf"]
    wrong = client.post("/admin/login", data={"password": "guess", "csrf_token": token})
    assert wrong.status_code == 401 and b"Wrong password" in wrong.data
    no_csrf = client.post("/admin/login", data={"password": "correct horse battery staple"})
    assert no_csrf.status_code == 400 and b"CSRF" in no_csrf.data
    assert client.get("/admin/").status_code == 302


def test_login_without_any_password_configured_explains(make_app):
    client = make_app(ADMIN_PASSWORD=None).test_client()
    page = client.get("/admin/login")
    assert b"set-admin-password" in page.data


def test_every_state_change_needs_the_csrf_token(app, client, admin_login):
    token = admin_login(client)
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(Rater))
    assert client.post("/admin/raters", data={"count": "2"}).status_code == 400
    assert (
        client.post("/admin/raters", data={"count": "2", "csrf_token": "forged"}).status_code == 400
    )
    assert (
        client.post(
            "/admin/raters", data={"count": "2"}, headers={"X-CSRF-Token": "forged"}
        ).status_code
        == 400
    )
    assert client.post("/admin/logout").status_code == 400
    assert client.get("/admin/logout").status_code == 405  # no state change by GET
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Rater)) == before
    made = client.post("/admin/raters", data={"count": "2", "csrf_token": token})
    assert made.status_code == 303
    page = client.get("/admin/").data.decode()
    assert page.count("/r/") >= 2 and 'id="new-links"' in page
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).select_from(Rater).where(Rater.consented_at.is_(None))
            )
            == 2
        )
    assert (
        client.post("/admin/raters", data={"count": "9999", "csrf_token": token}).status_code == 303
    )
    assert b"between 1 and 500" in client.get("/admin/").data
    assert client.post("/admin/logout", headers={"X-CSRF-Token": token}).status_code == 303
    assert client.get("/admin/").status_code == 302


def test_login_redirect_target_stays_in_admin(client):
    client.get("/admin/login")
    with client.session_transaction() as session:
        token = session["csrf"]
    response = client.post(
        "/admin/login",
        data={
            "password": "correct horse battery staple",
            "csrf_token": token,
            "next": "//evil.example/admin",
        },
    )
    assert response.headers["Location"] == "/admin/"


def _labels(app, rater_id: str, trial_id: str) -> dict[str, str]:
    with app.app_context():
        return db.session.scalar(
            select(Assignment)
            .join(Rater, Rater.id == Assignment.rater_pk)
            .where(Rater.rater_id == rater_id, Assignment.trial_id == trial_id)
        ).labels


def test_dashboard_progress_flags_and_plot(app, client, rater_client, admin_login, submission):
    good, careless, idle = rater_client(client), rater_client(client), rater_client(client)
    for rater, reference_rating in ((good, 1.0), (careless, 0.2)):
        for trial_id in rater.status()["trial_ids"]:
            body = submission(rater.trial(trial_id))
            labels = _labels(app, rater.rater_id, trial_id)
            body["ratings"] = {
                label: (reference_rating if m == "target" else 0.5) for label, m in labels.items()
            }
            body["ratings"][next(label for label, m in labels.items() if m == "console")] = 1.0
            assert rater.submit(trial_id, body).status_code == 200
    admin_login(client)
    page = client.get("/admin/").data.decode()
    rows = {
        r: next(row for row in page.split("<tr") if f"<td>{r.rater_id}" in row)
        for r in (good, careless, idle)
    }
    assert "4/4" in rows[good] and "0/4" in rows[idle]
    assert "BS.1534 screening" not in rows[good] and "0 % of 3" in rows[good]
    assert "BS.1534 screening" in rows[careless] and "100 % of 3" in rows[careless]
    assert "flagged" in rows[careless].split(">", 1)[0]
    trials = page.split('id="trials"', 1)[1]
    assert "drums:song0@0000.00s</td>" in trials
    with client.get("/admin/boxplot.png") as plot:
        assert (
            plot.status_code == 200
            and plot.data.startswith(PNG_MAGIC)
            and plot.mimetype == "image/png"
        )
    with client.get("/admin/boxplot.png?simulated=1") as plot:
        assert plot.data.startswith(PNG_MAGIC)


def test_csv_and_json_exports(client, rater_client, admin_login, submission):
    rater = rater_client(client)
    for i, trial_id in enumerate(rater.status()["trial_ids"]):
        body = submission(rater.trial(trial_id), seed=i)
        body["comment"] = '=HYPERLINK("http://evil.example","click")' if i == 1 else None
        assert rater.submit(trial_id, body).status_code == 200
    client.post(f"/r/{rater.token}/comments", data={"comment": "@SUM(A1:A9) great"})
    admin_login(client)
    ratings = list(
        csv.DictReader(io.StringIO(client.get("/admin/export/ratings.csv").data.decode()))
    )
    assert tuple(ratings[0]) == EXPORT_COLUMNS
    assert len(ratings) == 5 + 5 + 5 + 4  # training (drums) + two drums trials + one full trial
    # The later columns: the letter, the trial's place in the rater's order, reference use.
    positions = {r["trial_id"]: r["trial_position"] for r in ratings}
    assert sorted(positions.values()) == ["1", "2", "3", "4"]
    assert positions[rater.status()["trial_ids"][2]] == "3"
    assert {r["condition_label"] for r in ratings} == set("ABCDE")
    assert {r["reference_plays"] for r in ratings} == {"0"} and {
        r["headphone_check"] for r in ratings
    } == {""}
    assert {r["is_training"] for r in ratings} == {"True", "False"}
    comments = client.get("/admin/export/comments.csv").data.decode()
    assert "'=HYPERLINK" in comments and ',"=HYPERLINK' not in comments
    questionnaire = list(
        csv.DictReader(io.StringIO(client.get("/admin/export/questionnaire.csv").data.decode()))
    )
    assert questionnaire[0]["final_comment"] == "'@SUM(A1:A9) great"
    assert questionnaire[0]["experience_years"] == "7.0" and questionnaire[0]["trials_done"] == "4"
    document = json.loads(client.get("/admin/export/ratings.json").data)
    assert len(document["ratings"]) == len(ratings)
    assert document["comments"][0]["comment"].startswith("=HYPERLINK")  # JSON keeps the raw text
    assert {r["method"] for r in document["ratings"]} == {
        "target",
        "console",
        "demucs",
        "random",
        "mono",
    }


def test_cli_set_password_and_export(app, client, rater_client, tmp_path):
    runner = app.test_cli_runner()
    short = runner.invoke(args=["set-admin-password", "--password-stdin"], input="short\n")
    assert short.exit_code != 0 and "at least 10 characters" in short.output
    result = runner.invoke(
        args=["set-admin-password", "--password-stdin"], input="a much longer secret\n"
    )
    assert result.exit_code == 0, result.output
    client.get("/admin/login")
    with client.session_transaction() as session:
        token = session["csrf"]
    # The stored hash wins over the DMC_ADMIN_PASSWORD fallback.
    assert (
        client.post(
            "/admin/login", data={"password": "a much longer secret", "csrf_token": token}
        ).status_code
        == 303
    )
    rater = rater_client(client)
    rater.finish_all_trials()
    out = tmp_path / "ratings.csv"
    result = runner.invoke(args=["export-ratings", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert len(out.read_text().strip().splitlines()) == 1 + 19
    result = runner.invoke(args=["export-ratings", "--format", "json"])
    assert len(json.loads(result.output)["ratings"]) == 19
    made = runner.invoke(args=["create-raters", "3", "--base-url", "https://listen.example.org"])
    assert made.exit_code == 0 and made.output.count("https://listen.example.org/r/") == 3
    check = runner.invoke(args=["check-test"])
    assert "1 training + 3 trials" in check.output

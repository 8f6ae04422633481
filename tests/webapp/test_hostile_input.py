"""Hostile input never makes a 500, and is refused the same way on SQLite and PostgreSQL.

One table of requests (NUL and other control characters in every rater text, junk in
links, absurd numbers, deep nesting, oversized bodies, a bad post-login target) runs
against both databases; each row says the status and the field the answer must name.
"""

from __future__ import annotations

import json
import os
import stat

import pytest
from sqlalchemy import func, select

from webapp.storage.db import db
from webapp.storage.models import Rater, Rating, TrialResult

TRIAL = "drums:song0@0000.00s"


def _deep(depth: int) -> str:
    return '{"ratings": ' + "[" * depth + "]" * depth + ', "plays": {}, "time_on_trial_ms": 1}'


def _body_with(**changes) -> dict:
    body = {"ratings": {"A": 1.0}, "plays": {"A": 1}, "time_on_trial_ms": 1000}
    body.update(changes)
    return body


# (name, method, path, request keyword arguments, status, field or None)
HOSTILE = [
    ("comment NUL", "post", "/api/raters/{token}/trials/{trial}",
     {"json": _body_with(comment="ok\x00=1+1")}, 400, "comment"),
    ("comment bell", "post", "/api/raters/{token}/trials/{trial}",
     {"json": _body_with(comment="\x07ring")}, 400, "comment"),
    ("comment lone surrogate", "post", "/api/raters/{token}/trials/{trial}",
     {"data": '{"ratings": {"A": 1}, "plays": {"A": 1}, "time_on_trial_ms": 1, '
      '"comment": "\\ud800"}', "content_type": "application/json"}, 400, "comment"),
    ("comment not text", "post", "/api/raters/{token}/trials/{trial}",
     {"json": _body_with(comment=["x"])}, 400, "comment"),
    ("rating 400-digit integer", "post", "/api/raters/{token}/trials/{trial}",
     {"data": '{"ratings": {"A": 1' + "0" * 400 + '}, "plays": {"A": 1}, '
      '"time_on_trial_ms": 1}', "content_type": "application/json"}, 400, "ratings.A"),
    ("time 400-digit integer", "post", "/api/raters/{token}/trials/{trial}",
     {"data": '{"ratings": {"A": 1}, "plays": {"A": 1}, "time_on_trial_ms": 9' + "9" * 400
      + "}", "content_type": "application/json"}, 400, "time_on_trial_ms"),
    ("plays 1e308 float", "post", "/api/raters/{token}/trials/{trial}",
     {"data": '{"ratings": {"A": 1}, "plays": {"A": 1e308}, "time_on_trial_ms": 1}',
      "content_type": "application/json"}, 400, "plays.A"),
    ("JSON nested 20000 deep", "post", "/api/raters/{token}/trials/{trial}",
     {"data": _deep(20000), "content_type": "application/json"}, 400, None),
    ("body over 64 KiB", "post", "/api/raters/{token}/trials/{trial}",
     {"json": _body_with(comment="x" * 70_000)}, 413, None),
    ("body over 64 KiB to a GET-only page", "post", "/healthz", {"data": "x" * 70_000}, 413,
     None),
    ("token with NUL (API)", "get", "/api/raters/abc%00def", {}, 404, "token"),
    ("token with NUL (submit)", "post", "/api/raters/abc%00def/trials/{trial}",
     {"json": _body_with()}, 404, "token"),
    ("token with NUL (trial)", "get", "/api/raters/%00/trials/{trial}", {}, 404, "token"),
    ("token with NUL (page)", "get", "/r/abc%00def", {}, 404, None),
    ("token with NUL (form)", "post", "/r/abc%00/consent", {"data": {"consent": "yes"}}, 404,
     None),
    ("token 10 kB long", "get", "/api/raters/" + "a" * 10_000, {}, 404, "token"),
    ("trial id with NUL", "get", "/api/raters/{token}/trials/drums:%00", {}, 404, "trial_id"),
    ("external_id NUL (API)", "post", "/api/raters",
     {"json": {"consent": True, "external_id": "w\x00rker"}}, 400, "external_id"),
    ("external_id line feed (API)", "post", "/api/raters",
     {"json": {"consent": True, "external_id": "a\nb"}}, 400, "external_id"),
    ("external_id 129 characters (API)", "post", "/api/raters",
     {"json": {"consent": True, "external_id": "x" * 129}}, 400, "external_id"),
    ("external_id a number (API)", "post", "/api/raters",
     {"json": {"consent": True, "external_id": 7}}, 400, "external_id"),
    ("external_id NUL (start page)", "post", "/start",
     {"data": {"consent": "yes", "external_id": "w\x00rker"}}, 400, None),
    ("external_id 129 characters (start page)", "post", "/start",
     {"data": {"consent": "yes", "external_id": "x" * 129}}, 400, None),
    ("final comment NUL", "post", "/r/{token}/comments", {"data": {"comment": "bye\x00"}}, 400,
     None),
    ("volume level 401-digit integer (API)", "post", "/api/raters/{token}/volume",
     {"data": '{"level_db": 1' + "0" * 400 + "}", "content_type": "application/json"}, 400,
     "level_db"),
    ("volume level -401-digit integer (API)", "post", "/api/raters/{token}/volume",
     {"data": '{"level_db": -1' + "0" * 400 + "}", "content_type": "application/json"}, 400,
     "level_db"),
    ("volume level 1e400 (API)", "post", "/api/raters/{token}/volume",
     {"data": '{"level_db": 1e400}', "content_type": "application/json"}, 400, "level_db"),
    ("volume level 401 digits (page)", "post", "/r/{token}/volume",
     {"data": {"volume_ok": "yes", "level_db": "1" + "0" * 400}}, 400, None),
    ("trial level 401-digit integer", "post", "/api/raters/{token}/trials/{trial}",
     {"data": '{"ratings": {"A": 1}, "plays": {"A": 1}, "time_on_trial_ms": 1, "level_db": 1'
      + "0" * 400 + "}", "content_type": "application/json"}, 400, "level_db"),
    ("years 1e400", "post", "/r/{token}/questionnaire",
     {"data": {"experience_years": "1e400", "role": "producer", "playback_device": "other"}},
     400, None),
    ("years 5000 digits", "post", "/r/{token}/questionnaire",
     {"data": {"experience_years": "9" * 5000, "role": "producer", "playback_device": "other"}},
     400, None),
    ("audio name with NUL", "get", "/audio/%00", {}, 404, None),
    ("reference of a NUL trial", "get", "/reference-audio/%00", {}, 404, None),
]  # fmt: skip


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_hostile_requests_get_clear_4xx_on_every_database(make_app, database_url, rater_client):
    app = make_app(SQLALCHEMY_DATABASE_URI=database_url)
    client = app.test_client()
    rater = rater_client(client)
    raters_before = _count(app, Rater)
    failures = []
    for name, method, path, kwargs, status, field in HOSTILE:
        url = path.format(token=rater.token, trial=TRIAL)
        response = getattr(client, method)(url, **kwargs)
        body = response.get_json(silent=True) if response.is_json else None
        if response.status_code != status:
            failures.append(f"{name}: {response.status_code} {body or response.data[:200]!r}")
        elif field and (body or {}).get("field") != field:
            failures.append(f"{name}: field {body!r}, expected {field!r}")
    assert not failures, "\n".join(failures)
    assert _count(app, Rating) == 0 and _count(app, TrialResult) == 0
    assert _count(app, Rater) == raters_before


def test_the_start_page_and_the_api_refuse_external_ids_alike(client):
    api = client.post("/api/raters", json={"consent": True, "external_id": "x" * 129})
    page = client.post("/start", data={"consent": "yes", "external_id": "x" * 129})
    assert api.status_code == page.status_code == 400
    assert api.get_json()["error"] in page.data.decode()
    exact = client.post("/start", data={"consent": "yes", "external_id": "x" * 128})
    assert exact.status_code == 303


def test_control_characters_in_the_user_agent_are_dropped_not_fatal(make_app, database_url):
    app = make_app(SQLALCHEMY_DATABASE_URI=database_url)
    client = app.test_client()
    response = client.post(
        "/api/raters", json={"consent": True}, headers={"User-Agent": "probe\x01\x7f/1.0"}
    )
    assert response.status_code == 201
    with app.app_context():
        assert db.session.scalar(select(Rater.user_agent)) == "probe/1.0"


def test_multiline_comments_are_kept_on_every_database(make_app, database_url, rater_client):
    app = make_app(SQLALCHEMY_DATABASE_URI=database_url)
    client = app.test_client()
    rater = rater_client(client)
    rater.pass_intro()
    trial_id = rater.status()["trial_ids"][0]
    body = rater_client_body(rater, trial_id)
    body["comment"] = "line one\r\n\tline two =1+1"
    assert rater.submit(trial_id, body).status_code == 200
    with app.app_context():
        assert db.session.scalar(select(TrialResult.comment)) == body["comment"]


def rater_client_body(rater, trial_id: str) -> dict:
    trial = rater.trial(trial_id)
    labels = [c["label"] for c in trial["conditions"]]
    plays = dict.fromkeys(labels, 1) | ({"reference": 1} if trial["reference_url"] else {})
    return {"ratings": dict.fromkeys(labels, 1.0), "plays": plays, "time_on_trial_ms": 100}


def test_a_forged_forwarded_address_is_no_500_at_login(make_app, database_url):
    client = make_app(SQLALCHEMY_DATABASE_URI=database_url, PROXY_FIX=True).test_client()
    client.get("/admin/login")
    with client.session_transaction() as session:
        token = session["csrf"]
    for forged in ("\x00", "not an address", "1.2.3.4\x00"):
        response = client.post(
            "/admin/login",
            data={"password": "wrong password", "csrf_token": token},
            headers={"X-Forwarded-For": forged},
        )
        assert response.status_code == 401


@pytest.mark.parametrize(
    "target",
    ["/admin/\r\nSet-Cookie: x=1", "/admin/\nx", "//evil.example", "/admin/..\\x", "https://x/"],
)
def test_a_bad_next_after_login_is_ignored(client, target):
    client.get("/admin/login")
    with client.session_transaction() as session:
        token = session["csrf"]
    response = client.post(
        "/admin/login",
        data={"password": "correct horse battery staple", "csrf_token": token, "next": target},
    )
    assert response.status_code == 303 and response.headers["Location"] == "/admin/"


def test_a_symlink_swapped_into_the_render_folder_is_not_served(make_app, render_dir, tmp_path):
    import shutil

    from dmc.contracts.manifest import load_manifest

    copy = tmp_path / "render"
    shutil.copytree(render_dir, copy)
    client = make_app(MANIFEST_PATH=str(copy / "manifest.json")).test_client()
    conditions = load_manifest(copy).passage("drums", "song0@0000.00s").conditions
    outside, loop = (c.file for c in conditions if c.method in ("target", "console"))
    with client.get(f"/audio/{outside}") as response:
        assert response.status_code == 200
    (copy / outside).unlink()
    (copy / outside).symlink_to("/etc/passwd")
    (copy / loop).unlink()
    (copy / loop).symlink_to(copy / loop)
    for name in (outside, loop):
        with client.get(f"/audio/{name}") as response:
            assert response.status_code == 404


def test_the_database_and_secrets_are_owner_only(make_app, rater_client, tmp_path):
    app = make_app(SECRET_KEY=None)
    rater_client(app.test_client())  # a write: the WAL file exists now
    instance = tmp_path / "instance"
    files = [instance / "ratings.sqlite", instance / "ratings.sqlite-wal", instance / "secret_key"]
    for path in [instance, *files]:
        assert path.exists(), path
        assert stat.S_IMODE(os.stat(path).st_mode) & 0o077 == 0, oct(os.stat(path).st_mode)


def test_links_come_from_the_public_url_never_from_the_host_header(make_app):
    direct = make_app().test_client()
    answer = direct.post("/api/raters", json={"consent": True}, headers={"Host": "evil.example"})
    assert answer.get_json()["link"].startswith("/r/")
    public = make_app(PUBLIC_URL="https://listen.example.org").test_client()
    answer = public.post("/api/raters", json={"consent": True}, headers={"Host": "evil.example"})
    assert answer.get_json()["link"].startswith("https://listen.example.org/r/")
    proxied = make_app(PROXY_FIX=True).test_client()
    answer = proxied.post(
        "/api/raters",
        json={"consent": True},
        headers={"X-Forwarded-Host": "listen.example.org", "X-Forwarded-Proto": "https"},
    )
    assert answer.get_json()["link"].startswith("https://listen.example.org/r/")
    with pytest.raises(ValueError, match="DMC_PUBLIC_URL must be an http"):
        make_app(PUBLIC_URL="javascript:alert(1)")


def test_rater_creation_is_rate_limited_per_client(make_app):
    app = make_app(RATER_CREATION_LIMIT="3/60")
    client = app.test_client()
    statuses = [client.post("/api/raters", json={"consent": True}).status_code for _ in range(3)]
    assert statuses == [201] * 3
    refused = client.post("/api/raters", json={"consent": True})
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 20
    assert "too many new raters" in refused.get_json()["error"]
    page = client.post("/start", data={"consent": "yes"})
    assert page.status_code == 429 and "Retry-After" in page.headers
    other = app.test_client().post(
        "/api/raters", json={"consent": True}, environ_base={"REMOTE_ADDR": "192.0.2.7"}
    )
    assert other.status_code == 201
    assert _count(app, Rater) == 4
    with pytest.raises(ValueError, match="DMC_RATER_RATE_LIMIT"):
        make_app(RATER_CREATION_LIMIT="lots")


def test_token_buckets_refill_over_the_window():
    from webapp.services.throttle import TokenBuckets

    buckets = TokenBuckets(2, 10.0)  # 2 at once, one more every 5 s
    assert [buckets.take("a", now=0.0) for _ in range(3)] == [0, 0, 5]
    assert buckets.take("b", now=0.0) == 0
    assert buckets.take("a", now=4.0) == 1 and buckets.take("a", now=5.1) == 0


def test_a_deep_json_body_is_refused_before_any_lookup(client):
    response = client.post(
        "/api/raters", data="[" * 50_000 + "]" * 50_000, content_type="application/json"
    )
    assert response.status_code == 413  # 100 kB: over the body limit first
    response = client.post(
        "/api/raters", data="[" * 30_000 + "]" * 30_000, content_type="application/json"
    )
    assert response.status_code == 400 and "nested too deeply" in json.loads(response.data)["error"]

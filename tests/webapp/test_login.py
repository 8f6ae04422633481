"""Admin login: throttling without sleeping, password strength, sessions that really end."""

from __future__ import annotations

import threading
import time

import pytest

ADMIN_PASSWORD = "correct horse battery staple"  # as in conftest.py


def _csrf(client) -> str:
    client.get("/admin/login")
    with client.session_transaction() as session:
        return session["csrf"]


def _login(client, password: str, address: str = "127.0.0.1"):
    return client.post(
        "/admin/login",
        data={"password": password, "csrf_token": _csrf(client)},
        environ_base={"REMOTE_ADDR": address},
    )


def test_a_client_is_locked_out_after_five_failures_even_with_the_right_password(client):
    statuses = [_login(client, f"guess number {i}").status_code for i in range(5)]
    assert statuses == [401] * 5
    locked = _login(client, ADMIN_PASSWORD)
    assert locked.status_code == 429 and b"Too many failed logins" in locked.data
    assert 800 <= int(locked.headers["Retry-After"]) <= 900
    assert client.get("/admin/").status_code == 302
    # Another address is not locked out by this one.
    other = _login(client, ADMIN_PASSWORD, "192.0.2.9")
    assert other.status_code == 303


def test_everyone_is_locked_out_after_the_global_number_of_failures(make_app):
    client = make_app(ADMIN_LOGIN_FAILURES_GLOBAL=6).test_client()
    for i in range(6):
        assert _login(client, "wrong password!", f"192.0.2.{i}").status_code == 401
    assert _login(client, ADMIN_PASSWORD, "198.51.100.1").status_code == 429


def test_the_lockout_ends_with_its_window_and_a_right_password_clears_it(make_app):
    client = make_app(ADMIN_LOGIN_FAILURES=2, ADMIN_LOGIN_WINDOW_S=1).test_client()
    assert [_login(client, "nope nope nope").status_code for _ in range(3)] == [401, 401, 429]
    time.sleep(1.1)
    assert _login(client, "nope nope nope").status_code == 401
    assert _login(client, ADMIN_PASSWORD).status_code == 303


def test_throttled_attempts_answer_at_once_and_check_no_password(app, monkeypatch):
    import webapp.services.auth

    checks = []
    original = webapp.services.auth.check_admin_password
    monkeypatch.setattr(
        webapp.services.auth, "check_admin_password", lambda p: checks.append(p) or original(p)
    )
    client = app.test_client()
    started = time.perf_counter()
    statuses = [_login(client, f"guess {i:04d}").status_code for i in range(20)]
    elapsed = time.perf_counter() - started
    assert statuses == [401] * 5 + [429] * 15 and len(checks) == 5
    assert elapsed < 5.0  # the old 0.5 s sleep per failure alone took 10 s


def test_parallel_guessers_get_no_more_than_the_limit(make_app, database_url, monkeypatch):
    import webapp.services.auth

    app = make_app(SQLALCHEMY_DATABASE_URI=database_url)
    checks = []
    original = webapp.services.auth.check_admin_password
    monkeypatch.setattr(
        webapp.services.auth, "check_admin_password", lambda p: checks.append(p) or original(p)
    )
    results = []

    def guess(i):
        client = app.test_client()
        for j in range(3):
            results.append(_login(client, f"parallel guess {i}-{j}").status_code)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 48 and set(results) <= {401, 429}
    assert len(checks) == 5 and results.count(401) == 5


def test_logout_ends_every_copy_of_the_session(app, admin_login):
    admin = app.test_client()
    token = admin_login(admin)
    thief = app.test_client()
    cookie = admin.get_cookie("dmc_admin")
    thief.set_cookie("dmc_admin", cookie.value)
    assert thief.get("/admin/export/ratings.csv").status_code == 200
    assert admin.post("/admin/logout", headers={"X-CSRF-Token": token}).status_code == 303
    assert thief.get("/admin/export/ratings.csv").status_code == 302
    assert admin.get("/admin/").status_code == 302
    assert admin_login(admin) and admin.get("/admin/").status_code == 200  # a new login works


def test_logging_out_without_a_session_ends_no_one_elses(app, admin_login):
    admin = app.test_client()
    admin_login(admin)
    stranger = app.test_client()
    assert stranger.post("/admin/logout", headers={"X-CSRF-Token": _csrf(stranger)}).status_code
    assert admin.get("/admin/").status_code == 200


def test_a_password_change_ends_existing_sessions(app, admin_login):
    admin = app.test_client()
    admin_login(admin)
    assert admin.get("/admin/").status_code == 200
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["set-admin-password", "--password-stdin"], input="another long secret 42\n"
    )
    assert result.exit_code == 0, result.output
    assert admin.get("/admin/").status_code == 302
    assert _login(admin, "another long secret 42").status_code == 303


def test_an_old_session_expires(app, admin_login):
    admin = app.test_client()
    admin_login(admin)
    with admin.session_transaction() as session:
        session["admin_at"] -= 13 * 3600
    assert admin.get("/admin/").status_code == 302


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "at least 10 characters"),
        ("aaaaabbbbbaaaaa", "at least 5 different characters"),
        ("Password123", "well-known"),
    ],
)
def test_weak_passwords_are_refused_on_every_path(make_app, app, password, message):
    result = app.test_cli_runner().invoke(
        args=["set-admin-password", "--password-stdin"], input=password + "\n"
    )
    assert result.exit_code != 0 and message in result.output
    with pytest.raises(ValueError, match=f"DMC_ADMIN_PASSWORD: .*{message}"):
        make_app(ADMIN_PASSWORD=password)

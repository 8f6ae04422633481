"""The admin login throttle counts per client: a right password clears only its own client.

A guesser at one address is locked out after ``ADMIN_LOGIN_FAILURES``; everyone is after
``ADMIN_LOGIN_FAILURES_GLOBAL`` failures from all addresses. When the real admin logs in
from another address, the recorded failures of the other addresses (and so the global
count) must stay: clearing them all would unlock the guesser and hand a distributed
guesser a fresh global budget with every login of the admin. Two admin clients (two
browsers, two sessions) at two addresses, on both storage back ends.
"""

from __future__ import annotations

ADMIN_PASSWORD = "correct horse battery staple"  # as in conftest.py
GUESSER, ADMIN, OTHERS = "192.0.2.7", "198.51.100.4", ("203.0.113.5", "203.0.113.6")


def login(client, password: str, address: str) -> int:
    client.get("/admin/login", environ_base={"REMOTE_ADDR": address})
    with client.session_transaction() as session:
        token = session["csrf"]
    return client.post(
        "/admin/login",
        data={"password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": address},
    ).status_code


def test_a_right_password_leaves_other_clients_failures_and_the_global_count(
    make_app, database_url
):
    app = make_app(
        SQLALCHEMY_DATABASE_URI=database_url,
        ADMIN_LOGIN_FAILURES=3,
        ADMIN_LOGIN_FAILURES_GLOBAL=8,
    )
    guesser, admin = app.test_client(), app.test_client()
    assert [login(guesser, f"guess number {i}", GUESSER) for i in range(4)] == [401] * 3 + [429]
    assert [login(admin, "a wrong one, sorry", OTHERS[0]) for _ in range(2)] == [401] * 2
    assert login(admin, "typo in the password", ADMIN) == 401
    # 6 failures from three addresses; the admin gets in and clears its own one only
    assert login(admin, ADMIN_PASSWORD, ADMIN) == 303
    assert admin.get("/admin/").status_code == 200
    # the guesser is still locked out, right password or not
    assert login(guesser, ADMIN_PASSWORD, GUESSER) == 429
    assert guesser.get("/admin/").status_code == 302
    # the global count still holds the 5 others: 3 more failures reach 8, and lock everyone
    assert [login(guesser, "spray", a) for a in (OTHERS[1], OTHERS[1], OTHERS[0])] == [401] * 3
    other_admin = app.test_client()
    assert login(other_admin, ADMIN_PASSWORD, ADMIN) == 429
    assert other_admin.get("/admin/").status_code == 302

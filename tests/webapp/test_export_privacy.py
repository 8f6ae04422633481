"""Exports are personal data: owner-only files, and participant ids only when asked for.

``export-ratings --output`` writes mode 0600 whatever the umask, also over an existing
file of another mode; ``external_id`` (the id a crowdsourcing platform passed) is in no
export unless the experimenter asks (``--with-external-id``, ``?external_id=1``).
"""

from __future__ import annotations

import json
import os
import stat

INTRO = {"experience_years": "7", "role": "mixing_engineer", "playback_device": "studio_monitors"}


def _rater_with_a_participant_id(client) -> str:
    created = client.post("/api/raters", json={"consent": True, "external_id": "PROLIFIC-42"})
    token = created.get_json()["token"]
    client.post(f"/api/raters/{token}/questionnaire", json=INTRO)
    return token


def test_exports_are_owner_only_and_carry_ids_only_when_asked(app, client, admin_login, tmp_path):
    _rater_with_a_participant_id(client)
    runner = app.test_cli_runner()
    old_umask = os.umask(0o022)  # the usual umask: plain writes would be 0644
    try:
        existing = tmp_path / "questionnaire.csv"
        existing.write_text("old")
        os.chmod(existing, 0o644)
        for args, name in (
            (["--questionnaire"], "questionnaire.csv"),
            ([], "ratings.csv"),
            (["--format", "json"], "everything.json"),
        ):
            path = tmp_path / name
            result = runner.invoke(args=["export-ratings", *args, "-o", str(path)])
            assert result.exit_code == 0, result.output
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, (name, oct(path.stat().st_mode))
            assert "PROLIFIC-42" not in path.read_text() and "external_id" not in path.read_text()
    finally:
        os.umask(old_umask)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no leftovers
    asked = runner.invoke(args=["export-ratings", "--questionnaire", "--with-external-id"])
    assert asked.exit_code == 0 and "PROLIFIC-42" in asked.output
    header = asked.output.splitlines()[0]
    assert header.startswith('"rater_id","external_id",')
    as_json = runner.invoke(args=["export-ratings", "--format", "json", "--with-external-id"])
    assert json.loads(as_json.output)["questionnaire"][0]["external_id"] == "PROLIFIC-42"

    admin_login(client)
    for url in ("/admin/export/questionnaire.csv", "/admin/export/ratings.json"):
        assert b"PROLIFIC-42" not in client.get(url).data
        assert b"PROLIFIC-42" in client.get(f"{url}?external_id=1").data
    assert b"PROLIFIC-42" in client.get("/admin/").data  # the dashboard shows it to the admin
    # Without a login, neither download is served (with or without the option).
    anonymous = app.test_client()
    for url in ("/admin/export/questionnaire.csv?external_id=1", "/admin/export/ratings.json"):
        assert anonymous.get(url).status_code in (302, 303, 401)

"""The flask commands find the test as ``serve`` does, and warn when raters follow another design."""

from __future__ import annotations

import socket
import subprocess
import sys

from webapp.db import db
from webapp.models import Rater
from webapp.study import record_served, served_design, study_status


def _serve_records(app, config) -> dict:
    """What ``python -m webapp serve --config CONFIG`` notes when it starts."""
    app.config["TEST_CONFIG"] = str(config) if config else None
    with app.app_context():
        record_served(study_status().study)
        served = served_design()
    app.config["TEST_CONFIG"] = None
    return served


def test_create_raters_takes_serves_config_and_warns_without_it(make_app, tmp_path):
    config = tmp_path / "served.yaml"
    config.write_text("seed: 7\nreference: open\n")
    app = make_app()
    served = _serve_records(app, config)
    assert served["config"] == str(config) and served["trials"] == 3
    runner = app.test_cli_runner()

    planned_elsewhere = runner.invoke(args=["create-raters", "1"])
    assert planned_elsewhere.exit_code == 0
    (warning,) = planned_elsewhere.stderr.splitlines()
    assert warning.startswith(
        f"warning: serve last started with design {served['design_hash']} (3 trials, config "
        f"{config}), but these raters are planned on design "
    )
    assert warning.endswith("give this command the same --config and --manifest as serve "
                            "(or set DMC_TEST_CONFIG and DMC_MANIFEST for both)")  # fmt: skip

    same = runner.invoke(args=["create-raters", "2", "--config", str(config)])
    assert same.exit_code == 0 and same.stderr == "" and same.stdout.count("/r/") == 2
    with app.app_context():
        hashes = [r.design_hash for r in db.session.query(Rater).order_by(Rater.id)]
    assert hashes[1:] == [served["design_hash"]] * 2 and hashes[0] != hashes[1]

    check = runner.invoke(args=["check-test", "--config", str(config)])
    assert check.exit_code == 0 and f"config {config}" in check.output


def test_without_a_served_record_the_newest_rater_is_compared(make_app, tmp_path):
    config = tmp_path / "other.yaml"
    config.write_text("seed: 7\n")
    runner = make_app().test_cli_runner()
    assert runner.invoke(args=["create-raters", "1"]).stderr == ""
    other = runner.invoke(args=["create-raters", "1", "--config", str(config)])
    assert other.exit_code == 0
    assert other.stderr.startswith("warning: the newest rater in the database follows design ")


def test_a_missing_config_or_manifest_is_one_line_and_exit_status_2(make_app, tmp_path):
    runner = make_app().test_cli_runner()
    for args, message in (
        (["create-raters", "1", "--config", str(tmp_path / "no.yaml")], "test config not found"),
        (["check-test", "--manifest", str(tmp_path)], "no render manifest at"),
    ):
        result = runner.invoke(args=args)
        assert result.exit_code == 2
        assert result.stderr.startswith(f"flask --app webapp {args[0]}: error: {message}")
        assert len(result.stderr.splitlines()) == 1


def test_serve_on_a_port_in_use_says_so_in_one_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [sys.executable, "-m", "webapp", "serve", "--port", str(port)]
        result = subprocess.run(
            [*command, "--instance", str(tmp_path / "i")],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"python -m webapp serve: error: port {port} on 127.0.0.1 is in use (another server?); "
        "stop it or choose another --port"
    ]
    assert not (tmp_path / "i").exists()  # refused before anything was made

"""The web app's commands: one click group, links that work, plans on the served test.

``create-raters`` plans every rater on the test the instance serves (what ``serve``
recorded) and prints links to where ``serve`` listens; other files are an error unless
forced, the files ``serve`` was given are the served test even after they changed, and
an unknown base URL is refused. Every command is one click command with help for users.
"""

from __future__ import annotations

import socket
import subprocess
import sys

import click

from webapp.__main__ import main
from webapp.commands import COMMANDS, cli
from webapp.commands.serve import base_url, choose_test
from webapp.services.snapshots import record_serving, serving
from webapp.storage.db import db
from webapp.storage.models import Rater


def _serve(app, config=None, manifest=None, url="http://127.0.0.1:8123", new_test=False):
    """What ``python -m webapp serve [--manifest M] [--config C]`` does before listening."""
    if manifest is not None:
        app.config["MANIFEST_PATH"] = str(manifest)
    app.config["TEST_CONFIG"] = str(config) if config else None
    with app.app_context():
        test, _ = choose_test(app, new_test, manifest, config)
        record_serving(test, url, None if url else "serve listens on every address")
    return test


def _error(result) -> str:
    (line,) = result.stderr.splitlines()
    return line


def test_create_raters_plans_on_the_served_test_and_links_to_serve(make_app, tmp_path):
    config = tmp_path / "served.yaml"
    config.write_text("seed: 7\nreference: open\n")
    app = make_app()
    served = _serve(app, config)
    runner = app.test_cli_runner()

    # No --config: the served test (the app's own files would make the default design).
    made = runner.invoke(args=["create-raters", "2"])
    assert made.exit_code == 0 and made.stderr == "", made.output
    links = [line.split("\t")[1] for line in made.stdout.splitlines()]
    assert len(links) == 2 and all(link.startswith("http://127.0.0.1:8123/r/") for link in links)
    same = runner.invoke(args=["create-raters", "1", "--config", str(config)])
    assert same.exit_code == 0 and same.stderr == ""
    with app.app_context():
        hashes = [r.design_hash for r in db.session.query(Rater).order_by(Rater.id)]
    assert hashes == [served.design_hash] * 3

    # Another design is an error (one line, exit 2, nothing created) unless forced.
    other = runner.invoke(args=["create-raters", "1", "--config", str(tmp_path / "none.yaml")])
    assert other.exit_code == 2 and "test config not found" in _error(other)
    default = tmp_path / "default.yaml"
    default.write_text("seed: 8\n")
    refused = runner.invoke(args=["create-raters", "1", "--config", str(default)])
    assert refused.exit_code == 2 and refused.stdout == ""
    assert _error(refused).startswith(
        f"flask --app webapp create-raters: error: the instance serves test {served.test_id}"
    )
    assert "drop --manifest/--config to plan on the served test, or add --force" in refused.stderr
    forced = runner.invoke(args=["create-raters", "1", "--config", str(default), "--force"])
    assert forced.exit_code == 0 and forced.stdout.count("/r/") == 1
    assert "warning: the instance serves test" in forced.stderr
    with app.app_context():
        assert db.session.query(Rater).count() == 4

    check = runner.invoke(args=["check-test"])
    assert check.exit_code == 0
    assert f"served: test {served.test_id}" in check.stdout and str(config) in check.stdout
    assert "1 training + 3 trials" in check.stdout
    elsewhere = runner.invoke(args=["check-test", "--config", str(default)])
    assert elsewhere.exit_code == 0 and "not served: the instance serves test" in elsewhere.stdout


def test_the_files_serve_was_given_are_the_served_test_after_an_import(
    make_app, tmp_path, rater_client, render_writer
):
    """The false alarm of issue 30: the same --config and --manifest after the render
    changed are the served test (a note says it changed), not another design."""
    render = tmp_path / "render"
    manifest = render_writer(render, {"drums": 2, "full": 1})
    config = tmp_path / "test.yaml"
    config.write_text("reference: hidden\n")
    app = make_app(MANIFEST_PATH=str(manifest))
    served = _serve(app, config, manifest)
    rater_client(app.test_client())  # a rater takes the served test
    render_writer(render, {"drums": 3, "full": 1})  # an import / re-render: another design
    runner = app.test_cli_runner()
    made = runner.invoke(
        args=["create-raters", "1", "--config", str(config), "--manifest", str(render)]
    )
    assert made.exit_code == 0, made.output
    assert "warning" not in made.stderr and "error" not in made.stderr
    assert f"(re-rendered or imported into) since test {served.test_id} started" in made.stderr
    with app.app_context():
        assert {r.design_hash for r in db.session.query(Rater)} == {served.design_hash}


def test_without_a_known_address_create_raters_refuses(make_app, tmp_path):
    app = make_app()
    runner = app.test_cli_runner()
    never = runner.invoke(args=["create-raters", "1"])
    assert never.exit_code == 2 and never.stdout == ""
    assert _error(never) == (
        "flask --app webapp create-raters: error: cannot tell the address raters open "
        "(serve has not run on this instance yet); give --base-url "
        "https://listen.example.org or set DMC_PUBLIC_URL"
    )
    with app.app_context():
        assert db.session.query(Rater).count() == 0  # refused before any rater was made
    _serve(app, url=None)
    everywhere = runner.invoke(args=["create-raters", "1"])
    assert everywhere.exit_code == 2 and "(serve listens on every address)" in everywhere.stderr
    given = runner.invoke(args=["create-raters", "1", "--base-url", "https://l.example.org/"])
    assert given.exit_code == 0 and given.stdout.split("\t")[1].startswith(
        "https://l.example.org/r/"
    )
    public = make_app(PUBLIC_URL="https://public.example.org").test_cli_runner()
    assert "https://public.example.org/r/" in public.invoke(args=["create-raters", "1"]).stdout


def test_what_serve_records_as_the_address():
    assert base_url("127.0.0.1", 8000, None, False) == ("http://127.0.0.1:8000", None)
    assert base_url("::1", 8000, None, False) == ("http://[::1]:8000", None)
    assert base_url("0.0.0.0", 8000, "https://x.org/", False) == ("https://x.org", None)
    for host, proxy in (("0.0.0.0", False), ("::", False), ("127.0.0.1", True)):
        url, problem = base_url(host, 8000, None, proxy)
        assert url is None and "DMC_PUBLIC_URL is not set" in problem


def test_a_missing_config_or_manifest_is_one_line_and_exit_status_2(make_app, tmp_path):
    runner = make_app().test_cli_runner()
    for args, message in (
        (["create-raters", "1", "--config", str(tmp_path / "no.yaml")], "test config not found"),
        (["check-test", "--manifest", str(tmp_path)], "no render manifest at"),
    ):
        result = runner.invoke(args=args)
        assert result.exit_code == 2
        assert _error(result).startswith(f"flask --app webapp {args[0]}: error: {message}")


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


def test_one_command_line_for_every_command(make_app, capsys):
    """dmc-webapp / python -m webapp and flask --app webapp run the same click commands,
    described for users: every command listed with a line of help, no RST markup."""
    assert set(cli.commands.values()) == set(COMMANDS)
    app = make_app()
    assert {name: app.cli.get_command(None, name) for name in cli.commands} == cli.commands
    assert main(["--help"]) == 0
    overview = capsys.readouterr().out
    for command in COMMANDS:
        assert f"  {command.name} " in overview
        assert main([command.name, "--help"]) == 0
        text = capsys.readouterr().out
        assert "``" not in text and ":func:" not in text and ":mod:" not in text, command.name
        assert len(text.splitlines()) > 4
        assert command.get_short_help_str(100) and not command.get_short_help_str(100).endswith(
            "..."
        )
    assert "``" not in overview
    assert main(["nope"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("python -m webapp: error: No such command 'nope'")
    assert main(["serve", "--port", "0"]) == 2
    assert "'--port': 0 is not in the range" in capsys.readouterr().err
    assert isinstance(cli, click.Group)


def test_flask_runs_the_same_commands(tmp_path):
    command = [sys.executable, "-m", "flask", "--app", "webapp", "check-test"]
    done = subprocess.run(
        [*command, "--instance", str(tmp_path / "i")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1].startswith(
        "flask --app webapp check-test: error: nothing is served and no render manifest is at"
    )


def test_serving_is_recorded_once(make_app):
    app = make_app()
    with app.app_context():
        assert serving() is None
    test = _serve(app)
    with app.app_context():
        assert serving().test_id == test.test_id and serving().base_url == "http://127.0.0.1:8123"

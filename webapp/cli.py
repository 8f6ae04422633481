"""Click commands of ``flask --app webapp ...`` (registered in :func:`init_app`).

``init-db`` lives in :mod:`webapp.db` and ``set-admin-password`` in :mod:`webapp.auth`;
this module adds the ones that export or inspect: ``export-ratings``, ``create-raters``
and ``check-test``.

``create-raters`` and ``check-test`` find the test as ``python -m webapp serve`` does
(``--manifest`` and ``--config``, else ``$DMC_MANIFEST`` and ``$DMC_TEST_CONFIG``, else
``./renders/testset`` and its ``test.yaml``), and ``create-raters`` warns when the raters
it plans follow another design than the one ``serve`` last started with.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from dmc.cli import EXIT_BAD_INPUT
from dmc.contracts.ratings import EXPORT_COLUMNS, to_csv
from webapp.auth import set_admin_password_command
from webapp.db import db
from webapp.export import questionnaire_columns, questionnaire_rows, rating_rows, to_json
from webapp.raters import create_rater
from webapp.schema import init_db
from webapp.study import describe, served_design, study_status


class BadInput(click.ClickException):
    """A user mistake: one line ``<command>: error: ...`` and exit status 2 (:mod:`dmc.cli`)."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str) -> None:
        super().__init__(message)
        context = click.get_current_context(silent=True)  # gone by the time show() runs
        self.prog = "flask --app webapp " + context.info_name if context else "flask"

    def show(self, file=None) -> None:
        click.echo(f"{self.prog}: error: {self.format_message()}", err=True)


def test_options(command):
    """``--manifest`` and ``--config``, as ``python -m webapp serve`` takes them."""
    command = click.option(
        "--config",
        type=click.Path(path_type=Path),
        default=None,
        help="Test config YAML/TOML, as given to serve "
        "(default: $DMC_TEST_CONFIG, else test.yaml beside the manifest, else built-in).",
    )(command)
    return click.option(
        "--manifest",
        type=click.Path(path_type=Path),
        default=None,
        help="Render manifest or its folder (default: $DMC_MANIFEST, else ./renders/testset).",
    )(command)


def use_test(manifest: Path | None, config: Path | None) -> None:
    """Point the app at ``manifest`` and ``config`` (when given), checked to exist."""
    if manifest is not None:
        path = manifest / "manifest.json" if manifest.is_dir() else manifest
        if not path.is_file():
            raise BadInput(
                f"no render manifest at {path}; render one with `python -m dmc.render testset`"
            )
        current_app.config["MANIFEST_PATH"] = str(path.resolve())
    if config is not None:
        if not config.is_file():
            raise BadInput(f"test config not found: {config}")
        current_app.config["TEST_CONFIG"] = str(config.resolve())


def _label(described: dict) -> str:
    return (
        f"design {described['design_hash']} ({described['trials']} trials, "
        f"config {described['config'] or 'built-in defaults'})"
    )


def design_mismatch(study) -> str | None:
    """Why raters planned on ``study``'s design would not match what is served, or None.

    Compared with the design ``serve`` last started with, else with the newest rater's.
    """
    planned = describe(study)
    served = served_design()
    if served is not None:
        if served.get("design_hash") == planned["design_hash"]:
            return None
        return (
            f"serve last started with {_label(served)}, but these raters are planned on "
            f"{_label(planned)}; give this command the same --config and --manifest as serve "
            "(or set DMC_TEST_CONFIG and DMC_MANIFEST for both)"
        )
    from sqlalchemy import select

    from webapp.models import Rater

    newest = db.session.scalar(
        select(Rater.design_hash).where(Rater.design_hash.is_not(None)).order_by(Rater.id.desc())
    )
    if newest is not None and newest != planned["design_hash"]:
        return (
            f"the newest rater in the database follows design {newest}, but these raters are "
            f"planned on {_label(planned)}; give this command the same --config and --manifest "
            "as serve"
        )
    return None


@click.command("export-ratings")
@with_appcontext
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write here instead of standard output.",
)
@click.option(
    "--questionnaire", is_flag=True, help="Export the questionnaire (one row per rater) instead."
)
@click.option(
    "--with-external-id",
    "identifying",
    is_flag=True,
    help="Add the participant ids a platform passed (external_id) to the questionnaire and "
    "JSON: they can name a person, so only when you need them (to pay or match raters).",
)
def export_ratings_command(
    fmt: str, output: Path | None, questionnaire: bool, identifying: bool
) -> None:
    """Export one row per rating (CSV with formula escaping, or JSON with everything).

    A file given with --output is readable by its owner only (mode 0600), as the
    database is: ratings and answers are personal data.
    """
    init_db()
    with db.engine.connect() as connection:
        if fmt == "json":
            text = to_json(connection, identifying)
        elif questionnaire:
            rows = questionnaire_rows(connection, identifying)
            text = to_csv(rows, questionnaire_columns(identifying))
        else:
            text = to_csv(rating_rows(connection), EXPORT_COLUMNS)
    if output is None:
        click.echo(text, nl=False)
    else:
        write_owner_only(output, text)
        click.echo(f"wrote {output}", err=True)


def write_owner_only(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` with mode 0600, whatever the umask, also over a
    file that had another mode: a new owner-only file (``mkstemp``) in the same folder is
    written, flushed and renamed over ``path``, so no reader ever sees half an export."""
    path = Path(path)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise BadInput(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            os.fchmod(handle.fileno(), 0o600)  # mkstemp's mode already; stated, not assumed
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(name, path)
    except OSError as exc:
        raise BadInput(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        Path(name).unlink(missing_ok=True)


@click.command("create-raters")
@with_appcontext
@click.argument("count", type=click.IntRange(1, 10000))
@click.option(
    "--base-url",
    default=None,
    help="Public address of the app, used to print the links "
    "(default: DMC_PUBLIC_URL, else http://localhost:5000).",
)
@test_options
def create_raters_command(
    count: int, base_url: str | None, manifest: Path | None, config: Path | None
) -> None:
    """Create COUNT rater links (each with its own resume token) and print them.

    Each rater's plan follows the design of the test found as serve finds it: give this
    command the --config (and --manifest) that serve was given.
    """
    use_test(manifest, config)
    base_url = base_url or current_app.config.get("PUBLIC_URL") or "http://localhost:5000"
    init_db()
    status = study_status()
    if status.study is None:
        raise BadInput(status.problem or "no test to serve")
    problem = design_mismatch(status.study)
    if problem:
        click.echo(f"warning: {problem}", err=True)
    for _ in range(count):
        rater = create_rater(status.study.design, consented=False)
        click.echo(f"{rater.rater_id}\t{base_url.rstrip('/')}/r/{rater.token}")


@click.command("check-test")
@with_appcontext
@test_options
def check_test_command(manifest: Path | None, config: Path | None) -> None:
    """Load the manifest and test config the app would serve, and list the trials."""
    use_test(manifest, config)
    status = study_status()
    if status.study is None:
        raise BadInput(status.problem or "no test to serve")
    design = status.study.design
    click.echo(
        f"manifest {status.manifest_path}; config {status.study.config_path or '(defaults)'}"
    )
    click.echo(
        f"design {design.design_hash}: "
        f"{len(design.training)} training + {len(design.trials)} trials"
    )


def init_app(app: Flask) -> None:
    for command in (
        export_ratings_command,
        create_raters_command,
        check_test_command,
        set_admin_password_command,
    ):
        app.cli.add_command(command)

"""Click commands of ``flask --app webapp ...`` (registered in :func:`init_app`).

``init-db`` lives in :mod:`webapp.db` and ``set-admin-password`` in :mod:`webapp.auth`;
this module adds the ones that export or inspect: ``export-ratings``, ``create-raters``
and ``check-test``.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from dmc.contracts.ratings import EXPORT_COLUMNS, to_csv
from webapp.auth import set_admin_password_command
from webapp.db import db, init_db
from webapp.export import (
    QUESTIONNAIRE_COLUMNS,
    questionnaire_rows,
    rating_rows,
    to_json,
)
from webapp.raters import create_rater
from webapp.study import study_status


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
def export_ratings_command(fmt: str, output: Path | None, questionnaire: bool) -> None:
    """Export one row per rating (CSV with formula escaping, or JSON with everything)."""
    init_db()
    with db.engine.connect() as connection:
        if fmt == "json":
            text = to_json(connection)
        elif questionnaire:
            text = to_csv(questionnaire_rows(connection), QUESTIONNAIRE_COLUMNS)
        else:
            text = to_csv(rating_rows(connection), EXPORT_COLUMNS)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


@click.command("create-raters")
@with_appcontext
@click.argument("count", type=click.IntRange(1, 10000))
@click.option(
    "--base-url",
    default=None,
    help="Public address of the app, used to print the links "
    "(default: DMC_PUBLIC_URL, else http://localhost:5000).",
)
def create_raters_command(count: int, base_url: str | None) -> None:
    """Create COUNT rater links (each with its own resume token) and print them."""
    base_url = base_url or current_app.config.get("PUBLIC_URL") or "http://localhost:5000"
    init_db()
    status = study_status()
    if status.study is None:
        raise click.ClickException(status.problem or "no test to serve")
    for _ in range(count):
        rater = create_rater(status.study.design, consented=False)
        click.echo(f"{rater.rater_id}\t{base_url.rstrip('/')}/r/{rater.token}")


@click.command("check-test")
@with_appcontext
def check_test_command() -> None:
    """Load the manifest and test config the app would serve, and list the trials."""
    status = study_status()
    if status.study is None:
        raise click.ClickException(status.problem or "no test to serve")
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

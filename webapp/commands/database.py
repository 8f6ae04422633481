"""The database's commands: ``export-ratings``, ``set-admin-password``, ``init-db``."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import click

from dmc.contracts.ratings import EXPORT_COLUMNS, to_csv
from webapp.commands.common import BadInput, command_app, instance_options


@click.command("export-ratings", short_help="Ratings, questionnaire or everything, as CSV or JSON.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "json"]),
    default="csv",
    show_default=True,
    help="csv: one row per rating (or per rater with --questionnaire); json: everything.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write here instead of standard output (readable by its owner only).",
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
@instance_options
def export_ratings_command(
    fmt: str,
    output: Path | None,
    questionnaire: bool,
    identifying: bool,
    instance: Path | None,
    database_url: str | None,
) -> None:
    """Export the ratings: one row per rating (CSV), or everything (JSON).

    CSV cells that a spreadsheet would run as a formula are escaped. Ratings are on 0-1
    whatever scale the raters used. A file given with --output is readable by its owner
    only (mode 0600), as the database is: ratings and answers are personal data.
    """
    from webapp.storage.db import db
    from webapp.storage.export import (
        questionnaire_columns,
        questionnaire_rows,
        rating_rows,
        to_json,
    )
    from webapp.storage.schema import init_db

    with command_app(instance, database_url).app_context():
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


@click.command("set-admin-password", short_help="Set the admin password (/admin).")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (for scripts)."
)
@instance_options
def set_admin_password_command(
    password_stdin: bool, instance: Path | None, database_url: str | None
) -> None:
    """Set the password of the admin pages (/admin).

    Asks twice. At least 10 characters, 5 of them different, not a well-known password.
    Only a salted hash is stored, in the database; every admin session ends.
    """
    from webapp.services.auth import set_admin_password
    from webapp.services.passwords import password_problem
    from webapp.storage.schema import init_db

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("New admin password", hide_input=True, confirmation_prompt=True)
    problem = password_problem(password)
    if problem:
        raise BadInput(problem)
    with command_app(instance, database_url).app_context():
        init_db()
        set_admin_password(password)
    click.echo("admin password set")


@click.command("init-db", short_help="Create the database tables (keeps data).")
@instance_options
def init_db_command(instance: Path | None, database_url: str | None) -> None:
    """Create the database tables if they do not exist yet (keeps existing data).

    Every other command and serve do this too; this is for a database set up ahead.
    """
    from webapp.storage.db import db
    from webapp.storage.schema import init_db

    with command_app(instance, database_url).app_context():
        init_db()
        click.echo(f"database ready: {db.engine.url.render_as_string(hide_password=True)}")

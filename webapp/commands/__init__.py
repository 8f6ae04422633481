"""The web app's commands: one click group, three ways to type it.

``dmc-webapp <command>``, ``python -m webapp <command>`` and ``flask --app webapp
<command>`` run the same click commands (:func:`init_app` registers them on the app, as
Flask's tutorial does, beside Flask's own ``run``, the development server):

- ``serve``: the listening test on a production server (:mod:`webapp.commands.serve`);
- ``create-raters``, ``check-test``: personal rater links on the served test, and what
  is served or would be (:mod:`webapp.commands.raters`);
- ``export-ratings``, ``set-admin-password``, ``init-db``: the database
  (:mod:`webapp.commands.database`).

Every command builds its app from its own options (:func:`webapp.commands.common.command_app`)
and follows :mod:`dmc.cli`: exit 0 done, 1 failed while running, 2 usage or bad input,
with one line on standard error.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click
from flask import Flask

from dmc.cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK
from webapp.commands.common import FACTORY_EXTENSION, AppFactory, CommandGroup
from webapp.commands.database import (
    export_ratings_command,
    init_db_command,
    set_admin_password_command,
)
from webapp.commands.raters import check_test_command, create_raters_command
from webapp.commands.serve import serve_command

__all__ = ["COMMANDS", "FACTORY_EXTENSION", "cli", "init_app", "run"]

#: In the order ``--help`` lists them: a test's life from serving to exporting.
COMMANDS = (
    serve_command,
    create_raters_command,
    check_test_command,
    export_ratings_command,
    set_admin_password_command,
    init_db_command,
)


@click.group(
    cls=CommandGroup,
    commands=list(COMMANDS),
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
def cli() -> None:
    """The MUSHRA-style listening-test web app: serve a rendered test to raters, make
    their links, export their ratings.

    \b
    A first test:
      python -m dmc.render testset                  render the stimuli (renders/testset)
      python -m webapp set-admin-password           once, for the admin pages (/admin)
      python -m webapp serve --config test.yaml     serve it (http://127.0.0.1:8000/)
      python -m webapp create-raters 5              personal links, in another terminal
      python -m webapp export-ratings -o ratings.csv

    The same commands run as dmc-webapp COMMAND and flask --app webapp COMMAND (where
    flask --app webapp run --debug is the development server). Each command has its
    own --help; docs/webapp.md has the whole story.
    """


def _program() -> str:
    name = Path(sys.argv[0]).name
    return name if name == "dmc-webapp" else "python -m webapp"


def run(create_app: Callable[..., Flask], argv: list[str] | None = None) -> int:
    """Run a command with apps from ``create_app``; return its exit status.

    Usage errors (an unknown option, a bad value) are one line, as every error is.
    ``dmc-webapp`` and ``python -m webapp`` are :func:`webapp.__main__.main`.
    """
    program = _program()
    try:
        cli.main(args=argv, prog_name=program, standalone_mode=False, obj=AppFactory(create_app))
    except click.exceptions.NoArgsIsHelpError as exc:  # no command: the help, as a hint
        click.echo(exc.ctx.get_help())
        return EXIT_BAD_INPUT
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else program
        hint = f" (see {where} --help)" if exc.ctx is not None else ""
        click.echo(f"{where}: error: {exc.format_message()}{hint}", err=True)
        return EXIT_BAD_INPUT
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.Abort:
        click.echo(f"{program}: stopped", err=True)
        return EXIT_FAILED
    return EXIT_OK


def init_app(app: Flask) -> None:
    """Register every command on ``app.cli`` (``flask --app webapp <command>``)."""
    for command in COMMANDS:
        app.cli.add_command(command)

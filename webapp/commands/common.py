"""What every command shares: one-line errors, the instance options, the app they run on.

A command builds its app with :func:`command_app`: the options it was given are handed
to :func:`webapp.create_app` as settings (nothing travels through ``os.environ``), on
top of the environment's defaults and the instance folder's ``config.py``. Under
``flask --app webapp <command>`` with no such options the app Flask loaded is used.
The factory comes with the command line (``python -m webapp`` passes it in an
:class:`AppFactory`; Flask's app knows its own), so the commands never import the
package that registers them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click
from flask import Flask
from flask.cli import ScriptInfo

from dmc.cli import EXIT_BAD_INPUT, EXIT_FAILED
from dmc.contracts.manifest import RENDER_COMMAND


class CommandGroup(click.Group):
    """The group of ``dmc-webapp`` / ``python -m webapp``: commands listed in the order
    given, not alphabetically (a test's life, from serving to exporting)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


@dataclass(frozen=True)
class AppFactory:
    """The click context's object under ``python -m webapp``: how commands build an app."""

    create_app: Callable[..., Flask]


#: Where :func:`webapp.create_app` leaves itself in ``app.extensions`` (for Flask's CLI).
FACTORY_EXTENSION = "dmc_create_app"


def command_name(context: click.Context | None = None) -> str:
    """How the running command was typed: ``python -m webapp serve``, ``dmc-webapp serve``
    or, under Flask's command line, ``flask --app webapp serve``."""
    context = context or click.get_current_context(silent=True)
    if context is None:
        return "python -m webapp"
    if isinstance(context.find_root().command, CommandGroup):
        return context.command_path
    return f"flask --app webapp {context.info_name}".rstrip()


class BadInput(click.ClickException):
    """A user mistake: one line ``<command>: error: ...`` and exit status 2 (:mod:`dmc.cli`)."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.prog = command_name()  # the context is gone by the time show() runs

    def show(self, file=None) -> None:
        click.echo(f"{self.prog}: error: {self.format_message()}", err=True)


class Failed(BadInput):
    """Failed while running (a port in use): one line and exit status 1."""

    exit_code = EXIT_FAILED


def note(message: str) -> None:
    """``<command>: note: ...`` on standard error (information, not the command's output)."""
    click.echo(f"{command_name()}: note: {message}", err=True)


def warn(message: str) -> None:
    click.echo(f"{command_name()}: warning: {message}", err=True)


def instance_options(command: Callable) -> Callable:
    """``--instance`` and ``--database-url``: which instance folder and database."""
    command = click.option(
        "--database-url",
        metavar="URL",
        default=None,
        help="SQLAlchemy URL of the database (default: $DMC_DATABASE_URL, else SQLite in "
        "the instance folder).",
    )(command)
    return click.option(
        "--instance",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Instance folder: database, secret key, config.py and the served tests "
        "(default: $DMC_WEBAPP_INSTANCE, else ./instance).",
    )(command)


def test_options(command: Callable) -> Callable:
    """``--manifest`` and ``--config``: the render and the test config of a test."""
    command = click.option(
        "--config",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Test config, YAML or TOML (default: $DMC_TEST_CONFIG, else test.yaml beside "
        "the manifest, else the built-in design).",
    )(command)
    return click.option(
        "--manifest",
        type=click.Path(path_type=Path),
        default=None,
        help="Render manifest or its folder (default: $DMC_MANIFEST, else ./renders/testset).",
    )(command)


def checked_test_paths(manifest: Path | None, config: Path | None) -> dict:
    """``MANIFEST_PATH`` / ``TEST_CONFIG`` settings for the given options, checked to exist.

    Raises:
        BadInput: no manifest at ``manifest``, or no file at ``config``.
    """
    settings = {}
    if manifest is not None:
        path = manifest / "manifest.json" if manifest.is_dir() else manifest
        if not path.is_file():
            raise BadInput(f"no render manifest at {path}; render one with `{RENDER_COMMAND}`")
        settings["MANIFEST_PATH"] = str(path.resolve())
    if config is not None:
        if not config.is_file():
            raise BadInput(f"test config not found: {config}")
        settings["TEST_CONFIG"] = str(config.resolve())
    return settings


def refuse_missing_files_early(
    instance: Path | None, manifest: Path | None, config: Path | None
) -> None:
    """On an instance that does not exist yet, missing files are an error before anything
    is made (elsewhere they may be those of the served test, deleted since).

    Raises:
        BadInput: as :func:`checked_test_paths`.
    """
    from webapp.config import default_instance_path

    if not (instance or default_instance_path()).exists():
        checked_test_paths(manifest, config)


def command_app(instance: Path | None = None, database_url: str | None = None, **settings) -> Flask:
    """The app a command works on, built from its options (see the module docstring).

    Raises:
        BadInput: a setting the app refuses (a weak ``DMC_ADMIN_PASSWORD``, a bad URL ...).
    """
    if instance is not None:
        settings["INSTANCE_PATH"] = str(instance.resolve())
    if database_url:
        settings["SQLALCHEMY_DATABASE_URI"] = database_url
    context = click.get_current_context()
    maker = context.find_object(AppFactory)
    if maker is not None:
        factory = maker.create_app
    else:  # flask --app webapp <command> (or Flask's test runner): Flask's app
        app = context.ensure_object(ScriptInfo).load_app()
        if not settings:
            return app
        factory = app.extensions[FACTORY_EXTENSION]
    try:
        return factory(settings=settings)
    except ValueError as exc:  # an unsafe setting
        raise BadInput(str(exc)) from None

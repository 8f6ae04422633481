"""``serve``: the listening test on a production WSGI server, from a snapshot.

Never the Flask debug server. The default is gunicorn with ``--workers`` processes of
``--threads`` threads each (gthread workers): a launch burst of hundreds of raters
needs more than one process, because one Python process spends its single core on
parsing HTTP; gunicorn's workers also wait on idle keep-alive connections with epoll
and send files with ``sendfile``. ``--server waitress`` keeps the earlier single-process
server (its one I/O thread saturates first; see the benchmark in ``docs/webapp.md``).
Both bind to loopback unless told otherwise and refuse bodies over the app's limit
before reading them. Put a reverse proxy with HTTPS in front of it for a real panel.

What is served is a snapshot of the render and the test config in the instance folder
(:mod:`webapp.services.snapshots`), chosen here, once, before any server process starts
(:func:`choose_test`): the test the instance already serves, unless the options name
files that make another one. A test raters have not finished is never replaced without
``--new-test``. The parent process prepares the database and records the test and the
address it listens on; the workers are built from the same settings (handed to
:func:`webapp.create_app`, nothing through the environment) and skip the database
set-up, so they never race to create tables.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
from pathlib import Path

import click

from dmc.cli import EXIT_BAD_INPUT, EXIT_FAILED
from dmc.contracts.manifest import RENDER_COMMAND
from webapp.commands.common import (
    FACTORY_EXTENSION,
    BadInput,
    Failed,
    command_app,
    instance_options,
    note,
    refuse_missing_files_early,
    test_options,
)


def default_workers() -> int:
    return max(2, min(8, os.cpu_count() or 2))


def _listen_problem(host: str, port: int) -> tuple[str, int] | None:
    """Why ``host:port`` cannot be listened on, with the exit status; None when it can.

    Tried before anything starts, so a port in use is one line, not a server's traceback.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        return (
            f"cannot listen on {host!r}: {exc.strerror}; give an address of this machine",
            EXIT_BAD_INPUT,
        )
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as both servers do
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (
                    f"port {port} on {host} is in use (another server?); stop it or "
                    f"choose another --port",
                    EXIT_FAILED,
                )
            return f"cannot listen on {host}:{port}: {exc.strerror}", EXIT_FAILED
    return None


def base_url(
    host: str, port: int, public_url: str | None, behind_proxy: bool
) -> tuple[str | None, str | None]:
    """``(address raters open, None)``, or ``(None, why it cannot be known)``."""
    if public_url:
        return public_url.rstrip("/"), None
    if behind_proxy:
        return None, "serve runs behind a proxy (--behind-proxy) and DMC_PUBLIC_URL is not set"
    if host in ("0.0.0.0", "::", ""):
        return None, f"serve listens on every address (--host {host}) and DMC_PUBLIC_URL is not set"
    return f"http://{f'[{host}]' if ':' in host else host}:{port}", None


def choose_test(
    app, new_test: bool, manifest: Path | None = None, config: Path | None = None
) -> tuple:
    """The test to serve: ``(ServedTest or None, lines to print)``.

    - Without ``--manifest``/``--config``/``--new-test``, the test the instance serves
      already, whatever happened to its files since.
    - The files it was copied from, changed or deleted since (a re-render, an import,
      an edited config): still that test, with a note; ``--new-test`` snapshots them anew.
    - Files that make another test: a snapshot of them, which replaces the served test
      only when no rater planned on that one is unfinished, or with ``--new-test``.
    - Nothing served and nothing rendered: ``None`` (the pages say how to render).

    Raises:
        BadInput: the files do not make a valid test, or would replace a test raters
            are taking (without ``--new-test``).
    """
    from dmc.contracts.manifest import ManifestError
    from evaluation.design.config import DesignError
    from webapp.services.snapshots import (
        SnapshotError,
        load_test,
        serving,
        snapshot,
        unfinished_raters,
    )
    from webapp.services.study import config_path_for, manifest_path_for

    given = manifest is not None or config is not None
    current = serving()
    served = None
    if current is not None:
        try:
            served = load_test(current.folder)
        except SnapshotError as exc:
            if not (given or new_test):
                raise BadInput(
                    f"{exc}; serve it again with --new-test (and --manifest/--config)"
                ) from None
    manifest_path = manifest_path_for(app)
    config_path = config_path_for(app, manifest_path)
    same_files = served is not None and served.made_from(manifest_path, config_path)
    if served is not None and not new_test and (not given or same_files):
        changed = served.sources_changed()
        lines = [f"serving {served.describe()} (as before)"]
        if changed:
            lines.append(_changed(changed))
        return served, lines
    if config is not None and not config_path.is_file():
        raise BadInput(f"test config not found: {config}")
    if not manifest_path.is_file():
        if served is None and not new_test and manifest is None:
            return None, []
        raise BadInput(
            f"no render manifest at {manifest_path}; render one with "
            f"`{RENDER_COMMAND}`" + ("" if manifest else " (or give --manifest)")
        )
    try:
        test = snapshot(Path(app.instance_path), manifest_path, config_path)
    except (ManifestError, DesignError, SnapshotError) as exc:
        raise BadInput(str(exc)) from None
    except OSError as exc:
        raise Failed(f"cannot snapshot the test into {app.instance_path}: {exc}") from None
    if served is None or test.test_id == served.test_id:
        again = served is not None
        return test, [f"serving {test.describe()}" + (" (as before)" if again else " (new)")]
    waiting = unfinished_raters(served.design_hash)
    if waiting and not new_test:
        raise BadInput(
            f"the instance serves test {served.test_id} and {waiting} rater(s) planned on it "
            f"have not finished; {manifest_path} with "
            f"{config_path or 'the built-in design'} make another test ({test.test_id}). "
            "Serve the running test again without --manifest/--config, or start the new one "
            "with --new-test (their remaining trials then follow the new test)"
        )
    lines = [f"serving {test.describe()} (new; before: test {served.test_id})"]
    if waiting:
        lines.append(
            f"{waiting} rater(s) of test {served.test_id} had not finished; their remaining "
            "trials now follow this test (those it lacks are skipped)"
        )
    return test, lines


def _changed(changed: list[str]) -> str:
    return (
        f"{', '.join(changed)} since this test was snapshotted; raters still hear the "
        "snapshot. Start a test on the files as they are now with --new-test"
    )


@click.command("serve", short_help="Serve the test to raters (a snapshot of the render).")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (loopback only by default; 0.0.0.0 for every address).",
)
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="Port."
)
@test_options
@click.option(
    "--new-test",
    is_flag=True,
    help="Start a new test on the files as they are now, even while raters have not "
    "finished the one served (their remaining trials then follow the new test).",
)
@instance_options
@click.option(
    "--server",
    type=click.Choice(["gunicorn", "waitress"]),
    default="gunicorn",
    show_default=True,
    help="WSGI server: gunicorn (several processes) or waitress (one process).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help=f"gunicorn worker processes (default {default_workers()}: the CPU count, 2-8).",
)
@click.option(
    "--threads",
    type=click.IntRange(1, 256),
    default=8,
    show_default=True,
    help="Threads per worker process.",
)
@click.option(
    "--connection-limit",
    type=click.IntRange(1, None),
    default=1000,
    show_default=True,
    help="Open connections each server process accepts.",
)
@click.option(
    "--behind-proxy",
    is_flag=True,
    help="Trust one reverse proxy's X-Forwarded-For/Proto/Host/Prefix headers.",
)
def serve_command(
    host: str,
    port: int,
    manifest: Path | None,
    config: Path | None,
    new_test: bool,
    instance: Path | None,
    database_url: str | None,
    server: str,
    workers: int | None,
    threads: int,
    connection_limit: int,
    behind_proxy: bool,
) -> None:
    """Serve the listening test to raters (admin pages at /admin).

    Serves a snapshot of the render and the test config, copied into the instance
    folder: re-rendering, importing or deleting the render folder changes nothing a
    rater hears. Started again, serve serves the same test; --manifest/--config that
    make another test start it only while no rater of the running one is unfinished,
    or with --new-test. Without --manifest: $DMC_MANIFEST, else ./renders/testset;
    without --config: $DMC_TEST_CONFIG, else test.yaml beside the manifest, else the
    built-in design. Put a reverse proxy with HTTPS in front of it for a real panel.
    """
    refuse_missing_files_early(instance, manifest, config)
    settings = {}  # else checked against what the instance serves (choose_test)
    if manifest is not None:
        path = manifest / "manifest.json" if manifest.is_dir() else manifest
        settings["MANIFEST_PATH"] = str(path.resolve())
    if config is not None:
        settings["TEST_CONFIG"] = str(config.resolve())
    problem = _listen_problem(host, port)
    if problem is not None:
        message, code = problem
        raise (Failed if code == EXIT_FAILED else BadInput)(message)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if behind_proxy:
        settings["PROXY_FIX"] = True
    if instance is not None:
        settings["INSTANCE_PATH"] = str(instance.resolve())
    if database_url:
        settings["SQLALCHEMY_DATABASE_URI"] = database_url
    app = command_app(**settings)
    from webapp.services.auth import admin_password_configured
    from webapp.services.snapshots import record_serving
    from webapp.storage.db import db

    with app.app_context():
        click.echo(f"database: {db.engine.url.render_as_string(hide_password=True)}")
        click.echo(f"secret key: {app.config['SECRET_KEY_SOURCE']}")
        url, url_problem = base_url(host, port, app.config.get("PUBLIC_URL"), behind_proxy)
        test, lines = choose_test(app, new_test, manifest, config)
        if test is None:
            click.echo(
                "no test yet: nothing rendered at "
                f"{app.config.get('MANIFEST_PATH') or './renders/testset'}; render one with "
                f"`{RENDER_COMMAND}` (the first request after it snapshots it)"
            )
        else:
            record_serving(test, url, url_problem)
            click.echo(lines[0])
            click.echo(f"snapshot: {test.folder} (what raters hear, whatever the render does)")
            for line in lines[1:]:
                note(line)
        if url is None:
            note(f"rater links need --base-url in create-raters: {url_problem}")
        if not admin_password_configured():
            click.echo(
                "admin: no password set; run `python -m webapp set-admin-password` "
                "(or set DMC_ADMIN_PASSWORD_HASH)"
            )
        db.engine.dispose()  # no pooled connection crosses the fork into the workers
    factory = app.extensions[FACTORY_EXTENSION]  # webapp.create_app: each server's app
    settings.update(
        SERVE_SNAPSHOT=True,
        SERVE_BASE_URL=url,
        SERVE_BASE_URL_PROBLEM=url_problem,
        INIT_DB=False,  # done above, in this process
    )
    click.echo(f"listening on http://{host}:{port}/ (admin: /admin)")
    if server == "waitress":
        _run_waitress(factory, settings, host, port, threads, connection_limit, behind_proxy)
        return
    workers = workers or default_workers()
    click.echo(f"server: gunicorn, {workers} processes x {threads} threads")
    _run_gunicorn(
        factory,
        settings,
        {
            "bind": [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"],
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "worker_connections": connection_limit,
            "backlog": 2048,
            "keepalive": 5,
            "timeout": 60,
            "graceful_timeout": 10,
            # X-Forwarded-* is the app's business (ProxyFix behind --behind-proxy).
            "forwarded_allow_ips": "127.0.0.1,::1" if behind_proxy else "",
            "proc_name": "dmc-webapp",
            # No management socket in $HOME shared by every instance (systemd manages us).
            "control_socket_disable": True,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "info",
        },
    )


def _run_waitress(
    create_app, settings: dict, host: str, port: int, threads: int, connection_limit: int,
    behind_proxy: bool,
) -> None:  # fmt: skip
    import waitress

    app = create_app(settings=settings)
    click.echo(f"server: waitress, 1 process, {threads} threads")
    waitress.serve(
        app,
        host=host,
        port=port,
        threads=threads,
        connection_limit=connection_limit,
        max_request_body_size=app.config["MAX_CONTENT_LENGTH"],
        ident="dmc-webapp",
        # Behind the proxy the app reads X-Forwarded-* itself (ProxyFix, one hop).
        clear_untrusted_proxy_headers=not behind_proxy,
        asyncore_use_poll=True,
    )


def _run_gunicorn(create_app, settings: dict, options: dict) -> None:
    """Run gunicorn with ``options``; each worker process builds its own app from
    ``settings`` (no shared engine, no environment)."""
    from gunicorn.app.base import BaseApplication

    class Application(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            return create_app(settings=settings)

    Application().run()

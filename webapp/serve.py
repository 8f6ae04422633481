"""``python -m webapp serve``: the listening test on a production WSGI server.

Never the Flask debug server. The default is gunicorn with ``--workers`` processes of
``--threads`` threads each (gthread workers): a launch burst of hundreds of raters
needs more than one process, because one Python process spends its single core on
parsing HTTP; gunicorn's workers also wait on idle keep-alive connections with epoll
and send files with ``sendfile``. ``--server waitress`` keeps the earlier single-process
server (its one I/O thread saturates first; see the benchmark in ``docs/webapp.md``).
Both bind to loopback unless told otherwise and refuse bodies over the app's limit
before reading them. Put a reverse proxy with HTTPS in front of it for a real panel.

The database is prepared once, in the parent process, before the workers start; the
workers skip that step (``DMC_INIT_DB=0``) so they never race to create tables.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from dmc.cli import EXIT_BAD_INPUT, EXIT_FAILED, Parser, fail


def get_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m webapp", description="MUSHRA-style listening-test web app.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    serve = commands.add_parser("serve", help="serve the test (gunicorn, or --server waitress)")
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: loopback only)"
    )
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument(
        "--manifest",
        type=Path,
        default=None,
        help="render manifest or its folder (default: $DMC_MANIFEST, else ./renders/testset)",
    )
    serve.add_argument(
        "--config",
        type=Path,
        default=None,
        help="test config YAML/TOML (default: test.yaml beside the manifest, else built-in)",
    )
    serve.add_argument(
        "--instance",
        type=Path,
        default=None,
        help="instance folder (default: $DMC_WEBAPP_INSTANCE or ./instance)",
    )
    serve.add_argument(
        "--database-url",
        default=None,
        help="SQLAlchemy URL (default: SQLite in the instance folder)",
    )
    serve.add_argument(
        "--server",
        choices=("gunicorn", "waitress"),
        default="gunicorn",
        help="WSGI server (default gunicorn: several processes; waitress: one process)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=None,
        help=f"gunicorn worker processes (default {default_workers()}: the CPU count, 2-8)",
    )
    serve.add_argument(
        "--threads", type=int, default=8, help="threads per worker process (default 8)"
    )
    serve.add_argument(
        "--connection-limit",
        type=int,
        default=1000,
        help="open connections accepted (default 1000)",
    )
    serve.add_argument(
        "--behind-proxy",
        action="store_true",
        help="trust one reverse proxy's X-Forwarded-For/Proto/Host/Prefix headers",
    )
    return parser


def default_workers() -> int:
    return max(2, min(8, os.cpu_count() or 2))


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> int:
    return fail("python -m webapp serve", message, code)


def _listen_problem(host: str, port: int) -> tuple[str, int] | None:
    """Why ``host:port`` cannot be listened on, with the exit status; None when it can.

    Tried before anything starts, so a port in use is one line, not a server's traceback.
    """
    import errno
    import socket

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


def main(argv: list[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    if args.manifest is not None:
        path = args.manifest / "manifest.json" if args.manifest.is_dir() else args.manifest
        if not path.is_file():
            return _fail(
                f"no render manifest at {path}; render one with `python -m dmc.render testset`"
            )
        os.environ["DMC_MANIFEST"] = str(path.resolve())
    if args.config is not None:
        if not args.config.is_file():
            return _fail(f"test config not found: {args.config}")
        os.environ["DMC_TEST_CONFIG"] = str(args.config.resolve())
    if args.instance is not None:
        os.environ["DMC_WEBAPP_INSTANCE"] = str(args.instance.resolve())
    if args.database_url:
        os.environ["DMC_DATABASE_URL"] = args.database_url
    if args.behind_proxy:
        os.environ["DMC_PROXY_FIX"] = "1"
    if not 1 <= args.port <= 65535:
        return _fail(f"--port must be between 1 and 65535, got {args.port}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    workers = args.workers or default_workers()
    if not 1 <= workers <= 64 or not 1 <= args.threads <= 256:
        return _fail("--workers must be 1-64 and --threads 1-256")
    problem = _listen_problem(args.host, args.port)
    if problem is not None:
        return _fail(*problem)

    from webapp import create_app
    from webapp.auth import admin_password_configured
    from webapp.db import db
    from webapp.study import record_served, study_status

    try:
        app = create_app()
    except ValueError as exc:  # an unsafe setting (weak DMC_ADMIN_PASSWORD, bad URL, ...)
        return _fail(str(exc))
    with app.app_context():
        status = study_status()
        if status.study is None and status.manifest_path.is_file():
            return _fail(status.problem or "the test cannot be served")
        print(f"database: {db.engine.url.render_as_string(hide_password=True)}")
        print(f"secret key: {app.config['SECRET_KEY_SOURCE']}")
        if status.study is None:
            print(f"no test yet: {status.problem}")
        else:
            design = status.study.design
            print(
                f"serving {status.manifest_path} "
                f"({len(design.trials)} trials, design {design.design_hash})"
            )
            record_served(status.study)  # create-raters warns when it plans on another design
        if not admin_password_configured():
            print(
                "admin: no password set; run `flask --app webapp set-admin-password` "
                "(or set DMC_ADMIN_PASSWORD_HASH)"
            )
        db.engine.dispose()  # no pooled connection crosses the fork into the workers
    print(f"listening on http://{args.host}:{args.port}/ (admin: /admin)", flush=True)
    if args.server == "waitress":
        import waitress

        print(f"server: waitress, 1 process, {args.threads} threads", flush=True)
        waitress.serve(
            app,
            host=args.host,
            port=args.port,
            threads=args.threads,
            connection_limit=args.connection_limit,
            max_request_body_size=app.config["MAX_CONTENT_LENGTH"],
            ident="dmc-webapp",
            # Behind the proxy the app reads X-Forwarded-* itself (ProxyFix, one hop).
            clear_untrusted_proxy_headers=not args.behind_proxy,
            asyncore_use_poll=True,
        )
        return 0
    print(f"server: gunicorn, {workers} processes x {args.threads} threads", flush=True)
    os.environ["DMC_INIT_DB"] = "0"  # the workers' apps: the tables exist already
    _run_gunicorn(
        {
            "bind": [
                f"[{args.host}]:{args.port}" if ":" in args.host else f"{args.host}:{args.port}"
            ],
            "workers": workers,
            "threads": args.threads,
            "worker_class": "gthread",
            "worker_connections": args.connection_limit,
            "backlog": 2048,
            "keepalive": 5,
            "timeout": 60,
            "graceful_timeout": 10,
            # X-Forwarded-* is the app's business (ProxyFix behind --behind-proxy).
            "forwarded_allow_ips": "127.0.0.1,::1" if args.behind_proxy else "",
            "proc_name": "dmc-webapp",
            # No management socket in $HOME shared by every instance (systemd manages us).
            "control_socket_disable": True,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "info",
        }
    )
    return 0


def _run_gunicorn(options: dict) -> None:
    """Run gunicorn with ``options``; each worker process builds its own app (no shared engine)."""
    from gunicorn.app.base import BaseApplication

    class Application(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            from webapp import create_app

            return create_app()

    Application().run()

"""``python -m webapp serve``: the listening test on waitress, a production WSGI server.

Never the Flask debug server: waitress handles many slow clients with a fixed pool of
worker threads, and binds to loopback unless told otherwise. Put a reverse proxy with
HTTPS in front of it for a real panel (``docs/webapp.md``).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m webapp", description="MUSHRA-style listening-test web app."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the test on waitress")
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
    serve.add_argument("--threads", type=int, default=8, help="worker threads (default 8)")
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


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


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

    import waitress

    from webapp import create_app
    from webapp.auth import admin_password_configured
    from webapp.db import db
    from webapp.study import study_status

    app = create_app()
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
        if not admin_password_configured():
            print(
                "admin: no password set; run `flask --app webapp set-admin-password` "
                "(or set DMC_ADMIN_PASSWORD_HASH)"
            )
    print(f"listening on http://{args.host}:{args.port}/ (admin: /admin)", flush=True)
    waitress.serve(
        app,
        host=args.host,
        port=args.port,
        threads=args.threads,
        connection_limit=args.connection_limit,
        ident="dmc-webapp",
        clear_untrusted_proxy_headers=True,
        asyncore_use_poll=True,
    )
    return 0

"""``python -m webapp <command>`` and ``dmc-webapp <command>`` (see :mod:`webapp.commands`)."""

from __future__ import annotations

from webapp import create_app
from webapp.commands import run


def main(argv: list[str] | None = None) -> int:
    """Run a web-app command (``--help`` lists them); returns the exit status."""
    return run(create_app, argv)


if __name__ == "__main__":
    raise SystemExit(main())

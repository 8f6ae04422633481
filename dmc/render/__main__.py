"""``python -m dmc.render``: forwards to :func:`dmc.render.cli.main`."""

import sys

from dmc.render.cli import main

if __name__ == "__main__":  # worker processes (spawn) import this module again: run only once
    sys.exit(main())

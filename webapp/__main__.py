"""``python -m webapp serve ...`` (see :mod:`webapp.serve`)."""

from webapp.serve import main

if __name__ == "__main__":
    raise SystemExit(main())

"""``python -m webapp serve ...`` (see :mod:`webapp.serve`)."""

from webapp.serve import main

raise SystemExit(main())

"""Creating and upgrading the database: tables, columns added since, the export view.

Idempotent, so it runs at every start (``create_app``) and before the commands that
write. ``create_all`` never alters an existing table, so the columns added since the
first release (:data:`webapp.storage.models.ADDED_COLUMNS`, all nullable) are added here to a
database made by an older version; the export view (:func:`webapp.storage.export.create_export_view`)
is installed again so it always has the current columns.
"""

from __future__ import annotations

from sqlalchemy import Engine, inspect, text

from webapp.storage import models
from webapp.storage.db import Base, db
from webapp.storage.export import create_export_view


def init_db() -> None:
    """Create missing tables, add missing columns and (re)install the export view.

    Idempotent: rows are kept. ``create_all`` never alters an existing table, so the
    columns added since the first release (:data:`webapp.storage.models.ADDED_COLUMNS`, all
    nullable) are added here to a database made by an older version.
    """
    db.create_all()
    add_missing_columns(db.engine, models.ADDED_COLUMNS)
    create_export_view(db.engine)


def add_missing_columns(engine: Engine, columns: tuple[tuple[str, str], ...]) -> list[str]:
    """``ALTER TABLE ... ADD COLUMN`` for each (table, column) the database lacks.

    Returns:
        The ``table.column`` names added (empty on an up-to-date database).
    """
    existing: dict[str, set[str]] = {}
    inspector = inspect(engine)
    added = []
    with engine.begin() as connection:
        for table, name in columns:
            if table not in existing:
                existing[table] = {c["name"] for c in inspector.get_columns(table)}
            if name in existing[table]:
                continue
            column = Base.metadata.tables[table].c[name]
            kind = column.type.compile(dialect=engine.dialect)
            connection.execute(text(f"ALTER TABLE {table} ADD COLUMN {name} {kind}"))
            existing[table].add(name)
            added.append(f"{table}.{name}")
    return added

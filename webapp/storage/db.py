"""Database engine set-up, the write transaction and the ``init-db`` command.

Ratings are the one thing this app must never lose, so the storage layer is small and
strict. On SQLite (the default) every connection runs in WAL mode with a busy timeout
and ``synchronous=NORMAL``: a commit is written to the WAL file before the server
answers, so a ``kill -9`` after the answer loses nothing (tested), and readers never
block the writer. ``SQLITE_SYNCHRONOUS=FULL`` adds an fsync per commit, which also
survives a power cut, at about 10 ms per rating on ordinary disks. Writes go through
:func:`write_session`, which on SQLite begins with ``BEGIN IMMEDIATE``: the write
lock is taken before the first read, so two concurrent submissions queue instead of
failing with a stale-snapshot error. Inside one server process they queue on a Python
lock, which hands over the moment the writer commits, and between worker processes on
a lock file beside the database (``<database>-writelock``, ``flock``), polled every
millisecond or two; SQLite's busy handler, which they spare, polls with sleeps that
grow to 100 ms and made the tail latency under load. Reads use Flask-SQLAlchemy's ``db.session`` with ordinary deferred
transactions.

Any other SQLAlchemy URL works too (PostgreSQL through psycopg 3 is tested); upserts
use ``INSERT ... ON CONFLICT`` on SQLite and PostgreSQL, so a resubmitted trial
replaces its rows in one statement.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask, current_app
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Session

from webapp.config import BUSY_TIMEOUT_MS


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)

_IMMEDIATE = "dmc_begin_immediate"
#: Upsert statements by (dialect, table, keys, columns): building one costs more than running it.
_upserts: dict[tuple, object] = {}
#: One write-flavoured view per engine (engines are weakly held: tests build many apps).
_write_engines: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()
#: One writer at a time per SQLite engine within this process (see the module docstring).
_write_locks: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
_write_locks_guard = threading.Lock()
#: One lock file per SQLite engine: hands the write slot over between worker processes.
_file_locks: weakref.WeakKeyDictionary[Engine, int] = weakref.WeakKeyDictionary()


class DatabaseBusyError(RuntimeError):
    """No write slot within the busy timeout: the database is overloaded or stuck."""


def configure_sqlite(
    engine: Engine, synchronous: str = "NORMAL", busy_timeout_ms: int = BUSY_TIMEOUT_MS
) -> None:
    """WAL, busy timeout, durable commits and explicit BEGIN on every SQLite connection.

    pysqlite's own transaction handling is switched off (``isolation_level=None``) so
    that this module decides how each transaction begins: ``BEGIN`` normally, ``BEGIN
    IMMEDIATE`` for connections carrying the write option (see :func:`write_session`).
    """
    if synchronous.upper() not in ("FULL", "NORMAL", "EXTRA"):
        raise ValueError(f"SQLITE_SYNCHRONOUS must be FULL, EXTRA or NORMAL, got {synchronous!r}")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute(f"PRAGMA synchronous = {synchronous.upper()}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        immediate = connection.get_execution_options().get(_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def prepare_engine(engine: Engine, config: dict) -> None:
    """Apply the per-dialect settings to an engine created from the app's config."""
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            from webapp.config import owner_only

            path = os.path.abspath(database)
            if os.path.isdir(os.path.dirname(path)):
                owner_only(Path(path))
                fd = os.open(f"{path}-writelock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                _file_locks[engine] = fd
                weakref.finalize(engine, os.close, fd)
        configure_sqlite(
            engine,
            config.get("SQLITE_SYNCHRONOUS", "NORMAL"),
            config.get("SQLITE_BUSY_TIMEOUT_MS", BUSY_TIMEOUT_MS),
        )


@contextmanager
def write_session() -> Iterator[Session]:
    """A session for one write transaction: committed on success, rolled back on error.

    Use it for every state change, as the first database work of that code path:
    on SQLite its transaction starts with ``BEGIN IMMEDIATE``.
    """
    base = db.engine
    engine = _write_engines.get(base)
    if engine is None:
        engine = _write_engines.setdefault(base, base.execution_options(**{_IMMEDIATE: True}))
    lock = _sqlite_write_lock(base) if base.dialect.name == "sqlite" else None
    file_lock = _file_locks.get(base) if lock is not None else None
    if lock is not None:
        timeout_s = current_app.config.get("SQLITE_BUSY_TIMEOUT_MS", BUSY_TIMEOUT_MS) / 1000
        deadline = time.monotonic() + timeout_s
        if not lock.acquire(timeout=timeout_s):
            raise DatabaseBusyError(f"no database write slot within {timeout_s:g} s")
        if file_lock is not None and not _flock(file_lock, deadline):
            lock.release()
            raise DatabaseBusyError(f"no database write slot within {timeout_s:g} s")
    try:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            yield session
    finally:
        if file_lock is not None:
            fcntl.flock(file_lock, fcntl.LOCK_UN)
        if lock is not None:
            lock.release()


def _flock(fd: int, deadline: float) -> bool:
    """Take the cross-process write lock, polling every 0.2-2 ms until ``deadline``.

    Only one thread per process gets here (the in-process lock comes first), and a
    holder keeps it for one short transaction, so the fine polling costs little and
    hands the slot over far sooner than SQLite's busy handler (sleeps of up to 100 ms).
    A killed holder's lock is released by the kernel.
    """
    pause = 0.0002
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(pause)
            pause = min(0.002, pause * 2)


def _sqlite_write_lock(engine: Engine) -> threading.Lock:
    lock = _write_locks.get(engine)
    if lock is None:
        with _write_locks_guard:
            lock = _write_locks.setdefault(engine, threading.Lock())
    return lock


def upsert(session: Session, model, rows: list[dict], keys: list[str]) -> None:
    """Insert ``rows`` or, where a row with the same ``keys`` exists, overwrite it.

    One ``INSERT ... ON CONFLICT DO UPDATE`` executed for all rows (executemany), so
    the statement is compiled once per shape and reused from SQLAlchemy's cache.
    """
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        shape = (dialect, model.__tablename__, tuple(keys), tuple(rows[0]))
        statement = _upserts.get(shape)
        if statement is None:
            insert = (sqlite.insert if dialect == "sqlite" else postgresql.insert)(model.__table__)
            update = {c: insert.excluded[c] for c in rows[0] if c not in keys}
            statement = _upserts.setdefault(
                shape, insert.on_conflict_do_update(index_elements=keys, set_=update)
            )
        session.connection().execute(statement, rows)
        return
    for row in rows:  # other databases: delete and re-insert inside the same transaction
        session.query(model).filter_by(**{k: row[k] for k in keys}).delete()
        session.add(model(**row))


def lock_for_assignment(session: Session) -> None:
    """Serialise rater creation on PostgreSQL (SQLite's BEGIN IMMEDIATE already does).

    Creations queue on this lock for the whole transaction, so the commit's WAL flush
    (an fsync, ~10 ms) would cap a launch burst at a few dozen raters per second and hold
    every worker thread that waits. These commits alone are asynchronous: the WAL is
    flushed a moment later with the next synchronous commit, and every trial saved by
    the new rater is such a commit, so no rating can outlive its rater; only a rater
    created in the last fraction of a second before a crash of the database server
    itself may be lost (its link then says so, and the start page makes a new one).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(5150001)"))
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))


def init_app(app: Flask) -> None:
    db.init_app(app)
    with app.app_context():
        prepare_engine(db.engine, current_app.config)

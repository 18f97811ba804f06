"""Engine, session factory and declarative base. The edge (request or task) owns the transaction."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import orjson
from sqlalchemy import (
    ARRAY,
    ColumnElement,
    DateTime,
    MetaData,
    any_,
    bindparam,
    create_engine,
    event,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from app.config import get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: DateTime(timezone=True)}


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def get_engine(url: str | None = None) -> Engine:
    """One engine per database URL and process."""
    # Resolve the default first: get_engine() and get_engine(None) must share one pool.
    return _engine(url or get_settings().database_url)


@lru_cache(maxsize=8)
def _engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # pool_pre_ping: a restarted PostgreSQL must not surface as stale-connection 500s.
    settings = get_settings()
    return create_engine(
        url, pool_pre_ping=True, pool_recycle=1800, pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow, pool_timeout=10, json_deserializer=_json_loads,
    )


_LONG_NUMBER = re.compile(rb"\d{19}")


def _json_loads(text: str | bytes) -> Any:
    """JSON columns read with orjson (the stdlib decoder was a fifth of listing 50 calls). The
    stdlib decodes what orjson reads differently or refuses: integers beyond 64 bits (orjson makes
    them floats; any run of 19 digits is sent there), lone surrogates, out-of-range floats."""
    data = text.encode() if isinstance(text, str) else bytes(text)
    if _LONG_NUMBER.search(data):
        return json.loads(data)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


get_engine.cache_clear = _engine.cache_clear  # type: ignore[attr-defined]  # tests reset it


def in_ids_param(dialect: str, column: Any, name: str = "ids") -> ColumnElement[bool]:
    """`column IN :name` that serves any number of ids with one statement text, so a statement
    built once is compiled once: `column = ANY(:name)` on PostgreSQL (one array parameter, prepared
    by psycopg after a few uses), an expanding IN elsewhere. Pass the ids as a list."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(column.type)))
    return column.in_(bindparam(name, expanding=True))


def get_sessionmaker(url: str | None = None) -> sessionmaker[Session]:
    """One session factory per database URL and process."""
    return _sessionmaker(url or get_settings().database_url)


@lru_cache(maxsize=8)
def _sessionmaker(url: str) -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(url), expire_on_commit=False)


get_sessionmaker.cache_clear = _sessionmaker.cache_clear  # type: ignore[attr-defined]


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A unit of work for tasks and the CLI: commit on success, roll back on error."""
    session = get_sessionmaker(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def get_session() -> Iterator[Session]:
    """Request dependency: the edge commits or rolls back."""
    with session_scope() as session:
        yield session


def init_db(url: str | None = None) -> None:
    """Bring the schema to the latest migration."""
    from app.migrations_runner import upgrade_to_head

    url = url or get_settings().database_url
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    upgrade_to_head(url)

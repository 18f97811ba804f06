"""A short-lived, in-process cache of resolved credentials: the token lookup runs on every request.

What it keeps, per token hash: a detached copy of the user (columns and team memberships), the
token's id, expiry and when its use was last recorded. A hit is merged into the request's session
without a query (`Session.merge(load=False)`), so routes get the same kind of `User` as before.

How stale it can be (settings.token_cache_s, default 5 s; 0 turns it off):
- in this process, none: flushing any change to an ApiToken, User or TeamMembership row (ORM
  objects or bulk UPDATE/DELETE statements) clears the cache, and so does the commit after it; a
  lookup that started before that commit cannot store its (older) answer;
- in another process (a second uvicorn worker, the CLI), a revocation, deactivation, role or team
  change is honoured within token_cache_s;
- expiry is checked on every hit; a hit whose last-use record is due goes to the database.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, make_transient_to_detached

from app.config import get_settings
from app.users.models import ApiToken, TeamMembership, User

MAX_ENTRIES = 10_000
# Set on a statement that changes nothing the cache holds (the token's last-use time).
KEEPS_CACHE = "token_cache_unaffected"
_WATCHED = (ApiToken, User, TeamMembership)
_WATCHED_TABLES = frozenset(model.__table__.name for model in _WATCHED)


@dataclass(frozen=True)
class Entry:
    user: User  # detached; never attached to a session, only merged
    token_id: int
    expires_at: datetime | None
    last_used_at: datetime | None
    stored_at: float  # time.monotonic()


_lock = threading.Lock()
_entries: dict[str, Entry] = {}
_generation = 0


def generation() -> int:
    """Read before a database lookup; `put` refuses an answer older than the last clear."""
    return _generation


def get(token_hash: str) -> Entry | None:
    """The entry if it is younger than token_cache_s."""
    ttl = get_settings().token_cache_s
    entry = _entries.get(token_hash)
    if entry is None or ttl <= 0 or time.monotonic() - entry.stored_at >= ttl:
        return None
    return entry


def put(
    token_hash: str, *, user: User, token_id: int, expires_at: datetime | None, last_used_at: datetime | None,
    looked_up_at: int,
) -> None:
    """Keep a resolved token unless the cache was cleared since `looked_up_at` (a generation)."""
    if get_settings().token_cache_s <= 0:
        return
    entry = Entry(_detached_copy(user), token_id, expires_at, last_used_at, time.monotonic())
    with _lock:
        if looked_up_at != _generation:
            return
        if len(_entries) >= MAX_ENTRIES:
            _entries.pop(next(iter(_entries)))
        _entries[token_hash] = entry


def clear() -> None:
    global _generation
    with _lock:
        _generation += 1
        _entries.clear()


def _detached_copy(user: User) -> User:
    """The user's columns and memberships as detached objects that no session owns."""
    copy = User(**{attr.key: getattr(user, attr.key) for attr in User.__mapper__.column_attrs})
    copy.memberships = [
        TeamMembership(**{attr.key: getattr(m, attr.key) for attr in TeamMembership.__mapper__.column_attrs})
        for m in user.memberships
    ]
    for membership in copy.memberships:
        make_transient_to_detached(membership)
    make_transient_to_detached(copy)
    return copy


def attach(session: Session, entry: Entry) -> User:
    """The cached user as a persistent object of this session, without a query."""
    return session.merge(entry.user, load=False)


def _touches_watched(objects: Any) -> bool:
    return any(isinstance(obj, _WATCHED) for obj in objects)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    if _touches_watched(session.new) or _touches_watched(session.dirty) or _touches_watched(session.deleted):
        session.info["token_cache_stale"] = True
        clear()


@event.listens_for(Session, "do_orm_execute")
def _bulk_change(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete) or state.execution_options.get(KEEPS_CACHE):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in _WATCHED_TABLES:
        state.session.info["token_cache_stale"] = True
        clear()


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop("token_cache_stale", False):
        clear()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop("token_cache_stale", None)

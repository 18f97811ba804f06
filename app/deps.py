"""Dependency aliases shared by routers: SessionDep, CurrentUser, AdminUser, Page."""

from __future__ import annotations

import asyncio
import functools
import weakref
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, TypeVar, cast

import anyio
import orjson
from fastapi import Depends, FastAPI, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.config import get_settings
from app.db import get_sessionmaker
from app.errors import Forbidden, NotAuthenticated, Unprocessable
from app.users import security
from app.users import service as users_service
from app.users.models import Role, User

SESSION_COOKIE = "talktrack_session"

# Per event loop and app: an asyncio.Semaphore belongs to the loop that first waits on it.
_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[int, str], asyncio.Semaphore]] = (
    weakref.WeakKeyDictionary()
)


def _semaphore(app: FastAPI, name: str, size: int) -> asyncio.Semaphore:
    per_loop = _slots.setdefault(asyncio.get_running_loop(), {})
    slots = per_loop.get((id(app), name))
    if slots is None:
        slots = per_loop[(id(app), name)] = asyncio.Semaphore(size)
    return slots


def _db_slots(app: FastAPI) -> asyncio.Semaphore:
    """How many requests of this process may use the database at once (= the pool size)."""
    return _semaphore(app, "db", get_settings().db_pool_size)


async def _upload_slot(request: Request) -> AsyncIterator[None]:
    """A bulkhead for uploads, taken before the database slot: 50 uploads arriving at once would
    otherwise queue ahead of every read for all the pool's slots (reads' p99 rose from ~50 ms to
    ~0.5 s in bench/load.py); with this, at most `upload_concurrency` of them hold a slot and the
    rest wait here, while reads keep the others. Declare it before SessionDep in the route."""
    async with _semaphore(request.app, "upload", get_settings().upload_concurrency):
        yield


UploadSlot = Annotated[None, Depends(_upload_slot, scope="function")]


async def _request_session() -> AsyncIterator[Session]:
    """The request's session, closed after the response has been sent (lazy loads stay possible)."""
    session = get_sessionmaker()()
    try:
        yield session
    finally:
        if session.in_transaction():  # only then does close() talk to the database
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(session.close)
        else:
            session.close()


async def _committed_session(
    request: Request, session: Annotated[Session, Depends(_request_session)]
) -> AsyncIterator[Session]:
    """Commit when the route returns, *before* the response is sent: a client never gets 2xx for a
    write that then fails to commit (e.g. the database restarting), and a failed commit is answered
    like any other error (503 for a lost connection) instead of a dropped connection.

    Requests wait for a database slot in the event loop (cheap) rather than in a worker thread:
    with more requests in flight than pooled connections, threads blocked on the pool would hold
    every threadpool token while the requests holding connections wait for a token to finish,
    until the pool timeout (the 500s and 20 s latencies of the first load test).
    """
    async with _db_slots(request.app):
        try:
            yield session
        except BaseException:
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(session.rollback)
            raise
        # Outside the try: a failure in commit (or an after-commit hook) must not be followed by a
        # rollback of an already committed session; _request_session's close() cleans up.
        if session.in_transaction():  # not when the route committed in its own thread (commits_in_route)
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(session.commit)


SessionDep = Annotated[Session, Depends(_committed_session, scope="function")]

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def commits_in_route(endpoint: Endpoint) -> Endpoint:
    """For a plain `def` route taking `session: SessionDep`: commit in the route's own worker
    thread as it returns, so that _committed_session has nothing left to commit and skips its own
    trip through the threadpool (about 0.7 ms of CPU a request on the 2-core bench machine, a
    tenth of a listing). The guarantees stay: the commit happens before the response is sent, and
    a failure in it reaches _committed_session, which rolls back and answers it as an error."""

    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        result = endpoint(*args, **kwargs)
        session: Session = kwargs["session"]
        if session.in_transaction():
            session.commit()
        return result

    return cast(Endpoint, run)


def _credential(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(SESSION_COOKIE)


async def current_user(request: Request, session: SessionDep) -> User:
    """The caller; a token resolved a moment ago is taken from the cache on the event loop (no I/O),
    otherwise it is looked up in a worker thread."""
    secret = _credential(request)
    user = None
    if secret:
        user = users_service.resolve_cached(session=session, token_hash=security.token_hash(secret))
        if user is None:
            user = await run_in_threadpool(users_service.resolve_token, session=session, secret=secret)
    if user is None:
        raise NotAuthenticated(
            "Authentication required: send 'Authorization: Bearer <token>' "
            "(create one with `talktrack users token EMAIL`) or log in at /login."
        )
    request.state.user_id = user.id
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require_roles(*roles: Role):  # type: ignore[no-untyped-def]
    async def check(user: CurrentUser) -> User:  # async: no I/O, no threadpool trip
        if user.role not in roles:
            raise Forbidden(f"This action needs one of the roles: {', '.join(roles)}.")
        return user

    return check


AdminUser = Annotated[User, Depends(require_roles(Role.admin))]
ManagerUser = Annotated[User, Depends(require_roles(Role.admin, Role.manager))]
COACH_ROLES = (Role.admin, Role.manager, Role.trainer)  # who coaches reps (and may correct SOP labels)
CoachUser = Annotated[User, Depends(require_roles(*COACH_ROLES))]


class Page:
    """Pagination parameters, bounded: ?page=1&page_size=50."""

    def __init__(self, page: int, page_size: int) -> None:
        self.page, self.page_size = page, page_size

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


async def _page(
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int | None, Query(ge=1)] = None,
) -> Page:
    # async: no I/O here, so no trip through the threadpool.
    settings = get_settings()
    size = page_size or settings.default_page_size
    if size > settings.max_page_size:
        raise Unprocessable(f"page_size may be at most {settings.max_page_size}; got {size}.")
    return Page(page, size)


PageDep = Annotated[Page, Depends(_page)]


def json_response(model: BaseModel) -> Response:
    """A model already built by the route, serialised once: FastAPI validates a returned model again,
    and for a plain `def` route it does so on another trip through the threadpool. For the hot read
    routes (the route keeps `response_model` for the schema)."""
    return Response(model.model_dump_json(), media_type="application/json")


def json_rows_response(content: Any) -> Response:
    """Plain values (dicts, lists, str, numbers, datetimes) serialised as `json_response` would
    serialise the route's response model, without building the model first: for read routes that
    select plain columns. tests/calls/test_read_serialisation.py holds the two to the same bytes."""
    return Response(orjson.dumps(content, option=orjson.OPT_UTC_Z), media_type="application/json")

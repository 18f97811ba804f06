"""Dependency aliases shared by routers: SessionDep, CurrentUser, AdminUser, Page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session

from app.config import get_settings
from app.db import get_sessionmaker
from app.errors import Forbidden, NotAuthenticated
from app.users import service as users_service
from app.users.models import Role, User

SESSION_COOKIE = "talktrack_session"



def _request_session() -> Iterator[Session]:
    """The request's session, closed after the response has been sent (lazy loads stay possible)."""
    session = get_sessionmaker()()
    try:
        yield session
    finally:
        session.close()


def _committed_session(session: Annotated[Session, Depends(_request_session)]) -> Iterator[Session]:
    """Commit when the route returns, *before* the response is sent: a client never gets 2xx for a
    write that then fails to commit (e.g. the database restarting), and a failed commit is answered
    like any other error (503 for a lost connection) instead of a dropped connection."""
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    # Outside the try: a failure in commit (or an after-commit hook) must not be followed by a
    # rollback of an already committed session; _request_session's close() cleans up.
    session.commit()


SessionDep = Annotated[Session, Depends(_committed_session, scope="function")]


def _credential(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(SESSION_COOKIE)


def current_user(request: Request, session: SessionDep) -> User:
    secret = _credential(request)
    user = users_service.resolve_token(session=session, secret=secret) if secret else None
    if user is None:
        raise NotAuthenticated(
            "Authentication required: send 'Authorization: Bearer <token>' "
            "(create one with `talktrack users token EMAIL`) or log in at /login."
        )
    request.state.user_id = user.id
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require_roles(*roles: Role):  # type: ignore[no-untyped-def]
    def check(user: CurrentUser) -> User:
        if user.role not in roles:
            raise Forbidden(f"This action needs one of the roles: {', '.join(roles)}.")
        return user

    return check


AdminUser = Annotated[User, Depends(require_roles(Role.admin))]
ManagerUser = Annotated[User, Depends(require_roles(Role.admin, Role.manager))]
CoachUser = Annotated[User, Depends(require_roles(Role.admin, Role.manager, Role.trainer))]


class Page:
    """Pagination parameters, bounded: ?page=1&page_size=50."""

    def __init__(
        self,
        page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
        page_size: Annotated[int | None, Query(ge=1)] = None,
    ) -> None:
        settings = get_settings()
        size = page_size or settings.default_page_size
        if size > settings.max_page_size:
            from app.errors import Unprocessable

            raise Unprocessable(f"page_size may be at most {settings.max_page_size}; got {size}.")
        self.page, self.page_size = page, size

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


PageDep = Annotated[Page, Depends(Page)]

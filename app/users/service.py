"""Users, teams, credentials. Services add and flush; the edge commits."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, joinedload

from app.audit import service as audit_service
from app.audit.models import AuditAction
from app.config import get_settings
from app.db import aware, utcnow
from app.errors import Conflict
from app.users import security, token_cache
from app.users.exceptions import (
    EmailTaken,
    InvalidCredentials,
    LoginRateLimited,
    TeamNotFound,
    UserNotFound,
)
from app.users.models import ApiToken, LoginAttempt, Role, Team, TeamMembership, User
from app.users.schemas import TeamCreate, UserCreate

log = logging.getLogger(__name__)


def create_team(*, session: Session, team_in: TeamCreate) -> Team:
    if session.scalar(select(Team).where(Team.name == team_in.name)):
        raise EmailTaken(f"A team named {team_in.name!r} already exists.")
    team = Team(**team_in.model_dump())
    session.add(team)
    session.flush()
    return team


def get_team(*, session: Session, team_id: int) -> Team:
    team = session.get(Team, team_id)
    if team is None:
        raise TeamNotFound(f"Team {team_id} does not exist.")
    return team


def get_team_by_name(*, session: Session, name: str) -> Team | None:
    return session.scalar(select(Team).where(Team.name == name))


def list_teams(*, session: Session) -> list[Team]:
    return list(session.scalars(select(Team).order_by(Team.name)))


def create_user(*, session: Session, user_in: UserCreate) -> User:
    email = user_in.email.strip().lower()
    if session.scalar(select(User).where(User.email == email)):
        raise EmailTaken(f"A user with e-mail {email} already exists.")
    user = User(
        email=email,
        name=user_in.name,
        role=user_in.role,
        password_hash=security.hash_password(user_in.password) if user_in.password else None,
    )
    for membership in user_in.teams:
        get_team(session=session, team_id=membership.team_id)
        user.memberships.append(TeamMembership(team_id=membership.team_id, relation=membership.relation))
    session.add(user)
    session.flush()
    return user


def get_user(*, session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise UserNotFound(f"User {user_id} does not exist.")
    return user


def get_user_by_email(*, session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def list_users(*, session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.id)))


def set_role(*, session: Session, user: User, role: Role) -> User:
    user.role = role
    session.flush()
    return user


def set_password(*, session: Session, user: User, password: str) -> None:
    user.password_hash = security.hash_password(password)
    session.execute(delete(ApiToken).where(ApiToken.user_id == user.id, ApiToken.kind == "session"))
    session.flush()


def authenticate(*, session: Session, email: str, password: str, ip: str = "") -> User:
    """Check a password; too many recent failures for this e-mail answer 429."""
    settings = get_settings()
    email = email.strip().lower()
    since = utcnow() - timedelta(seconds=settings.login_window_s)
    failures = session.scalar(
        select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.email == email, LoginAttempt.at >= since
        )
    )
    if (failures or 0) >= settings.login_max_failures:
        raise LoginRateLimited(
            f"Too many failed logins for this account; try again in {settings.login_window_s // 60} minutes."
        )
    user = get_user_by_email(session=session, email=email)
    if user is None or not user.is_active or not security.verify_password(password, user.password_hash if user else None):
        _record_failure(session, email=email, ip=ip)
        raise InvalidCredentials("E-mail or password is wrong.")
    session.execute(delete(LoginAttempt).where(LoginAttempt.email == email))
    return user


def _record_failure(session: Session, *, email: str, ip: str) -> None:
    """Count a failed login in its own transaction: the request's rolls back with the 401 it raises."""
    with Session(bind=session.get_bind()) as own:
        own.add(LoginAttempt(email=email, ip=ip[:64], at=utcnow()))
        own.commit()


def issue_token(
    *, session: Session, user: User, kind: str = "api", name: str = "", expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a token; the secret is returned once and only its hash is kept."""
    secret = security.new_token()
    token = ApiToken(
        user_id=user.id,
        kind=kind,
        name=name,
        token_hash=security.token_hash(secret),
        prefix=secret[:10],
        expires_at=expires_at,
    )
    session.add(token)
    session.flush()
    return token, secret


def resolve_token(*, session: Session, secret: str) -> User | None:
    """The active user a token belongs to, or None if unknown, revoked or expired."""
    digest = security.token_hash(secret)
    cached = resolve_cached(session=session, token_hash=digest)
    if cached is not None:
        return cached
    looked_up_at = token_cache.generation()
    # One round trip for token, user and team memberships: this runs on every cache miss.
    row = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == digest)
        .options(joinedload(User.memberships))
    ).unique().first()
    now = utcnow()
    if row is None:
        return None
    token, user = row
    if token.revoked_at is not None or not user.is_active:
        return None
    if token.expires_at is not None and aware(token.expires_at) <= now:
        return None
    last_used_at = token.last_used_at
    if _touch_due(last_used_at, now):
        _touch(session, token.id, now)
        last_used_at = now
    token_cache.put(digest, user=user, token_id=token.id, expires_at=token.expires_at, last_used_at=last_used_at,
                    looked_up_at=looked_up_at)
    return user


def resolve_cached(*, session: Session, token_hash: str) -> User | None:
    """The user of a token resolved a moment ago (token_cache.py), without a query; None: look it up.

    Never None for a reason other than "not cached": an expired token or a due last-use record
    fall through to resolve_token, which decides.
    """
    entry = token_cache.get(token_hash)
    if entry is None:
        return None
    now = utcnow()
    if entry.expires_at is not None and aware(entry.expires_at) <= now:
        return None
    if _touch_due(entry.last_used_at, now):
        return None
    return token_cache.attach(session, entry)


def _touch_due(last_used_at: datetime | None, now: datetime) -> bool:
    return last_used_at is None or aware(last_used_at) < now - LAST_USED_RESOLUTION


# Recording every use would lock the token row for the whole request: parallel requests with one
# token then queue on that lock while holding worker threads, until the server deadlocks.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _touch(session: Session, token_id: int, now: datetime) -> None:
    """Record a token's use in its own short transaction (best effort, at most once a minute)."""
    try:
        with Session(bind=session.get_bind()) as own:
            own.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now)
                        .execution_options(**{token_cache.KEEPS_CACHE: True}))
            own.commit()
    except SQLAlchemyError as exc:
        log.warning("token.touch_failed token_id=%s error=%s", token_id, type(exc).__name__)


def revoke_token(*, session: Session, user: User, token_id: int) -> None:
    token = session.get(ApiToken, token_id)
    if token is None or (token.user_id != user.id and user.role != Role.admin):
        raise UserNotFound(f"Token {token_id} does not exist.")
    token.revoked_at = utcnow()
    session.flush()


def revoke_secret(*, session: Session, secret: str) -> None:
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == security.token_hash(secret)))
    if token is not None:
        token.revoked_at = utcnow()
        session.flush()


# Audited variants for administrative actions (API and CLI). `actor=None` is the server CLI.


def change_role(*, session: Session, actor: User | None, user: User, role: Role, detail: dict | None = None) -> User:
    """Change a role (audited); the last active admin cannot be demoted."""
    before = user.role
    if before == Role.admin and role != Role.admin:
        admins = session.scalar(
            select(func.count()).select_from(User).where(User.role == Role.admin, User.is_active.is_(True))
        )
        if (admins or 0) <= 1:
            raise Conflict("This is the last admin; make another user admin first.")
    set_role(session=session, user=user, role=role)
    audit_service.record(session=session, actor=actor, action=AuditAction.role_change, target_type="user",
                         target_id=user.id, detail={**(detail or {}), "before": before, "after": str(role)})
    return user


def reset_password(
    *, session: Session, actor: User | None, user: User, password: str, detail: dict | None = None
) -> None:
    """Set a new password and sign the user's web sessions out (audited; the password is not recorded)."""
    set_password(session=session, user=user, password=password)
    audit_service.record(session=session, actor=actor, action=AuditAction.password_reset, target_type="user",
                         target_id=user.id, detail=detail or {})


def create_api_token(
    *, session: Session, actor: User | None, user: User, name: str, expires_at: datetime | None,
    detail: dict | None = None,
) -> tuple[ApiToken, str]:
    """Issue an API token (audited by its id and prefix, never its secret)."""
    token, secret = issue_token(session=session, user=user, name=name, expires_at=expires_at)
    audit_service.record(session=session, actor=actor, action=AuditAction.token_create, target_type="token",
                         target_id=token.id, detail={**(detail or {}), "user_id": user.id, "name": name,
                                                     "prefix": token.prefix})
    return token, secret

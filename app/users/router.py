"""REST: login, tokens, users, teams, voiceprints."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, File, Request, Response, UploadFile, status

from app.audit import service as audit_service
from app.audit.models import AuditAction
from app.calls import storage
from app.config import get_settings
from app.db import utcnow
from app.deps import SESSION_COOKIE, AdminUser, CurrentUser, SessionDep
from app.errors import Forbidden
from app.users import service as users_service
from app.users.models import Role, User
from app.users.schemas import (
    LoginIn,
    PasswordReset,
    RoleUpdate,
    TeamCreate,
    TeamRead,
    TeamUpdate,
    TokenCreate,
    TokenRead,
    UserCreate,
    UserRead,
)

router = APIRouter(prefix="/api/v1", tags=["users"])


def _read(user: User) -> UserRead:
    out = UserRead.model_validate(user)
    out.has_voiceprint = user.voiceprint is not None
    return out


@router.post("/auth/login", response_model=TokenRead)
def login(body: LoginIn, request: Request, response: Response, session: SessionDep) -> TokenRead:
    """Password login: sets the session cookie and returns the same session token."""
    ip = request.client.host if request.client else ""
    user = users_service.authenticate(session=session, email=body.email, password=body.password, ip=ip)
    hours = get_settings().session_ttl_hours
    token, secret = users_service.issue_token(
        session=session, user=user, kind="session", name="web", expires_at=utcnow() + timedelta(hours=hours)
    )
    response.set_cookie(
        SESSION_COOKIE, secret, max_age=hours * 3600, httponly=True, samesite="lax",
        secure=get_settings().environment == "production",
    )
    return TokenRead(id=token.id, name=token.name, token=secret, prefix=token.prefix, expires_at=token.expires_at)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(request: Request, response: Response, session: SessionDep, user: CurrentUser) -> None:
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        users_service.revoke_secret(session=session, secret=secret)
    response.delete_cookie(SESSION_COOKIE)


@router.get("/me", response_model=UserRead)
def me(user: CurrentUser) -> UserRead:
    return _read(user)


@router.post("/me/tokens", response_model=TokenRead, status_code=status.HTTP_201_CREATED)
def create_token(body: TokenCreate, session: SessionDep, user: CurrentUser) -> TokenRead:
    """A personal API token; its secret is shown once."""
    expires = utcnow() + timedelta(days=body.expires_in_days) if body.expires_in_days else None
    token, secret = users_service.create_api_token(
        session=session, actor=user, user=user, name=body.name, expires_at=expires
    )
    return TokenRead(id=token.id, name=token.name, token=secret, prefix=token.prefix, expires_at=token.expires_at)


@router.delete("/me/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(token_id: int, session: SessionDep, user: CurrentUser) -> None:
    users_service.revoke_token(session=session, user=user, token_id=token_id)
    audit_service.record(session=session, actor=user, action=AuditAction.token_revoke, target_type="token",
                         target_id=token_id)


@router.get("/users", response_model=list[UserRead])
def list_users(session: SessionDep, _admin: AdminUser) -> list[UserRead]:
    return [_read(u) for u in users_service.list_users(session=session)]


@router.post("/users", response_model=UserRead, status_code=status.HTTP_201_CREATED)
def create_user(body: UserCreate, session: SessionDep, admin: AdminUser) -> UserRead:
    user = users_service.create_user(session=session, user_in=body)
    audit_service.record(session=session, actor=admin, action=AuditAction.user_create, target_type="user",
                         target_id=user.id, detail={"role": user.role, "email": user.email})
    return _read(user)


@router.put("/users/{user_id}/role", response_model=UserRead)
def set_user_role(user_id: int, body: RoleUpdate, session: SessionDep, admin: AdminUser) -> UserRead:
    """Change a user's role (audited; the last admin cannot be demoted)."""
    target = users_service.get_user(session=session, user_id=user_id)
    return _read(users_service.change_role(session=session, actor=admin, user=target, role=body.role))


@router.put("/users/{user_id}/password", status_code=status.HTTP_204_NO_CONTENT)
def reset_user_password(user_id: int, body: PasswordReset, session: SessionDep, admin: AdminUser) -> None:
    """Set a user's password and sign their web sessions out (audited)."""
    target = users_service.get_user(session=session, user_id=user_id)
    users_service.reset_password(session=session, actor=admin, user=target, password=body.password)


@router.get("/teams", response_model=list[TeamRead])
def list_teams(session: SessionDep, user: CurrentUser) -> list[TeamRead]:
    teams = users_service.list_teams(session=session)
    if user.role != Role.admin:
        mine = user.team_ids()
        teams = [t for t in teams if t.id in mine]
    return [TeamRead.model_validate(t) for t in teams]


@router.post("/teams", response_model=TeamRead, status_code=status.HTTP_201_CREATED)
def create_team(body: TeamCreate, session: SessionDep, _admin: AdminUser) -> TeamRead:
    return TeamRead.model_validate(users_service.create_team(session=session, team_in=body))


@router.put("/teams/{team_id}", response_model=TeamRead)
def update_team(team_id: int, body: TeamUpdate, session: SessionDep, _admin: AdminUser) -> TeamRead:
    """Set a team's default SOP, and per call type (checked to exist)."""
    from app.sop import service as sop_service

    team = users_service.get_team(session=session, team_id=team_id)
    for sop_id in [body.default_sop_id, *(body.default_sops or {}).values()]:
        if sop_id:
            sop_service.get_version(session=session, sop_id=sop_id)  # 404 names the unknown SOP
    if body.default_sop_id is not None:
        team.default_sop_id = body.default_sop_id or None
    if body.default_sops is not None:
        team.default_sops = {k[:60]: v for k, v in body.default_sops.items()}
    session.flush()
    return TeamRead.model_validate(team)


@router.post("/users/{user_id}/voiceprint", response_model=UserRead)
def enroll_voiceprint(
    user_id: int,
    session: SessionDep,
    user: CurrentUser,
    file: Annotated[UploadFile, File(description="10–60 s of the rep speaking alone")],
) -> UserRead:
    """Enrol a rep's voice so mono recordings can tell the rep from the customer."""
    if user.id != user_id and user.role != Role.admin:
        raise Forbidden("You can enrol only your own voice (admins can enrol anyone's).")
    target = users_service.get_user(session=session, user_id=user_id)
    staged = storage.stage(storage.iter_file(file.file), max_bytes=50 * 1024 * 1024)
    try:
        from app import ml

        vector, model = ml.voiceprint(staged.path)
    finally:
        storage.discard(staged)
    target.voiceprint, target.voiceprint_model, target.voiceprint_at = vector.tobytes(), model, utcnow()
    session.flush()
    return _read(target)

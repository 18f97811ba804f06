"""`talktrack users create|list|set-role|reset-password|token` (run by an administrator on the server)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

users_app = typer.Typer(help="Users, roles and API tokens (admin).", no_args_is_help=True)
console = Console()
err = Console(stderr=True)
VIA = {"via": "cli"}


def _fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(1)


def _user(session, email: str):  # type: ignore[no-untyped-def]
    from app.users import service as users_service

    user = users_service.get_user_by_email(session=session, email=email)
    if user is None:
        _fail(f"No user {email}; `talktrack users list` shows who exists.")
    return user


def _run(action):  # type: ignore[no-untyped-def]
    """Run `action(session)` in one transaction; domain errors become a readable exit."""
    from app.db import init_db, session_scope
    from app.errors import AppError

    init_db()
    try:
        with session_scope() as session:
            return action(session)
    except AppError as exc:
        _fail(exc.message)


@users_app.command()
def create(
    email: Annotated[str, typer.Argument()],
    name: Annotated[str | None, typer.Option(help="display name (default: the part before @)")] = None,
    role: Annotated[str, typer.Option(help="admin | manager | trainer | rep")] = "rep",
    team: Annotated[list[str] | None, typer.Option(help="team name; repeat for several (created if missing)")] = None,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True,
                                          help="asked for when omitted (never echoed)")] = "",
) -> None:
    """Create a user; reps join their teams as members, managers lead them, trainers serve them."""
    from pydantic import ValidationError

    from app.audit import service as audit_service
    from app.audit.models import AuditAction
    from app.users import service as users_service
    from app.users.models import Role, TeamRelation
    from app.users.schemas import MembershipIn, TeamCreate, UserCreate

    relation = {Role.manager: TeamRelation.manager, Role.trainer: TeamRelation.trainer}.get(role, TeamRelation.member)

    def action(session):  # type: ignore[no-untyped-def]
        teams = []
        for team_name in team or []:
            found = users_service.get_team_by_name(session=session, name=team_name)
            found = found or users_service.create_team(session=session, team_in=TeamCreate(name=team_name))
            teams.append(MembershipIn(team_id=found.id, relation=relation))
        try:
            user_in = UserCreate(email=email, name=name or email.split("@")[0], role=role, password=password,
                                 teams=teams)
        except ValidationError as exc:
            _fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
        user = users_service.create_user(session=session, user_in=user_in)
        audit_service.record(session=session, actor=None, action=AuditAction.user_create, target_type="user",
                             target_id=user.id, detail={**VIA, "role": user.role, "email": user.email})
        return user.id, user.email, user.role

    user_id, user_email, user_role = _run(action)
    console.print(f"created user {user_id} {user_email} ({user_role})")


@users_app.command("list")
def list_users() -> None:
    """Every user with role, teams and whether they can log in."""
    from app.users import service as users_service

    def action(session):  # type: ignore[no-untyped-def]
        teams = {t.id: t.name for t in users_service.list_teams(session=session)}
        return [(u.id, u.email, u.name, u.role, u.is_active,
                 ", ".join(f"{teams.get(m.team_id, m.team_id)} ({m.relation})" for m in u.memberships))
                for u in users_service.list_users(session=session)]

    table = Table(title="Users")
    for column in ("id", "email", "name", "role", "active", "teams"):
        table.add_column(column)
    for row in _run(action):
        table.add_row(str(row[0]), row[1], row[2], row[3], "yes" if row[4] else "no", row[5])
    console.print(table)


@users_app.command("set-role")
def set_role(email: Annotated[str, typer.Argument()], role: Annotated[str, typer.Argument()]) -> None:
    """Change a user's role (audited)."""
    from app.users.models import Role

    if role not in Role.__members__:
        _fail(f"Unknown role {role!r}; choose one of {', '.join(Role)}.")

    def action(session):  # type: ignore[no-untyped-def]
        from app.users import service as users_service

        user = _user(session, email)
        users_service.change_role(session=session, actor=None, user=user, role=Role(role), detail=VIA)
        return user.email

    console.print(f"{_run(action)} is now {role}")


@users_app.command("reset-password")
def reset_password(
    email: Annotated[str, typer.Argument()],
    password: Annotated[str, typer.Option(prompt="New password", hide_input=True, confirmation_prompt=True)] = "",
) -> None:
    """Set a new password; the user's web sessions are signed out (audited)."""
    if not 8 <= len(password) <= 256:
        _fail("The password must be 8 to 256 characters long.")

    def action(session):  # type: ignore[no-untyped-def]
        from app.users import service as users_service

        user = _user(session, email)
        users_service.reset_password(session=session, actor=None, user=user, password=password, detail=VIA)
        return user.email

    console.print(f"password of {_run(action)} changed; their web sessions were signed out")


@users_app.command()
def token(
    email: Annotated[str, typer.Argument()],
    name: Annotated[str, typer.Option(help="what the token is for")] = "cli",
    days: Annotated[int, typer.Option(min=1, max=3650, help="days until it expires")] = 90,
) -> None:
    """Create an API token for a user; the secret is printed once and stored only as a hash."""
    from app.db import utcnow

    def action(session):  # type: ignore[no-untyped-def]
        from app.users import service as users_service

        user = _user(session, email)
        api_token, secret = users_service.create_api_token(
            session=session, actor=None, user=user, name=name[:120], expires_at=utcnow() + timedelta(days=days),
            detail=VIA,
        )
        return secret, api_token.expires_at

    secret, expires = _run(action)
    # The secret goes to stdout only (not a log), so it can be captured: TOKEN=$(talktrack users token …)
    typer.echo(secret)
    err.print(f"token for {email}, expires {expires:%Y-%m-%d}; it is shown only this once")

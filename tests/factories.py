"""Plain typed helpers that create test data through the real services."""

from __future__ import annotations

from dataclasses import dataclass

from app.db import session_scope
from app.users import service as users_service
from app.users.models import Role, TeamRelation
from app.users.schemas import MembershipIn, TeamCreate, UserCreate


@dataclass(frozen=True)
class Person:
    id: int
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_team(name: str = "Team A") -> int:
    with session_scope() as session:
        existing = users_service.get_team_by_name(session=session, name=name)
        if existing is not None:
            return existing.id
        return users_service.create_team(session=session, team_in=TeamCreate(name=name)).id


def make_user(
    role: Role = Role.rep,
    *,
    email: str | None = None,
    team_id: int | None = None,
    relation: TeamRelation | None = None,
    password: str = "correct horse battery",
) -> Person:
    """A user with a bearer token; reps join team_id as members, managers lead it."""
    email = email or f"{role}-{team_id or 0}-{_counter()}@example.com"
    if team_id is not None and relation is None:
        relation = {Role.rep: TeamRelation.member, Role.manager: TeamRelation.manager,
                    Role.trainer: TeamRelation.trainer}.get(role, TeamRelation.member)
    teams = [MembershipIn(team_id=team_id, relation=relation)] if team_id is not None and relation else []
    with session_scope() as session:
        user = users_service.create_user(
            session=session,
            user_in=UserCreate(email=email, name=email.split("@")[0], role=role, password=password, teams=teams),
        )
        _, secret = users_service.issue_token(session=session, user=user, name="test")
        return Person(id=user.id, email=user.email, token=secret)


_count = 0


def _counter() -> int:
    global _count
    _count += 1
    return _count

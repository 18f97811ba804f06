"""Small helpers shared by the security tests."""

from __future__ import annotations

import itertools

from fastapi.testclient import TestClient

from tests.factories import Person

_serial = itertools.count(1)

PLAIN = (
    "Rep: Hi Dana, this is Sam from Acme. Thanks for taking the time today.\n"
    "Customer: Sure. You can reach me on 13812345678 or dana@example.com later.\n"
    "Rep: Could you walk me through how your team handles forecasting today?\n"
    "Customer: Mostly spreadsheets, and it takes us two days every month.\n"
)


def transcript(extra: str = "") -> bytes:
    """A distinct small transcript (uploads are deduplicated by content)."""
    return (PLAIN + f"Rep: Reference {next(_serial)} {extra}\n").encode()


def upload(client: TestClient, person: Person, data: bytes | None = None, name: str = "call.txt",
           **form: str) -> int:
    response = client.post("/api/v1/calls", headers=person.headers,
                           files={"file": (name, data if data is not None else transcript())}, data=form)
    assert response.status_code == 202, response.text
    return int(response.json()["id"])


def person(role: str, *, team_id: int | None = None, relation: str | None = None) -> Person:
    """A user with a bearer token and no password (argon2 costs ~0.5 s a hash on CI)."""
    from app.db import session_scope
    from app.users import service as users_service
    from app.users.models import Role, TeamRelation
    from app.users.schemas import MembershipIn, UserCreate

    default = {Role.rep: TeamRelation.member, Role.manager: TeamRelation.manager, Role.trainer: TeamRelation.trainer}
    teams = []
    if team_id is not None:
        teams = [MembershipIn(team_id=team_id, relation=relation or default.get(Role(role), TeamRelation.member))]
    email = f"{role}-{next(_serial)}@example.com"
    with session_scope() as session:
        user = users_service.create_user(
            session=session, user_in=UserCreate(email=email, name=email.split("@")[0], role=role, teams=teams)
        )
        _, secret = users_service.issue_token(session=session, user=user, name="test")
        return Person(id=user.id, email=email, token=secret)

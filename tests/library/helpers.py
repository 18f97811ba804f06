"""Shared setup for library tests: a SOP, a team with a rep and a manager, calls through the pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.users.models import Role
from tests.factories import Person, make_team, make_user

REPO = Path(__file__).resolve().parents[2]
DISCOVERY = (REPO / "sop_definitions" / "b2b-discovery.en.yaml").read_bytes()
EN_CALL = (REPO / "tests" / "fixtures" / "transcripts" / "en_discovery.txt").read_bytes()


@dataclass(frozen=True)
class World:
    admin: Person
    manager: Person
    rep: Person
    team_id: int


def world(client: Any, team: str = "Team A") -> World:
    """An admin who uploaded the discovery SOP, a team with a rep and its manager."""
    admin = make_user(Role.admin)
    response = client.post("/api/v1/sops", headers=admin.headers, content=DISCOVERY)
    assert response.status_code in (200, 201), response.text
    team_id = make_team(team)
    return World(admin, make_user(Role.manager, team_id=team_id), make_user(Role.rep, team_id=team_id), team_id)


def upload(client: Any, person: Person, content: bytes, name: str = "call.txt", **data: str) -> int:
    """Upload a call (runs the pipeline in-process) and return its id once ready."""
    response = client.post("/api/v1/calls", headers=person.headers, files={"file": (name, content)},
                           data={"sop_id": "b2b-discovery", **data})
    assert response.status_code == 202, response.text
    call_id = response.json()["id"]
    call = client.get(f"/api/v1/calls/{call_id}", headers=person.headers).json()
    assert call["status"] == "ready", call
    return call_id


def transcript(lines: list[tuple[str, str]]) -> bytes:
    """A plain 'Rep:' / 'Customer:' transcript."""
    return "\n".join(f"{who}: {text}" for who, text in lines).encode()

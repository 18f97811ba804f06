"""Who may see which call, route by route: reps their own, managers and trainers their teams, admins all.

A call outside the caller's reach answers 404 (never 403), so its existence is not revealed.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from app.users.models import Role, TeamRelation
from tests.factories import Person, make_team
from tests.security.helpers import person, upload


@dataclass(frozen=True)
class World:
    people: dict[str, Person]
    calls: dict[str, int]


@pytest.fixture
def world(client: TestClient) -> World:
    team_a, team_b = make_team("Team A"), make_team("Team B")
    people = {
        "rep_a1": person(Role.rep, team_id=team_a),
        "rep_a2": person(Role.rep, team_id=team_a),
        "rep_b": person(Role.rep, team_id=team_b),
        "manager_a": person(Role.manager, team_id=team_a),
        "manager_b": person(Role.manager, team_id=team_b),
        "trainer_a": person(Role.trainer, team_id=team_a, relation=TeamRelation.trainer),
        "trainer_none": person(Role.trainer),
        "admin": person(Role.admin),
    }
    calls = {name: upload(client, people[name]) for name in ("rep_a1", "rep_a2", "rep_b")}
    return World(people, calls)


VISIBLE = {
    "rep_a1": {"rep_a1"},
    "rep_a2": {"rep_a2"},
    "rep_b": {"rep_b"},
    "manager_a": {"rep_a1", "rep_a2"},
    "manager_b": {"rep_b"},
    "trainer_a": {"rep_a1", "rep_a2"},
    "trainer_none": set(),
    "admin": {"rep_a1", "rep_a2", "rep_b"},
}
READS = ["/api/v1/calls/{id}", "/api/v1/calls/{id}/transcript", "/api/v1/calls/{id}/transcript?format=txt"]


def test_list_shows_each_role_exactly_the_calls_in_reach(client: TestClient, world: World) -> None:
    for who, visible in VISIBLE.items():
        listing = client.get("/api/v1/calls", headers=world.people[who].headers).json()
        assert {item["id"] for item in listing["items"]} == {world.calls[c] for c in visible}, who
        assert listing["total"] == len(visible), who


@pytest.mark.parametrize("route", READS)
def test_reads_answer_200_in_reach_and_404_out_of_reach(client: TestClient, world: World, route: str) -> None:
    seen = {}
    for who in VISIBLE:
        for owner, call_id in world.calls.items():
            seen[(who, owner)] = client.get(route.format(id=call_id), headers=world.people[who].headers).status_code
    expected = {(who, owner): 200 if owner in VISIBLE[who] else 404 for who in VISIBLE for owner in world.calls}
    assert seen == expected


@pytest.mark.parametrize("who", ["rep_a1", "manager_b", "trainer_a", "trainer_none"])
def test_cross_team_delete_answers_404_and_keeps_the_call(client: TestClient, world: World, who: str) -> None:
    target = "rep_b" if who != "manager_b" else "rep_a1"
    call_id = world.calls[target]
    response = client.delete(f"/api/v1/calls/{call_id}", headers=world.people[who].headers)
    assert response.status_code == 404 and response.json()["error"] == "CallNotFound"
    assert client.get(f"/api/v1/calls/{call_id}", headers=world.people["admin"].headers).status_code == 200


def test_cross_team_reprocess_answers_404(client: TestClient, world: World) -> None:
    response = client.post(f"/api/v1/calls/{world.calls['rep_b']}/reprocess",
                           headers=world.people["manager_a"].headers)
    assert response.status_code == 404


@pytest.mark.parametrize("who,owner", [("rep_a1", "rep_a1"), ("manager_a", "rep_a2"), ("admin", "rep_b")])
def test_delete_in_reach_removes_the_call(client: TestClient, world: World, who: str, owner: str) -> None:
    call_id = world.calls[owner]
    assert client.delete(f"/api/v1/calls/{call_id}", headers=world.people[who].headers).status_code == 204
    assert client.get(f"/api/v1/calls/{call_id}", headers=world.people["admin"].headers).status_code == 404


def test_rep_cannot_upload_a_call_for_another_rep(client: TestClient, world: World) -> None:
    other = world.people["rep_a2"].email
    response = client.post("/api/v1/calls", headers=world.people["rep_a1"].headers,
                           files={"file": ("c.txt", b"Rep: hello there\nCustomer: hi\n")}, data={"rep": other})
    assert response.status_code == 403


def test_manager_cannot_upload_into_another_team(client: TestClient, world: World) -> None:
    response = client.post("/api/v1/calls", headers=world.people["manager_a"].headers,
                           files={"file": ("c.txt", b"Rep: hello there\nCustomer: hi\n")}, data={"team": "Team B"})
    assert response.status_code == 403


ADMIN_ONLY = [
    ("GET", "/api/v1/users"), ("POST", "/api/v1/users"), ("GET", "/api/v1/audit"),
    ("PUT", "/api/v1/users/1/role"), ("GET", "/api/v1/teams/1/privacy"), ("PUT", "/api/v1/teams/1/privacy"),
    ("GET", "/api/v1/retention/preview"), ("POST", "/api/v1/retention/run"),
    ("GET", "/api/v1/calls/1/transcript/original"),
]


def test_admin_routes_answer_403_to_other_roles(client: TestClient, world: World) -> None:
    for who in ("rep_a1", "manager_a", "trainer_a"):
        for method, path in ADMIN_ONLY:
            response = client.request(method, path, headers=world.people[who].headers, json={})
            assert response.status_code == 403, (who, method, path, response.text)

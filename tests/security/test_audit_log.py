"""Sensitive actions leave an audit trail that admins, and only admins, can query."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from app.users.models import Role
from tests.factories import make_team
from tests.security.helpers import person, upload


def _actions(client: TestClient, admin, query: str = "") -> list[dict]:  # type: ignore[no-untyped-def]
    response = client.get(f"/api/v1/audit{query}", headers=admin.headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_viewing_exporting_and_deleting_a_call_are_audited(client: TestClient) -> None:
    team = make_team()
    rep, admin = person(Role.rep, team_id=team), person(Role.admin)
    call_id = upload(client, rep)
    client.get(f"/api/v1/calls/{call_id}", headers=rep.headers)
    client.get(f"/api/v1/calls/{call_id}/transcript", headers=rep.headers)
    client.get(f"/api/v1/calls/{call_id}/transcript?format=srt", headers=rep.headers)
    client.delete(f"/api/v1/calls/{call_id}", headers=rep.headers)
    events = _actions(client, admin, f"?actor={rep.email}")
    assert [e["action"] for e in events] == [
        "call.delete", "call.transcript_export", "call.transcript_view", "call.view"]
    assert all(e["target_type"] == "call" and e["target_id"] == str(call_id) for e in events)
    assert events[1]["detail"] == {"format": "srt"}


def test_refused_view_leaves_no_event(client: TestClient) -> None:
    owner, outsider, admin = person(Role.rep, team_id=make_team("A")), person(Role.rep), person(Role.admin)
    call_id = upload(client, owner)
    assert client.get(f"/api/v1/calls/{call_id}", headers=outsider.headers).status_code == 404
    assert _actions(client, admin, f"?actor={outsider.id}") == []


def test_role_change_password_reset_and_user_creation_are_audited(client: TestClient) -> None:
    admin = person(Role.admin)
    created = client.post("/api/v1/users", headers=admin.headers,
                          json={"email": "new@example.com", "name": "New", "role": "rep"}).json()
    assert client.put(f"/api/v1/users/{created['id']}/role", headers=admin.headers,
                      json={"role": "manager"}).json()["role"] == "manager"
    assert client.put(f"/api/v1/users/{created['id']}/password", headers=admin.headers,
                      json={"password": "a-new-password"}).status_code == 204
    events = _actions(client, admin, "?action=user.")
    assert [e["action"] for e in events] == ["user.password_reset", "user.role_change", "user.create"]
    assert events[1]["detail"] == {"before": "rep", "after": "manager"}
    assert "a-new-password" not in str(events)


def test_last_admin_cannot_be_demoted(client: TestClient) -> None:
    admin = person(Role.admin)
    response = client.put(f"/api/v1/users/{admin.id}/role", headers=admin.headers, json={"role": "rep"})
    assert response.status_code == 409


def test_filters_since_and_pagination(client: TestClient) -> None:
    rep, admin = person(Role.rep, team_id=make_team()), person(Role.admin)
    call_id = upload(client, rep)
    for _ in range(5):
        client.get(f"/api/v1/calls/{call_id}", headers=rep.headers)
    page = client.get("/api/v1/audit?action=call.view&page_size=2&page=2", headers=admin.headers).json()
    assert page["total"] == 5 and len(page["items"]) == 2 and page["page"] == 2
    from app.db import utcnow

    future = (utcnow() + timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    assert _actions(client, admin, f"?since={future}") == []


def test_audit_log_is_admin_only(client: TestClient) -> None:
    manager = person(Role.manager, team_id=make_team())
    assert client.get("/api/v1/audit", headers=manager.headers).status_code == 403

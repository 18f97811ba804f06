"""The embedded demo creates a user for every role and prints how to log in as each."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from rich.console import Console
from sqlalchemy.orm import Session

from app.users.models import Role

PEOPLE = Path(__file__).resolve().parents[2] / "demo_data" / "people.json"


def test_demo_has_a_working_login_for_every_role(session: Session, client: TestClient) -> None:
    from app.demo import DEMO_PASSWORD, _people, _print_logins

    logins = _people(session, json.loads(PEOPLE.read_text(encoding="utf-8")))
    session.commit()
    by_role = {role: email for role, email, _name in logins}
    assert set(by_role) == {r.value for r in Role}
    for role, email in by_role.items():
        login = client.post("/api/v1/auth/login", json={"email": email, "password": DEMO_PASSWORD})
        assert login.status_code == 200, (role, login.text)
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {login.json()['token']}"})
        assert me.json()["role"] == role
    console = Console(record=True, width=200)
    _print_logins(console, logins)
    printed = console.export_text()
    assert DEMO_PASSWORD in printed and "/api/v1/auth/login" in printed
    assert all(email in printed for email in by_role.values())

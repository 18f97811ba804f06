"""Helpers of the web page tests: sign in through the form, upload a matched call through the API."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from app.users.models import Role
from tests.factories import Person, make_user

REPO = Path(__file__).resolve().parents[2]
DISCOVERY = (REPO / "sop_definitions" / "b2b-discovery.en.yaml").read_bytes()
CALL = (REPO / "tests" / "fixtures" / "transcripts" / "en_discovery.txt").read_bytes()
PASSWORD = "correct horse battery"


def log_in(client: TestClient, person: Person) -> None:
    """Sign in with the HTML form, as a browser does (the client keeps the cookie)."""
    response = client.post("/login", data={"email": person.email, "password": PASSWORD, "next": "/"},
                           follow_redirects=False)
    assert response.status_code == 303, response.text


def matched_call(client: TestClient, rep: Person, *, title: str = "Discovery with Acme") -> int:
    """A transcript call matched against the shipped discovery SOP (jobs run inline in tests)."""
    admin = make_user(Role.admin)
    client.post("/api/v1/sops", headers=admin.headers, content=DISCOVERY)
    response = client.post("/api/v1/calls", headers=rep.headers, files={"file": ("c.txt", CALL)},
                           data={"sop_id": "b2b-discovery", "title": title})
    assert response.status_code == 202, response.text
    return int(response.json()["id"])

"""Every operation in the OpenAPI schema refuses anonymous callers: new routes are covered automatically."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from app.users.models import Role
from tests.factories import make_user

# The only operations anyone may call without credentials. /healthz and /docs are not in the schema.
PUBLIC = {("post", "/api/v1/auth/login")}


def _operations(client: TestClient) -> list[tuple[str, str]]:
    schema = client.app.openapi()  # type: ignore[attr-defined]
    return [(method, path) for path, item in schema["paths"].items() for method in item
            if method in {"get", "post", "put", "patch", "delete"}]


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_operation_answers_401_without_credentials(client: TestClient) -> None:
    operations = _operations(client)
    assert len(operations) >= 15, operations  # the walk must really see the API
    open_ = []
    for method, path in operations:
        if (method, path) in PUBLIC:
            continue
        response = client.request(method.upper(), _concrete(path), json={} if method != "get" else None)
        if response.status_code != 401 or response.json().get("error") != "NotAuthenticated":
            open_.append(f"{method.upper()} {path} -> {response.status_code}")
    assert not open_, "operations reachable without authentication:\n" + "\n".join(open_)


@pytest.mark.parametrize("credential", ["Bearer tt_not-a-real-token", "Bearer ", "Basic YWRtaW46YWRtaW4="])
def test_every_operation_answers_401_for_a_bad_credential(client: TestClient, credential: str) -> None:
    failures = []
    for method, path in _operations(client):
        if (method, path) in PUBLIC:
            continue
        response = client.request(method.upper(), _concrete(path), headers={"Authorization": credential})
        if response.status_code != 401:
            failures.append(f"{method.upper()} {path} -> {response.status_code}")
    assert not failures, failures


def test_revoked_token_is_refused(client: TestClient) -> None:
    rep = make_user(Role.rep)
    created = client.post("/api/v1/me/tokens", headers=rep.headers, json={"name": "laptop"}).json()
    headers = {"Authorization": f"Bearer {created['token']}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert client.delete(f"/api/v1/me/tokens/{created['id']}", headers=rep.headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_expired_token_is_refused(client: TestClient) -> None:
    from app.db import session_scope, utcnow
    from app.users import service as users_service

    rep = make_user(Role.rep)
    with session_scope() as session:
        user = users_service.get_user(session=session, user_id=rep.id)
        _, secret = users_service.issue_token(session=session, user=user, expires_at=utcnow() - timedelta(seconds=1))
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_health_and_docs_stay_public(client: TestClient) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/docs").status_code == 200
    assert client.get("/openapi.json").status_code == 200

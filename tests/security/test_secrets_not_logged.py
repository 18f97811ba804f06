"""Passwords and token secrets never reach the logs, at any level, through login, token use and failures."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from app.users.models import Role
from tests.factories import make_user

PASSWORD = "Sup3r-secret-pass!"


def test_login_and_token_use_log_no_secret(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    rep = make_user(Role.rep, password=PASSWORD)
    caplog.set_level(logging.DEBUG)  # every logger, SQL parameters included
    login = client.post("/api/v1/auth/login", json={"email": rep.email, "password": PASSWORD})
    assert login.status_code == 200
    session_secret = login.json()["token"]
    created = client.post("/api/v1/me/tokens", headers=rep.headers, json={"name": "ci"})
    api_secret = created.json()["token"]
    for secret in (session_secret, api_secret, rep.token):
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    assert client.get("/api/v1/me", cookies={"talktrack_session": session_secret}).status_code == 200
    client.post("/api/v1/auth/login", json={"email": rep.email, "password": PASSWORD + "-wrong"})
    client.get("/api/v1/me", headers={"Authorization": f"Bearer {api_secret}x"})
    assert caplog.records, "nothing was logged: the test would prove nothing"
    text = "\n".join(r.getMessage() + repr(r.args) for r in caplog.records)
    for secret in (PASSWORD, session_secret, api_secret, rep.token):
        assert secret not in text
        assert secret[3:20] not in text  # no fragment either


def test_audit_trail_of_token_creation_holds_no_secret(client: TestClient) -> None:
    admin = make_user(Role.admin)
    created = client.post("/api/v1/me/tokens", headers=admin.headers, json={"name": "ci"}).json()
    events = client.get("/api/v1/audit?action=token.create", headers=admin.headers).json()["items"]
    assert events and events[0]["detail"]["prefix"] == created["prefix"]
    assert created["token"] not in str(events)


def test_audit_record_drops_secret_looking_keys(session) -> None:  # type: ignore[no-untyped-def]
    from app.audit import service as audit_service

    event = audit_service.record(session=session, actor=None, action="user.password_reset",
                                 detail={"password": "hunter22", "api_token": "tt_x", "reason": "forgot"})
    assert event.detail == {"reason": "forgot"}

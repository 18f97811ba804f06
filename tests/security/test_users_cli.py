"""`talktrack users …`: create, list, set-role, reset-password, token, all audited and secret-free."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.audit.models import AuditEvent
from app.db import session_scope
from app.users import security
from app.users import service as users_service


@pytest.fixture
def cli(env, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    import app.db
    from app.users.cli import users_app

    monkeypatch.setattr(app.db, "init_db", lambda url=None: None)  # schema built from metadata in tests
    runner = CliRunner()
    return lambda *args, input=None: runner.invoke(users_app, list(args), input=input)


def test_create_with_prompted_password_then_login(cli, client: TestClient) -> None:  # type: ignore[no-untyped-def]
    result = cli("create", "ana@example.com", "--role", "manager", "--team", "East", input="pw-123456\npw-123456\n")
    assert result.exit_code == 0, result.output
    assert "pw-123456" not in result.output
    login = client.post("/api/v1/auth/login", json={"email": "ana@example.com", "password": "pw-123456"})
    assert login.status_code == 200
    with session_scope() as session:
        user = users_service.get_user_by_email(session=session, email="ana@example.com")
        assert user.role == "manager" and [m.relation for m in user.memberships] == ["manager"]


def test_list_set_role_and_reset_password(cli) -> None:  # type: ignore[no-untyped-def]
    cli("create", "bo@example.com", "--password", "first-pass-1")
    cli("create", "root@example.com", "--role", "admin", "--password", "first-pass-1")
    assert cli("set-role", "bo@example.com", "trainer").exit_code == 0
    assert cli("reset-password", "bo@example.com", input="second-pass-2\nsecond-pass-2\n").exit_code == 0
    listing = cli("list")
    assert "bo@example.com" in listing.output and "trainer" in listing.output
    with session_scope() as session:
        user = users_service.get_user_by_email(session=session, email="bo@example.com")
        assert security.verify_password("second-pass-2", user.password_hash)
        actions = [e.action for e in session.query(AuditEvent).order_by(AuditEvent.id)]
    assert actions == ["user.create", "user.create", "user.role_change", "user.password_reset"]


def test_token_prints_a_working_secret_once(cli, client: TestClient) -> None:  # type: ignore[no-untyped-def]
    cli("create", "cy@example.com", "--password", "first-pass-1")
    result = cli("token", "cy@example.com", "--days", "7")
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip().splitlines()[0]
    assert secret.startswith("tt_")
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).json()["email"] == "cy@example.com"
    with session_scope() as session:
        event = session.query(AuditEvent).filter_by(action="token.create").one()
        assert secret not in str(event.detail) and event.detail["via"] == "cli"


@pytest.mark.parametrize("args,message", [
    (("set-role", "nobody@example.com", "rep"), "No user nobody@example.com"),
    (("set-role", "x@example.com", "emperor"), "Unknown role"),
    (("token", "nobody@example.com"), "No user"),
])
def test_mistakes_exit_1_with_a_readable_message(cli, args, message) -> None:  # type: ignore[no-untyped-def]
    result = cli(*args)
    assert result.exit_code == 1 and message in result.output


def test_duplicate_user_is_refused(cli) -> None:  # type: ignore[no-untyped-def]
    cli("create", "dup@example.com", "--password", "first-pass-1")
    result = cli("create", "dup@example.com", "--password", "first-pass-1")
    assert result.exit_code == 1 and "already exists" in result.output

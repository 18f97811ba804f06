"""Hot read routes commit in their own worker thread (app/deps.commits_in_route); the guarantees of
_committed_session hold: a failed commit is an error response, never a 2xx, and nothing is kept."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.audit import service as audit_service
from app.audit.models import AuditAction, AuditEvent
from app.db import session_scope
from app.users.models import Role
from tests.factories import make_team, make_user
from tests.security.helpers import upload


def _views(call_id: int) -> int:
    with session_scope() as session:
        return len(session.scalars(select(AuditEvent).where(
            AuditEvent.action == AuditAction.transcript_view, AuditEvent.target_id == str(call_id))).all())


def test_a_transcript_view_that_fails_to_commit_is_a_503_and_leaves_no_audit_event(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    rep = make_user(Role.rep, team_id=make_team())
    call_id = upload(client, rep)
    real_commit, real_record = Session.commit, audit_service.record

    def record(*, session: Session, **kwargs: Any) -> AuditEvent:
        session.info["audited"] = True
        return real_record(session=session, **kwargs)

    def lost_connection(self: Session) -> None:
        if self.info.pop("audited", False):
            raise OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))
        real_commit(self)

    monkeypatch.setattr(audit_service, "record", record)
    monkeypatch.setattr(Session, "commit", lost_connection)
    response = client.get(f"/api/v1/calls/{call_id}/transcript", headers=rep.headers)
    assert response.status_code == 503 and response.json()["error"] == "DatabaseUnavailable"
    monkeypatch.setattr(Session, "commit", real_commit)
    assert _views(call_id) == 0


def test_a_transcript_view_is_audited_once_when_the_route_commits_itself(client: TestClient) -> None:
    rep = make_user(Role.rep, team_id=make_team())
    call_id = upload(client, rep)
    assert client.get(f"/api/v1/calls/{call_id}/transcript", headers=rep.headers).status_code == 200
    assert _views(call_id) == 1

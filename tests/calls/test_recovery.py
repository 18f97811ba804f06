"""A call whose worker died mid-stage is picked up again and completes once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from app.calls import service as calls_service
from app.calls.models import Call
from app.db import session_scope, utcnow
from app.transcripts.models import UtteranceRow
from app.users.models import Role
from tests.factories import make_team, make_user

TEXT = b"Rep: Hello, this is Sam from Acme.\nCustomer: Hi Sam.\n"


def _stall(call_id: int, status: str, minutes_ago: int) -> None:
    with session_scope() as session:
        session.execute(update(Call).where(Call.id == call_id).values(
            status=status, stage_token="dead-worker", stage_started_at=utcnow() - timedelta(minutes=minutes_ago)))


def test_a_call_stuck_mid_stage_past_its_time_limit_is_resent_and_completes(client) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    call_id = client.post("/api/v1/calls", headers=rep.headers, files={"file": ("c.txt", TEXT)}).json()["id"]
    _stall(call_id, "attributing", minutes_ago=24 * 60)
    with session_scope() as session:
        assert calls_service.recover_stalled(session=session) == [call_id]
    call = client.get(f"/api/v1/calls/{call_id}", headers=rep.headers).json()
    assert call["status"] == "ready"
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(UtteranceRow).where(UtteranceRow.call_id == call_id)) == 2


def test_a_stage_still_within_its_time_limit_is_left_alone(client) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    call_id = client.post("/api/v1/calls", headers=rep.headers, files={"file": ("c.txt", TEXT)}).json()["id"]
    _stall(call_id, "embedding", minutes_ago=1)
    with session_scope() as session:
        assert calls_service.recover_stalled(session=session) == []
        assert session.get(Call, call_id).status == "embedding"

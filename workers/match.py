"""Stage 4: match the call against its SOP (the actual path beside the prescribed one)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.calls.models import Call, CallStatus
from workers.stage import Outcome, run_stage


def match_call(call_id: int) -> bool:
    return run_stage(call_id, stage=CallStatus.matching, accepts={CallStatus.matching}, work=_match)


def _match(session: Session, call: Call) -> Outcome:
    from app.sop import service as sop_service

    sop_service.match_and_store(session=session, call=call)
    return Outcome(CallStatus.ready, None)

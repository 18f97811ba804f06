"""Stage 4: match the call against its SOP (the actual path beside the prescribed one)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app import jobs
from app.calls.models import Call, CallStatus
from workers.stage import Outcome, run_stage


def match_call(call_id: int) -> bool:
    return run_stage(call_id, stage=CallStatus.matching, accepts={CallStatus.matching}, work=_match)


def _match(session: Session, call: Call) -> Outcome:
    from app.sop import service as sop_service

    sop_service.match_and_store(session=session, call=call)
    jobs.enqueue(session, "library.update", call_id=call.id)  # runs after the call is ready; never fails it
    return Outcome(CallStatus.ready, None)


def rematch_call(call_id: int) -> bool:
    """Re-match a ready call (new SOP version, or on request); the call stays ready throughout."""
    from app.db import session_scope
    from app.sop import service as sop_service

    with session_scope() as session:
        return sop_service.rematch_ready_call(session=session, call_id=call_id)


def rematch_all(sop_id: str) -> int:
    """Queue a re-match of every call that uses this SOP (a new version, or what reviews taught)."""
    from app import jobs
    from app.db import session_scope
    from app.sop import learning
    from app.sop import service as sop_service

    with session_scope() as session:
        call_ids = sop_service.calls_using(session=session, sop_id=sop_id)
        for call_id in call_ids:
            jobs.enqueue(session, "sop.rematch", call_id=call_id)
        learning.record_rematch(session=session, sop_id=sop_id, calls=len(call_ids))
    return len(call_ids)

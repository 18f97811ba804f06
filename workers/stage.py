"""The stage runner: claim the call, do the work, commit the result only if still ours.

Every stage follows the same protocol so that redelivery, retries and crashes are safe:
1. claim: if the call is in a status this stage accepts, set the stage's status and a fresh
   token (commit). Any other status means the stage already ran or the call is gone: exit.
2. work: compute in a new transaction (no locks held while the model runs).
3. finish: in that transaction, compare-and-set the call from (stage, token) to the next
   status, and enqueue the next stage; commit. A newer attempt that took over wins.
"""

from __future__ import annotations

import logging
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from app import jobs
from app.calls.models import Call, CallStatus
from app.db import session_scope, utcnow
from app.errors import AppError

log = logging.getLogger(__name__)

# Errors worth retrying with backoff: the database or broker briefly away.
TRANSIENT: tuple[type[BaseException], ...] = (OperationalError, ConnectionError, TimeoutError)


@dataclass(frozen=True)
class Outcome:
    next_status: CallStatus
    next_task: str | None


Work = Callable[[Session, Call], Outcome]


class StageLost(Exception):
    """Another attempt of this stage took the call over; this one's result is discarded."""


def run_stage(call_id: int, *, stage: CallStatus, accepts: set[CallStatus], work: Work) -> bool:
    """Run one stage for one call; returns True if this attempt committed a result."""
    token = _claim(call_id, stage=stage, accepts=accepts)
    if token is None:
        return False
    started = time.monotonic()
    try:
        with session_scope() as session:
            call = session.get(Call, call_id)
            if call is None:
                return False
            outcome = work(session, call)
            _finish(session, call, stage=stage, token=token, outcome=outcome, seconds=time.monotonic() - started)
    except StageLost:
        log.info("stage.superseded call_id=%s stage=%s", call_id, stage)
        return False
    except TRANSIENT:
        raise  # the task retries with backoff; the claim is simply taken over
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise
        _fail(call_id, stage=stage, token=token, message=f"Database error in {stage}: {exc.orig}")
        return False
    except Exception as exc:
        _fail(call_id, stage=stage, token=token, message=_readable(stage, exc))
        return False
    log.info("stage.completed call_id=%s stage=%s seconds=%.2f", call_id, stage, time.monotonic() - started)
    return True


def _claim(call_id: int, *, stage: CallStatus, accepts: set[CallStatus]) -> str | None:
    token = str(uuid.uuid4())
    with session_scope() as session:
        result = session.execute(
            update(Call)
            .where(Call.id == call_id, Call.status.in_([s.value for s in accepts]))
            .values(status=stage, stage_token=token, stage_started_at=utcnow(), error=None, failed_stage=None)
        )
        if result.rowcount != 1:
            log.info("stage.skipped call_id=%s stage=%s (not in %s)", call_id, stage, sorted(accepts))
            return None
    return token


def _finish(session: Session, call: Call, *, stage: CallStatus, token: str, outcome: Outcome, seconds: float) -> None:
    timings = dict(call.timings or {})
    timings[stage.value] = round(seconds, 3)
    values: dict[str, object] = {"status": outcome.next_status, "stage_token": None, "timings": timings}
    if outcome.next_status == CallStatus.ready:
        values["ready_at"] = utcnow()
    session.flush()
    result = session.execute(
        update(Call)
        .where(Call.id == call.id, Call.status == stage, Call.stage_token == token)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise StageLost
    if outcome.next_task:
        jobs.enqueue(session, outcome.next_task, call_id=call.id)


def _fail(call_id: int, *, stage: CallStatus, token: str, message: str) -> None:
    log.warning("stage.failed call_id=%s stage=%s error=%s", call_id, stage, message)
    with session_scope() as session:
        session.execute(
            update(Call)
            .where(Call.id == call_id, Call.stage_token == token)
            .values(status=CallStatus.failed, failed_stage=stage, error=message[:4000], stage_token=None)
        )


def _readable(stage: CallStatus, exc: Exception) -> str:
    from models.errors import ModelError

    if isinstance(exc, (AppError, ModelError)):
        return str(exc)
    if type(exc).__name__ == "SoftTimeLimitExceeded":
        return f"The {stage} stage ran past its time limit; reprocess, or raise TALKTRACK_STAGE_TIME_LIMIT_S."
    log.error("stage.unexpected stage=%s\n%s", stage, traceback.format_exc())
    return f"Unexpected error in {stage}: {type(exc).__name__}: {exc}. Use reprocess to try again."

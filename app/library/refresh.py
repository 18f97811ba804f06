"""The library.update / library.refresh work: re-cut, rescore, auto clips, talk tracks, index."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import jobs
from app.calls.models import Call
from app.db import session_scope, utcnow
from app.library import clips as clips_service
from app.library import search as index_service
from app.library import service as snippets_service
from app.library import talk_tracks as tracks_service
from app.library.models import LibraryState, Snippet

log = logging.getLogger(__name__)


REFRESH_KEY = "refresh"
# A requested refresh that never started (its job was lost) is requested again after this.
STALE_REQUEST_S = 900


def cut_call(*, session: Session, call_id: int) -> dict[str, Any]:
    """Re-cut one call's snippets; says whether the library-wide parts need a refresh."""
    call = session.get(Call, call_id)
    if call is None:
        return {"skipped": f"call {call_id} no longer exists", "changed": True}
    had = session.scalar(select(func.count()).select_from(Snippet).where(Snippet.call_id == call.id)) or 0
    count = len(snippets_service.replace_call_snippets(session=session, call=call))
    # No SOP match and nothing was there: the rest of the library is unchanged.
    return {"snippets": count, "changed": bool(had or count)}


def rebuild_library(*, session: Session, call_id: int | None = None) -> dict[str, Any]:
    """Re-cut one call's snippets (if given), then rescore all, auto clips and talk tracks."""
    report: dict[str, Any] = {}
    if call_id is not None:
        report = cut_call(session=session, call_id=call_id)
        if not report.pop("changed"):
            return report
    report["outcomes_updated"] = snippets_service.refresh_outcomes(session=session)
    report["model"] = snippets_service.rescore_all(session=session)
    report["auto_clips"] = clips_service.refresh_auto_clips(session=session)
    report["talk_tracks"] = len(tracks_service.refresh_all(session=session))
    clips_service.sync_auto_clip_fields(session=session)
    return report


def update(call_id: int | None = None) -> dict[str, Any]:
    """`library.update`: cut the call's snippets now; request one library-wide refresh.

    Rescoring, auto clips and talk tracks look at the whole library, so they are not redone
    per call: while a refresh is requested but not yet started, further calls only cut their
    own snippets and ride on it (a burst of N calls costs N cuts and about one refresh, not N
    refreshes — on the 72-call demo that was 72 × 8–15 s).
    """
    with session_scope() as session:
        report = cut_call(session=session, call_id=call_id) if call_id is not None else {"changed": True}
        if report.pop("changed"):
            report["refresh_requested"] = request_refresh(session=session)
    log.info("library.cut call_id=%s report=%s", call_id, report)
    return report


def request_refresh(*, session: Session) -> bool:
    """Queue `library.refresh` unless one is already waiting to start."""
    now = utcnow()
    state = session.get(LibraryState, REFRESH_KEY) or LibraryState(key=REFRESH_KEY, value={})
    value = dict(state.value or {})
    requested, started = _time(value.get("requested_at")), _time(value.get("started_at"))
    waiting = requested is not None and (started is None or requested > started)
    if waiting and (now - requested).total_seconds() < STALE_REQUEST_S:
        return False
    value["requested_at"] = now.isoformat()
    state.value = value
    session.add(state)
    session.flush()
    jobs.enqueue(session, "library.refresh")
    return True


def refresh() -> dict[str, Any]:
    """`library.refresh`: outcomes, scores, auto clips, talk tracks, then the search index."""
    with session_scope() as session:
        state = session.get(LibraryState, REFRESH_KEY) or LibraryState(key=REFRESH_KEY, value={})
        state.value = {**(state.value or {}), "started_at": utcnow().isoformat()}
        session.add(state)
    with session_scope() as session:
        report = rebuild_library(session=session)
    with session_scope() as session:
        report["index"] = index_service.sync(session=session)
    log.info("library.refreshed report=%s", {k: v for k, v in report.items() if k != "model"})
    return report


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None

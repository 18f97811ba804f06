"""The library.update / library.refresh work: re-cut, rescore, auto clips, talk tracks, index."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.calls.models import Call
from app.db import session_scope
from app.library import clips as clips_service
from app.library import search as index_service
from app.library import service as snippets_service
from app.library import talk_tracks as tracks_service
from app.library.models import Snippet

log = logging.getLogger(__name__)


def rebuild_library(*, session: Session, call_id: int | None = None) -> dict[str, Any]:
    """Re-cut one call's snippets (if given), then rescore all, auto clips and talk tracks."""
    report: dict[str, Any] = {}
    if call_id is not None:
        call = session.get(Call, call_id)
        if call is None:
            return {"skipped": f"call {call_id} no longer exists"}
        had = session.scalar(select(func.count()).select_from(Snippet).where(Snippet.call_id == call.id)) or 0
        report["snippets"] = len(snippets_service.replace_call_snippets(session=session, call=call))
        if had == 0 and report["snippets"] == 0:
            return report  # no SOP match, nothing was there: the rest of the library is unchanged
    report["outcomes_updated"] = snippets_service.refresh_outcomes(session=session)
    report["model"] = snippets_service.rescore_all(session=session)
    report["auto_clips"] = clips_service.refresh_auto_clips(session=session)
    report["talk_tracks"] = len(tracks_service.refresh_all(session=session))
    clips_service.sync_auto_clip_fields(session=session)
    return report


def update(call_id: int | None = None) -> dict[str, Any]:
    """Run the update in its own transaction, then bring the search index in line."""
    with session_scope() as session:
        report = rebuild_library(session=session, call_id=call_id)
    with session_scope() as session:
        report["index"] = index_service.sync(session=session)
    log.info("library.updated call_id=%s report=%s", call_id, {k: v for k, v in report.items() if k != "model"})
    return report

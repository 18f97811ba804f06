"""Page helpers: formatting filters, safe redirects, playable media, library and pipeline contexts."""

from __future__ import annotations

from datetime import datetime
from itertools import count
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.calls import storage
from app.calls.models import Call
from app.calls.service import visible_filter
from app.config import get_settings
from app.db import utcnow
from app.deals import analytics
from app.deps import COACH_ROLES
from app.errors import AppError
from app.library import query as query_service
from app.library import talk_tracks as tracks_service
from app.sop import learning, review
from app.sop import service as sop_service
from app.sop.models import CallSopResult, CallSopReview
from app.sop.schema import SopKind
from app.users import service as users_service
from app.users.models import Role, User
from app.web import charts

TYPES = ("snippet", "clip", "talk_track")


def pct(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f}%"


def num(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def when(value: datetime | None) -> str:
    return "–" if value is None else value.strftime("%Y-%m-%d %H:%M")


def safe_next(target: str) -> str:
    """Only a path on this site: never '//host', 'https://host' or '/\\host' (no open redirect after login).

    Control characters and whitespace are refused too: browsers drop tabs and newlines from URLs,
    which would turn '/<TAB>/host' into '//host'."""
    if not target.startswith("/") or "\\" in target or any(ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in target):
        return "/"
    return "/" if target.startswith("//") else target


def playable(call: Call) -> Path:
    """The file to play: the original, or — when the team tones out redacted PII — a toned WAV copy."""
    source = storage.absolute(call.media_path)
    spans = [(float(a), float(b)) for a, b in (call.redacted_audio_spans or [])]
    if not spans:
        return source
    from app.library.clips import render_span  # PyAV is imported only when a toned copy is needed

    target = get_settings().var_dir / "playback" / f"{call.sha256[:24]}-tone{len(spans)}.wav"
    if not target.exists():
        end = max([call.duration_s or 0.0] + [b for _, b in spans]) + 1.0
        render_span(source, 0.0, end, target, tones=spans)
    return target


# ---------------------------------------------------------------- library


def library(*, session: Session, q: str, kind: str, step: str, language: str, page: int) -> dict[str, Any]:
    """Search results (when there is a query) and the talk tracks, filtered by step."""
    steps = _steps(session)
    found, error = None, None
    if q.strip():
        filters = query_service.SearchFilters(types=(kind,) if kind in TYPES else TYPES, step=step or None,
                                              language=language or None)
        try:
            found = query_service.run(session=session, query=q, filters=filters, page=max(page, 1), page_size=20)
        except AppError as exc:
            error = exc.message
    tracks = tracks_service.list_tracks(session=session, step=step or None, kind=None if step else "step")
    return {
        "q": q, "kind": kind, "step": step, "language": language, "types": TYPES, "steps": steps,
        "found": found, "error": error, "page": max(page, 1),
        "tracks": [(t, tracks_service.variants_of(session=session, track_id=t.id)[:3]) for t in tracks[:30]],
        "step_names": dict(steps),
    }


def _steps(session: Session) -> list[tuple[str, str]]:
    """Every step of the call SOPs, for the step filter."""
    out: dict[str, str] = {}
    for row in sop_service.list_latest(session=session):
        definition = sop_service.definition_of(row)
        if definition.kind == SopKind.CALL:
            out.update({s.id: s.name for st in definition.stages for s in st.steps})
    return sorted(out.items(), key=lambda kv: kv[1].lower())


# ---------------------------------------------------------------- pipeline


def pipeline(*, session: Session, user: User, process_id: str, period: str, team_id: str) -> dict[str, Any]:
    """Funnel, conversion and forecast for the user's visible deals (a rep: their own)."""
    now = utcnow()
    period = period.strip() or f"{now.year}-Q{(now.month - 1) // 3 + 1}"
    team = int(team_id) if team_id.isdigit() else None
    processes = [(r.sop_id, r.name) for r in sop_service.list_latest(session=session) if r.kind == SopKind.PROCESS]
    context: dict[str, Any] = {"process_id": process_id, "period": period, "team_id": team, "processes": processes,
                               "teams": _teams(session, user), "error": None, "funnel": None}
    try:
        scope = analytics.make_scope(session=session, user=user, process_id=process_id or None, team_id=team,
                                     period=period)
        funnel = analytics.funnel(session=session, user=user, scope=scope)
        conversion = analytics.conversion(session=session, user=user, scope=scope)
        forecast = analytics.forecast(session=session, user=user, scope=scope)
    except AppError as exc:
        context["error"] = exc.message
        return context
    names = {s.id: s.name for s in scope.process.stages} | {"won": "Won"}
    height, rows = charts.forecast_chart(forecast.totals)
    return context | {
        "process_id": scope.process.id, "process_name": scope.process.name, "funnel": funnel,
        "funnel_chart": charts.funnel_chart(funnel.stages, funnel.currency_note), "conversion": conversion,
        "conversion_chart": charts.conversion_chart(conversion.transitions, names), "forecast": forecast,
        "forecast_height": height, "forecast_rows": rows, "stage_names": names,
    }


def _teams(session: Session, user: User) -> list[tuple[int, str]]:
    teams = users_service.list_teams(session=session)
    mine = user.team_ids()
    return [(t.id, t.name) for t in teams if user.role == Role.admin or t.id in mine]


# ---------------------------------------------------------------- SOPs

# How many of the newest matched calls the SOP page reads for "how often each step is missed".
RECENT_MATCHES = 200


def sops(*, session: Session, user: User) -> dict[str, Any]:
    """Every SOP (latest version) with its size and how the calls the user may see adhere to it."""
    rows = sop_service.list_latest(session=session)
    stats = {
        sop_id: (int(n), float(mean) if mean is not None else None)
        for sop_id, n, mean in session.execute(
            select(CallSopResult.sop_id, func.count(), func.avg(CallSopResult.adherence))
            .join(Call, Call.id == CallSopResult.call_id).where(visible_filter(user))
            .group_by(CallSopResult.sop_id)
        ).all()
    }
    reviewed = dict(session.execute(
        select(CallSopReview.sop_id, func.count()).join(Call, Call.id == CallSopReview.call_id)
        .where(visible_filter(user)).group_by(CallSopReview.sop_id)
    ).all())
    items = []
    for row in rows:
        definition = sop_service.definition_of(row)
        calls, adherence = stats.get(row.sop_id, (0, None))
        items.append({"row": row, "stages": len(definition.stages), "steps": len(definition.steps()),
                      "calls": calls, "adherence": adherence, "reviewed": int(reviewed.get(row.sop_id, 0))})
    return {"sops": items}


def sop_detail(*, session: Session, user: User, sop_id: str, version: int | None = None) -> dict[str, Any]:
    """One SOP version: its prescribed path, how often each step is missed in the user's recent calls,
    what the matcher learned from reviews (coaches), and its version history with the last change."""
    row = sop_service.get_version(session=session, sop_id=sop_id, version=version)
    definition = sop_service.definition_of(row)
    versions = sop_service.versions(session=session, sop_id=sop_id)
    previous = max((v.version for v in versions if v.version < row.version), default=None)
    changes = sop_service.diff(session=session, sop_id=sop_id, old=previous, new=row.version) if previous else []
    payloads = session.execute(
        select(CallSopResult.result, Call.id, Call.title).join(Call, Call.id == CallSopResult.call_id)
        .where(CallSopResult.sop_id == sop_id, CallSopResult.sop_version == row.version, visible_filter(user))
        .order_by(CallSopResult.matched_at.desc()).limit(RECENT_MATCHES)
    ).all()
    missed: dict[str, list[tuple[int, str]]] = {}  # step → the calls that missed it, newest first
    seen: dict[str, int] = {}
    for payload, call_id, title in payloads:
        for m in payload.get("deviations", {}).get("missed", []):
            missed.setdefault(m["step_id"], []).append((call_id, title or f"Call {call_id}"))
        for step_id in {seg["step"] for seg in payload.get("path", [])}:
            seen[step_id] = seen.get(step_id, 0) + 1
    coach = user.role in COACH_ROLES
    status = learning.status(session=session, sop_row=row, user=user) if coach else None
    queue = review.review_queue(session=session, sop_id=sop_id, user=user, limit=10) if coach else []
    learned = {s["step_id"]: s for s in status["steps"]} if status else {}
    stages = [
        {"stage": stage, "steps": [
            {"step": step, "position": position, "seen": seen.get(step.id, 0), "missed": missed.get(step.id, []),
             "learned": learned.get(step.id)}
            for position, step in steps
        ]}
        for stage, steps in _numbered(definition)
    ]
    return {"row": row, "sop": definition, "stages": stages, "n_steps": len(definition.steps()),
            "versions": versions, "previous": previous,
            "changes": changes, "matched": len(payloads), "recent_limit": RECENT_MATCHES,
            "learning": status, "can_rematch": coach, "queue": queue, "unsure_below": review.UNSURE_BELOW}


def _numbered(definition: Any) -> list[tuple[Any, list[tuple[int, Any]]]]:
    """Stages with their steps numbered through the whole SOP (1, 2, … as the prescribed path)."""
    position = count(1)
    return [(stage, [(next(position), step) for step in stage.steps]) for stage in definition.stages]

"""Page helpers: formatting filters, safe redirects, playable media, library and pipeline contexts."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from app.calls import storage
from app.calls.models import Call
from app.config import get_settings
from app.db import utcnow
from app.deals import analytics
from app.errors import AppError
from app.library import query as query_service
from app.library import talk_tracks as tracks_service
from app.sop import service as sop_service
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

"""The per-deal stage summary (deal_stage_summary): one row per deal and stage with what the deal's
stage history says about it, plus two keys on the deal row (entered_stages, advanced_stages) that let
conversion group deals without reading any history. Every write to deal_stage_event goes through
app.deals.service.record_event (or calls rebuild itself), which rebuilds both in the same
transaction; the analytics then read the deal row or a few rows per deal instead of the history."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from app.db import aware
from app.deals.models import Deal, DealStageEvent, DealStageSummary, EventKind

# Leaving a stage "forward" in the conversion sense: an advance (also one that sends the deal back) or a win.
LEFT_KINDS = (EventKind.advanced, EventKind.won)


@dataclass(frozen=True)
class HistoryEvent:
    """The columns of a stage event the summary needs."""

    id: int
    kind: str
    from_stage: str | None
    to_stage: str | None
    at: datetime


def summarize(deal_id: int, events: Iterable[HistoryEvent]) -> list[dict[str, Any]]:
    """Summary rows of one deal from its history (any order; sorted here by time, then id).

    entries / first_entered_at: events into the stage; advanced_out / last_left_at: advanced or won
    events out of it; stays / dwell_seconds: entries followed by the deal's next event, and the time
    until that next event."""
    ordered = sorted(events, key=lambda e: (aware(e.at), e.id))
    rows: dict[str, dict[str, Any]] = {}

    def row(stage_id: str) -> dict[str, Any]:
        return rows.setdefault(stage_id, {"deal_id": deal_id, "stage_id": stage_id, "entries": 0,
                                          "first_entered_at": None, "advanced_out": 0, "last_left_at": None,
                                          "stays": 0, "dwell_seconds": 0.0})

    for index, event in enumerate(ordered):
        at = aware(event.at)
        if event.to_stage:
            entered = row(event.to_stage)
            entered["entries"] += 1
            entered["first_entered_at"] = entered["first_entered_at"] or at
            if index + 1 < len(ordered):
                entered["stays"] += 1
                entered["dwell_seconds"] += (aware(ordered[index + 1].at) - at).total_seconds()
        if event.from_stage and event.kind in LEFT_KINDS:
            left = row(event.from_stage)
            left["advanced_out"] += 1
            left["last_left_at"] = max(left["last_left_at"] or at, at)
    return list(rows.values())


def history_of(*, session: Session, deal_id: int) -> list[HistoryEvent]:
    """The deal's stage events as stored (read from the database, not the identity map)."""
    rows = session.execute(
        select(DealStageEvent.id, DealStageEvent.kind, DealStageEvent.from_stage, DealStageEvent.to_stage,
               DealStageEvent.at).where(DealStageEvent.deal_id == deal_id)
        .order_by(DealStageEvent.at, DealStageEvent.id)).all()
    return [HistoryEvent(*row) for row in rows]


def reach_keys(rows: Iterable[dict[str, Any]]) -> tuple[str, str]:
    """The deal's entered_stages and advanced_stages: stage ids, sorted, space-separated."""
    rows = list(rows)
    return (" ".join(sorted(r["stage_id"] for r in rows if r["entries"])),
            " ".join(sorted(r["stage_id"] for r in rows if r["advanced_out"])))


def rebuild(*, session: Session, deal: Deal) -> list[dict[str, Any]]:
    """Replace the deal's summary rows and reach keys with what its stored history says (after a flush)."""
    rows = summarize(deal.id, history_of(session=session, deal_id=deal.id))
    session.execute(delete(DealStageSummary).where(DealStageSummary.deal_id == deal.id))
    if rows:
        session.execute(insert(DealStageSummary), rows)
    deal.entered_stages, deal.advanced_stages = reach_keys(rows)
    return rows


def stored(*, session: Session, deal_id: int) -> list[dict[str, Any]]:
    """The deal's summary rows as stored, in the shape summarize() returns (tests, checks)."""
    columns: Sequence[Any] = DealStageSummary.__table__.columns
    result = session.execute(select(*columns).where(DealStageSummary.deal_id == deal_id)
                             .order_by(DealStageSummary.stage_id)).mappings().all()
    return [{key: (aware(v) if isinstance(v, datetime) else v) for key, v in r.items()} for r in result]

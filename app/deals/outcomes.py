"""A call's outcome from the deal's stage history after the call (used by library scoring)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from app.deals.models import EventKind


class Outcome(StrEnum):
    advanced = "advanced"  # the deal moved to a later stage within the window
    stalled = "stalled"  # nothing moved within the window
    won = "won"
    lost = "lost"  # lost or marked invalid
    pending = "pending"  # the window after the call has not passed yet and nothing moved
    unlinked = "unlinked"  # the call belongs to no deal


@dataclass(frozen=True)
class CallOutcome:
    outcome: Outcome
    deal_id: int | None
    call_at: datetime
    event_id: int | None  # the stage event that decided it
    window_days: float | None
    evidence: str


_KIND_TO_OUTCOME = {EventKind.won: Outcome.won, EventKind.lost: Outcome.lost,
                    EventKind.invalid: Outcome.lost, EventKind.advanced: Outcome.advanced}


def outcome_from_events(
    *, deal_id: int, call_at: datetime, events: list[Any], now: datetime, horizon: timedelta, deal_open: bool
) -> CallOutcome:
    """The first decisive event within the window after the call decides; none means stalled (or pending)."""
    days = horizon.total_seconds() / 86400
    for event in events:
        at = event.at if event.at.tzinfo else event.at.replace(tzinfo=call_at.tzinfo)
        if at - call_at > horizon:
            break
        outcome = _KIND_TO_OUTCOME.get(EventKind(event.kind))
        if outcome is not None:
            evidence = (f"{event.kind} {event.from_stage or ''}→{event.to_stage or ''} at {at:%Y-%m-%d}, "
                        f"{(at - call_at).days} days after the call (window {days:g} days)")
            return CallOutcome(outcome, deal_id, call_at, event.id, days, evidence)
    if now - call_at < horizon and deal_open:
        return CallOutcome(Outcome.pending, deal_id, call_at, None, days,
                           f"no stage change yet; the {days:g}-day window ends {call_at + horizon:%Y-%m-%d}")
    return CallOutcome(Outcome.stalled, deal_id, call_at, None, days,
                       f"no stage change within {days:g} days after the call")

"""Record sensitive actions and query them. Services add and flush; the edge commits.

`record()` runs inside the caller's transaction, so an action and its audit row commit or
roll back together: there is no audited deletion that did not happen, nor the reverse.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from app.audit.models import AuditAction, AuditEvent
from app.users.models import User

log = logging.getLogger(__name__)

# Never store credentials in the audit trail, whatever a caller passes in `detail`.
_SECRET_WORDS = ("password", "secret", "token", "authorization", "cookie")
MAX_DETAIL_TEXT = 500


def record(
    *,
    session: Session,
    actor: User | None,
    action: AuditAction | str,
    target_type: str = "",
    target_id: object = "",
    detail: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Add one audit event in the caller's transaction; `actor=None` means the system (CLI, cron)."""
    event = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        actor_email=actor.email if actor is not None else "",
        action=str(action)[:64],
        target_type=target_type[:32],
        target_id=str(target_id if target_id is not None else "")[:64],
        detail=_clean(detail or {}),
    )
    session.add(event)
    session.flush()
    log.info(
        "audit.recorded action=%s actor_id=%s target=%s:%s",
        event.action, event.actor_id, event.target_type, event.target_id,
    )
    return event


def _clean(detail: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in detail.items():
        if any(word in str(key).lower() for word in _SECRET_WORDS):
            continue
        if isinstance(value, str):
            value = value[:MAX_DETAIL_TEXT]
        elif not isinstance(value, (int, float, bool, type(None), list, dict)):
            value = str(value)[:MAX_DETAIL_TEXT]
        out[str(key)[:64]] = value
    return out


def list_events(
    *,
    session: Session,
    offset: int,
    limit: int,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
) -> tuple[list[AuditEvent], int]:
    """Newest first; `actor` is a user id or e-mail, `action` an exact name or a prefix ending in '.'."""
    conditions: list[ColumnElement[bool]] = []
    if actor:
        conditions.append(_actor_condition(actor))
    if action:
        conditions.append(
            AuditEvent.action.startswith(action, autoescape=True) if action.endswith(".") else AuditEvent.action == action
        )
    if since is not None:
        conditions.append(AuditEvent.at >= since)
    if until is not None:
        conditions.append(AuditEvent.at < until)
    if target_type:
        conditions.append(AuditEvent.target_type == target_type)
    if target_id:
        conditions.append(AuditEvent.target_id == target_id)
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(*conditions)) or 0
    items = session.scalars(
        select(AuditEvent).where(*conditions).order_by(AuditEvent.id.desc()).offset(offset).limit(limit)
    ).all()
    return list(items), total


def _actor_condition(actor: str) -> ColumnElement[bool]:
    if actor.isdigit():
        return AuditEvent.actor_id == int(actor)
    if actor in ("system", "-"):
        return AuditEvent.actor_id.is_(None) & (AuditEvent.actor_email == "")
    return AuditEvent.actor_email == actor.strip().lower()

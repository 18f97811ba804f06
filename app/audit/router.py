"""REST: /api/v1/audit (admins only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from app.audit import service as audit_service
from app.audit.schemas import AuditEventList, AuditEventRead
from app.deps import AdminUser, PageDep, SessionDep

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("", response_model=AuditEventList)
def list_audit_events(
    session: SessionDep,
    _admin: AdminUser,
    page: PageDep,
    actor: Annotated[str | None, Query(max_length=254, description="user id, e-mail, or 'system'")] = None,
    action: Annotated[
        str | None, Query(max_length=64, description="exact action, or a prefix ending in '.' (e.g. 'call.')")
    ] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    target_type: Annotated[str | None, Query(max_length=32)] = None,
    target_id: Annotated[str | None, Query(max_length=64)] = None,
) -> AuditEventList:
    """Sensitive actions, newest first: who viewed, exported or deleted what, and when."""
    items, total = audit_service.list_events(
        session=session, offset=page.offset, limit=page.page_size, actor=actor, action=action,
        since=since, until=until, target_type=target_type, target_id=target_id,
    )
    return AuditEventList(
        items=[AuditEventRead.model_validate(e) for e in items], total=total, page=page.page,
        page_size=page.page_size,
    )

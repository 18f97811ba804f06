from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class AuditEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: datetime
    actor_id: int | None
    actor_email: str
    action: str
    target_type: str
    target_id: str
    detail: dict[str, Any]


class AuditEventList(BaseModel):
    items: list[AuditEventRead]
    total: int
    page: int
    page_size: int

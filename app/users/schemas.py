from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.users.models import Role, TeamRelation


class TeamCreate(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    default_sop_id: str | None = Field(default=None, max_length=100)
    retention_days: int | None = Field(default=None, ge=1, le=36500)


class TeamUpdate(BaseModel):
    """Set the SOPs a team's calls are matched against when the upload names none."""

    model_config = ConfigDict(extra="forbid")
    default_sop_id: str | None = Field(default=None, max_length=100)
    default_sops: dict[str, str] | None = Field(
        default=None, max_length=50, description="call type → SOP id, e.g. {\"demo\": \"product-demo\"}"
    )


class TeamRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    default_sop_id: str | None
    default_sops: dict[str, str] = {}
    retention_days: int | None


class MembershipIn(BaseModel):
    team_id: int
    relation: TeamRelation


class UserCreate(BaseModel):
    email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    name: str = Field(min_length=1, max_length=120)
    role: Role = Role.rep
    password: str | None = Field(default=None, min_length=8, max_length=256)
    teams: list[MembershipIn] = Field(default_factory=list, max_length=100)


class MembershipRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    team_id: int
    relation: str


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    email: str
    name: str
    role: str
    is_active: bool
    has_voiceprint: bool = False
    memberships: list[MembershipRead] = []
    created_at: datetime


class LoginIn(BaseModel):
    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=256)


class TokenCreate(BaseModel):
    name: str = Field(default="api", max_length=120)
    expires_in_days: int | None = Field(default=90, ge=1, le=3650)


class TokenRead(BaseModel):
    id: int
    name: str
    token: str | None = None  # shown once, at creation
    prefix: str
    expires_at: datetime | None




class RoleUpdate(BaseModel):
    role: Role


class PasswordReset(BaseModel):
    password: str = Field(min_length=8, max_length=256)

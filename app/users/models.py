"""Users, teams and credentials."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, TimestampMixin


class Role(StrEnum):
    admin = "admin"
    manager = "manager"
    trainer = "trainer"
    rep = "rep"


class TeamRelation(StrEnum):
    member = "member"  # a rep's team
    manager = "manager"  # a manager leads it
    trainer = "trainer"  # a trainer serves it


class Team(TimestampMixin, Base):
    __tablename__ = "team"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    default_sop_id: Mapped[str | None] = mapped_column(String(100))
    # Per call type (discovery, demo, invitation, …) → SOP id; falls back to default_sop_id.
    default_sops: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # Privacy: redaction policy (kinds, style, keep_original) and retention in days.
    redaction: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    retention_days: Mapped[int | None]


class User(TimestampMixin, Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16), default=Role.rep)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    voiceprint: Mapped[bytes | None] = mapped_column(LargeBinary)
    voiceprint_model: Mapped[str | None] = mapped_column(String(100))
    voiceprint_at: Mapped[datetime | None]

    memberships: Mapped[list[TeamMembership]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    def team_ids(self, *relations: TeamRelation) -> set[int]:
        wanted = set(relations) or set(TeamRelation)
        return {m.team_id for m in self.memberships if m.relation in wanted}


class TeamMembership(Base):
    __tablename__ = "team_membership"
    __table_args__ = (UniqueConstraint("user_id", "team_id", "relation"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"), index=True)
    relation: Mapped[str] = mapped_column(String(16))

    user: Mapped[User] = relationship(back_populates="memberships")


class ApiToken(TimestampMixin, Base):
    """Bearer tokens and web sessions; only a SHA-256 of the secret is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="api")  # api | session
    name: Mapped[str] = mapped_column(String(120), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class LoginAttempt(Base):
    """Failed logins, counted per e-mail in a sliding window (works across processes)."""

    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    ip: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[datetime] = mapped_column(index=True)

"""SOP versions in the database, and matching a call against its SOP (the pipeline's match stage)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import jobs
from app.audit import service as audit_service
from app.audit.models import AuditAction
from app.calls.models import Call, CallStatus
from app.errors import NotFound, PayloadTooLarge, Unprocessable
from app.sop import learning
from app.sop.loader import diff_sops, load_sop, sop_hash
from app.sop.models import CallSopResult, SopVersion
from app.sop.schema import SopDefinition
from app.users.models import Team, User

log = logging.getLogger(__name__)

SHIPPED = Path(__file__).resolve().parents[2] / "sop_definitions"
MAX_SOP_BYTES = 2 * 1024 * 1024


class SopNotFound(NotFound):
    pass


def save_sop(
    *, session: Session, text: str, source: str, user_id: int | None = None
) -> tuple[SopVersion, bool]:
    """Validate and store a SOP; a changed file becomes a new version. Returns (version, created)."""
    definition = load_sop(text, source=source)
    digest = sop_hash(definition)
    latest = latest_version(session=session, sop_id=definition.id)
    if latest is not None and latest.content_hash == digest:
        return latest, False
    number = max(definition.version, (latest.version + 1) if latest else 1)
    row = SopVersion(
        sop_id=definition.id,
        version=number,
        declared_version=definition.version,
        name=definition.name,
        language=definition.language,
        kind=definition.kind,
        content_hash=digest,
        source_text=text,
        definition=definition.model_dump(mode="json"),
        created_by_id=user_id,
    )
    session.add(row)
    session.flush()
    if latest is not None:
        learning.queue_rematch(session=session, sop_id=definition.id)
    log.info("sop.saved sop_id=%s version=%s", row.sop_id, row.version)
    return row, True


def sop_text(data: bytes) -> str:
    """An uploaded SOP file's text: at most MAX_SOP_BYTES of UTF-8, not empty."""
    if len(data) > MAX_SOP_BYTES:
        raise PayloadTooLarge(f"A SOP file may be at most {MAX_SOP_BYTES:,} bytes.")
    if not data.strip():
        raise Unprocessable("The SOP file is empty; send the YAML definition.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unprocessable("The SOP file must be UTF-8 text (YAML).") from exc


def publish(*, session: Session, text: str, source: str, user: User) -> tuple[SopVersion, bool]:
    """save_sop on a person's behalf (API, web page): a new version is audited as theirs."""
    row, created = save_sop(session=session, text=text, source=source, user_id=user.id)
    if created:
        action = AuditAction.sop_change if row.version > 1 else AuditAction.sop_upload
        audit_service.record(session=session, actor=user, action=action, target_type="sop",
                             target_id=f"{row.sop_id}@{row.version}")
    return row, created


def sync_shipped(*, session: Session, folder: Path = SHIPPED) -> list[tuple[SopVersion, bool]]:
    """Load the bundled definitions (new versions only when a file changed)."""
    return [
        save_sop(session=session, text=path.read_text(encoding="utf-8"), source=path.name)
        for path in sorted(folder.glob("*.yaml"))
    ]


def latest_version(*, session: Session, sop_id: str) -> SopVersion | None:
    return session.scalar(
        select(SopVersion)
        .where(SopVersion.sop_id == sop_id)
        .order_by(SopVersion.version.desc())
        .limit(1)
    )


def get_version(*, session: Session, sop_id: str, version: int | None = None) -> SopVersion:
    if version is None:
        row = latest_version(session=session, sop_id=sop_id)
    else:
        row = session.scalar(
            select(SopVersion).where(SopVersion.sop_id == sop_id, SopVersion.version == version)
        )
    if row is None:
        suffix = f" version {version}" if version is not None else ""
        raise SopNotFound(f"SOP {sop_id!r}{suffix} does not exist; GET /api/v1/sops lists them.")
    return row


def list_latest(*, session: Session) -> list[SopVersion]:
    newest = (
        select(SopVersion.sop_id, func.max(SopVersion.version).label("v"))
        .group_by(SopVersion.sop_id)
        .subquery()
    )
    return list(
        session.scalars(
            select(SopVersion)
            .join(
                newest, (SopVersion.sop_id == newest.c.sop_id) & (SopVersion.version == newest.c.v)
            )
            .order_by(SopVersion.sop_id)
        )
    )


def versions(*, session: Session, sop_id: str) -> list[SopVersion]:
    return list(
        session.scalars(
            select(SopVersion).where(SopVersion.sop_id == sop_id).order_by(SopVersion.version)
        )
    )


def definition_of(row: SopVersion) -> SopDefinition:
    return SopDefinition.model_validate(row.definition)


def diff(*, session: Session, sop_id: str, old: int, new: int) -> list[dict[str, object]]:
    a = definition_of(get_version(session=session, sop_id=sop_id, version=old))
    b = definition_of(get_version(session=session, sop_id=sop_id, version=new))
    return [
        change.to_dict() if hasattr(change, "to_dict") else change.__dict__
        for change in diff_sops(a, b)
    ]


def sop_for_call(*, session: Session, call: Call) -> SopVersion | None:
    """The SOP a call is matched against: given at upload, else its team's default for the
    call's type, else the team's default."""
    sop_id = call.sop_id
    if sop_id is None and call.team_id is not None:
        team = session.get(Team, call.team_id)
        if team is not None:
            sop_id = (team.default_sops or {}).get(call.call_type or "") or team.default_sop_id
    if sop_id is None:
        return None
    return latest_version(session=session, sop_id=sop_id)


def check_stages(stages: Sequence[str], sop: SopDefinition) -> list[str] | None:
    """Stage ids of this SOP, blanks dropped (None when nothing is left); 422 naming unknown ones."""
    known, unknown = sop.split_stage_ids(part.strip() for part in stages if part.strip())
    if unknown:
        raise Unprocessable(
            f"Unknown stage(s) {', '.join(unknown)} for SOP {sop.id!r}; "
            f"its stages are: {', '.join(st.id for st in sop.stages)}."
        )
    return known or None


def get_result(*, session: Session, call_id: int) -> CallSopResult | None:
    return session.get(CallSopResult, call_id)


def calls_using(*, session: Session, sop_id: str) -> list[int]:
    """Ready calls whose latest result (or upload) refers to this SOP: re-matched on a new version."""
    matched = select(CallSopResult.call_id).where(CallSopResult.sop_id == sop_id)
    given = select(Call.id).where(Call.sop_id == sop_id, Call.status == CallStatus.ready)
    return sorted(set(session.scalars(matched)) | set(session.scalars(given)))


def rematch_ready_call(*, session: Session, call_id: int) -> bool:
    """Match a ready call again (its old result stays until this one is written) and let its clips
    follow; False when the call is gone, not ready, or has no SOP."""
    call = session.get(Call, call_id)
    if call is None or call.status != CallStatus.ready:
        return False
    if match_and_store(session=session, call=call) is None:
        return False
    jobs.enqueue(session, "library.update", call_id=call.id)
    return True


def request_rematch(*, session: Session, sop_id: str, user: User) -> SopVersion:
    """A person asks for every call of the SOP to be matched again (API, web page): queued, audited."""
    row = get_version(session=session, sop_id=sop_id)
    learning.queue_rematch(session=session, sop_id=row.sop_id)
    audit_service.record(session=session, actor=user, action=AuditAction.sop_rematch, target_type="sop",
                         target_id=row.sop_id)
    return row


def match_and_store(*, session: Session, call: Call) -> CallSopResult | None:
    """Match a call against its SOP and store the result; no SOP for the call means no result."""
    sop_row = sop_for_call(session=session, call=call)
    if sop_row is None:
        return None
    from app.sop import matching

    return matching.match_and_store(session=session, call=call, sop_row=sop_row)

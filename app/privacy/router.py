"""REST: team privacy policy, unredacted originals, retention preview and run (admins only)."""

from __future__ import annotations

from fastapi import APIRouter

from app.audit import service as audit_service
from app.audit.models import AuditAction
from app.calls import service as calls_service
from app.deps import AdminUser, SessionDep
from app.privacy import retention
from app.privacy import service as privacy_service
from app.privacy.schemas import (
    OriginalTranscript,
    OriginalUtterance,
    PrivacySettings,
    PrivacySettingsRead,
    RetentionItem,
    RetentionReport,
)

router = APIRouter(prefix="/api/v1", tags=["privacy"])


@router.get("/teams/{team_id}/privacy", response_model=PrivacySettingsRead)
def get_team_privacy(team_id: int, session: SessionDep, _admin: AdminUser) -> PrivacySettingsRead:
    """What is redacted at ingest for this team, how, and how long its calls are kept."""
    return privacy_service.get_team_settings(session=session, team_id=team_id)


@router.put("/teams/{team_id}/privacy", response_model=PrivacySettingsRead)
def put_team_privacy(
    team_id: int, body: PrivacySettings, session: SessionDep, admin: AdminUser
) -> PrivacySettingsRead:
    """Replace the team's policy; applies to calls processed from now on (reprocess to re-redact)."""
    return privacy_service.update_team_settings(session=session, actor=admin, team_id=team_id, settings_in=body)


@router.get("/calls/{call_id}/transcript/original", response_model=OriginalTranscript)
def get_original_transcript(call_id: int, session: SessionDep, admin: AdminUser) -> OriginalTranscript:
    """Unredacted text of the redacted utterances, kept only when the team's policy keeps originals."""
    call = calls_service.get_call(session=session, call_id=call_id, user=admin)
    rows = privacy_service.original_utterances(session=session, call_id=call.id)
    audit_service.record(session=session, actor=admin, action=AuditAction.original_view, target_type="call",
                         target_id=call.id, detail={"utterances": len(rows)})
    return OriginalTranscript(call_id=call.id, utterances=[OriginalUtterance.model_validate(r) for r in rows])


@router.get("/retention/preview", response_model=RetentionReport)
def preview_retention(session: SessionDep, admin: AdminUser) -> RetentionReport:
    """What a retention run would delete now (a dry run; audited)."""
    return _report(retention.run(session=session, dry_run=True, actor=admin))


@router.post("/retention/run", response_model=RetentionReport)
def run_retention(session: SessionDep, admin: AdminUser) -> RetentionReport:
    """Delete every call past its team's retention, with media, transcript, embeddings and index entries."""
    return _report(retention.run(session=session, dry_run=False, actor=admin))


def _report(result: retention.RetentionResult) -> RetentionReport:
    items = [RetentionItem(call_id=e.call_id, team_id=e.team_id, team_name=e.team_name, occurred_at=e.occurred_at,
                           created_at=e.created_at, age_days=e.age_days, retention_days=e.retention_days)
             for e in result.expired]
    return RetentionReport(dry_run=result.dry_run, deleted=result.deleted, items=items)

"""REST: SOP versions (/api/v1/sops) and a call's SOP match (/api/v1/calls/{id}/sop)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import UploadFile

from app import jobs
from app.audit import service as audit_service
from app.audit.models import AuditAction
from app.calls import service as calls_service
from app.calls.models import CallStatus
from app.deps import AdminUser, CoachUser, CurrentUser, SessionDep
from app.errors import Conflict, Unprocessable
from app.sop import learning
from app.sop import review as review_service
from app.sop import service as sop_service
from app.sop.models import SopVersion

router = APIRouter(prefix="/api/v1", tags=["sop"])


class SopSummary(BaseModel):
    sop_id: str
    version: int
    declared_version: int
    name: str
    language: str
    kind: str
    created_at: datetime


class SopDetail(SopSummary):
    definition: dict[str, Any]
    source_text: str


class SopSaved(SopSummary):
    created: bool
    rematch_queued: bool


class CallSopOut(BaseModel):
    call_id: int
    sop_id: str
    sop_version: int
    adherence: float
    embedding_model: str
    matched_at: datetime
    result: dict[str, Any]


class ReviewOut(CallSopOut):
    sop_rematch_queued: bool = Field(
        description="enough reviews of this SOP changed: every call of it is being re-matched with what they taught"
    )


class Correction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    index: int = Field(ge=0, description="the utterance's index")
    step: str | None = Field(default=None, max_length=100, description="step id; null or 'off-sop' for off-SOP")


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    corrections: list[Correction] = Field(default_factory=list, max_length=20_000)
    complete: bool = Field(
        default=False, description="every label was checked: those not corrected are confirmed"
    )


def _summary(row: SopVersion) -> dict[str, Any]:
    return {k: getattr(row, k) for k in SopSummary.model_fields}


@router.get("/sops", response_model=list[SopSummary])
def list_sops(session: SessionDep, _user: CurrentUser) -> list[SopSummary]:
    return [SopSummary(**_summary(r)) for r in sop_service.list_latest(session=session)]


@router.post("/sops", response_model=SopSaved, status_code=status.HTTP_201_CREATED)
async def upload_sop(request: Request, session: SessionDep, admin: AdminUser) -> SopSaved:
    """Upload a SOP as a YAML body or a multipart `file`; a changed file becomes a new version."""
    text = await _yaml_text(request)
    row, created = sop_service.publish(session=session, text=text, source="upload.yaml", user=admin)
    return SopSaved(**_summary(row), created=created, rematch_queued=created and row.version > 1)


async def _yaml_text(request: Request) -> str:
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):  # starlette's: what request.form() builds, not fastapi's subclass
            raise Unprocessable(
                "Send the SOP as a multipart field named 'file' or as a YAML request body."
            )
        data = await upload.read(sop_service.MAX_SOP_BYTES + 1)
    else:
        data = await request.body()
    return sop_service.sop_text(data)


@router.get("/sops/{sop_id}", response_model=SopDetail)
def get_sop(
    sop_id: str,
    session: SessionDep,
    _user: CurrentUser,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> SopDetail:
    row = sop_service.get_version(session=session, sop_id=sop_id, version=version)
    return SopDetail(**_summary(row), definition=row.definition, source_text=row.source_text)


@router.get("/sops/{sop_id}/versions", response_model=list[SopSummary])
def list_versions(sop_id: str, session: SessionDep, _user: CurrentUser) -> list[SopSummary]:
    rows = sop_service.versions(session=session, sop_id=sop_id)
    if not rows:
        sop_service.get_version(session=session, sop_id=sop_id)  # raises the 404
    return [SopSummary(**_summary(r)) for r in rows]


@router.get("/sops/{sop_id}/diff")
def diff_versions(
    sop_id: str,
    session: SessionDep,
    _user: CurrentUser,
    from_: Annotated[int, Query(alias="from", ge=1)],
    to: Annotated[int, Query(ge=1)],
) -> dict[str, Any]:
    """What changed between two versions: steps added, removed, renamed, examples, order, stages."""
    return {
        "sop_id": sop_id,
        "from": from_,
        "to": to,
        "changes": sop_service.diff(session=session, sop_id=sop_id, old=from_, new=to),
    }


@router.get("/calls/{call_id}/sop", response_model=CallSopOut)
def get_call_sop(call_id: int, session: SessionDep, user: CurrentUser) -> CallSopOut:
    """The call's actual path, deviations, adherence (with its formula) and per-utterance labels."""
    call = calls_service.get_call(session=session, call_id=call_id, user=user)
    result = sop_service.get_result(session=session, call_id=call.id)
    if result is None:
        if call.status != CallStatus.ready:
            raise Conflict(f"Call {call.id} is still being processed ({call.status}).")
        raise Conflict(
            f"Call {call.id} has no SOP result: give it a SOP (sop_id at upload) or set its team's default SOP, "
            "then POST /api/v1/calls/{id}/rematch."
        )
    return CallSopOut.model_validate(result, from_attributes=True)


@router.post("/calls/{call_id}/rematch", status_code=status.HTTP_202_ACCEPTED)
def rematch_call(
    call_id: int,
    session: SessionDep,
    user: CurrentUser,
    sop_id: Annotated[str | None, Query(max_length=100)] = None,
    stages: Annotated[
        str | None,
        Query(max_length=1000, description="the SOP stage ids the call works on, comma-separated; empty: from its deal"),
    ] = None,
) -> dict[str, Any]:
    """Match the call again (optionally against another SOP, or with the stages it worked on);
    the old result stays until then."""
    call = calls_service.get_call(session=session, call_id=call_id, user=user)
    if call.status != CallStatus.ready:
        raise Conflict(
            f"Call {call.id} is not ready ({call.status}); it is matched when its pipeline finishes."
        )
    if sop_id is not None:
        sop_service.get_version(session=session, sop_id=sop_id)
        call.sop_id = sop_id
    row = sop_service.sop_for_call(session=session, call=call)
    if row is None:
        raise Unprocessable("This call has no SOP: pass ?sop_id=… or set the team's default SOP.")
    if stages is not None:
        call.sop_stages = sop_service.check_stages(stages.split(","), sop_service.definition_of(row))
    jobs.enqueue(session, "sop.rematch", call_id=call.id)
    return {"call_id": call.id, "status": "queued"}


@router.put("/calls/{call_id}/sop/review", response_model=ReviewOut)
def review_call_sop(call_id: int, body: ReviewIn, session: SessionDep, user: CoachUser) -> ReviewOut:
    """Correct (or confirm) utterance labels; the path, deviations and adherence follow them.

    Replaces the call's previous corrections. They are applied again whenever the call is matched
    against the same SOP (a new version, a re-match)."""
    call = calls_service.get_call(session=session, call_id=call_id, user=user)
    corrections = review_service.parse_corrections([c.model_dump() for c in body.corrections])
    saved = review_service.save_review(
        session=session, call=call, reviewer=user, corrections=corrections, complete=body.complete
    )
    audit_service.record(
        session=session, actor=user, action=AuditAction.sop_review, target_type="call", target_id=call.id,
        detail={"corrections": len(corrections), "complete": body.complete},
    )
    return _review_out(saved)


@router.delete("/calls/{call_id}/sop/review", response_model=ReviewOut)
def delete_call_sop_review(call_id: int, session: SessionDep, user: CoachUser) -> ReviewOut:
    """Remove the call's corrections: the matcher's labels come back."""
    call = calls_service.get_call(session=session, call_id=call_id, user=user)
    saved = review_service.clear_review(session=session, call=call)
    audit_service.record(
        session=session, actor=user, action=AuditAction.sop_review, target_type="call", target_id=call.id,
        detail={"removed": True},
    )
    return _review_out(saved)


def _review_out(saved: review_service.Saved) -> ReviewOut:
    out = CallSopOut.model_validate(saved.result, from_attributes=True)
    return ReviewOut(**out.model_dump(), sop_rematch_queued=saved.rematch_queued)


@router.get("/sops/{sop_id}/learning")
def sop_learning(
    sop_id: Annotated[str, PathParam(max_length=100)],
    session: SessionDep,
    user: CoachUser,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> dict[str, Any]:
    """What the matcher learned from this SOP's reviews (per step of the version, latest by default),
    and the review changes its stored matches have not seen yet."""
    row = sop_service.get_version(session=session, sop_id=sop_id, version=version)
    return learning.status(session=session, sop_row=row, user=user)


@router.get("/sops/{sop_id}/review-queue")
def review_queue(
    sop_id: Annotated[str, PathParam(max_length=100)],
    session: SessionDep,
    user: CoachUser,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> dict[str, Any]:
    """The calls to review next: highest expected share of wrong labels first (completely reviewed calls left out)."""
    sop_service.get_version(session=session, sop_id=sop_id)
    calls = review_service.review_queue(session=session, sop_id=sop_id, user=user, limit=limit)
    return {"sop_id": sop_id, "unsure_below": review_service.UNSURE_BELOW, "calls": calls}


@router.post("/sops/{sop_id}/rematch", status_code=status.HTTP_202_ACCEPTED)
def rematch_sop(
    sop_id: Annotated[str, PathParam(max_length=100)], session: SessionDep, user: CoachUser
) -> dict[str, Any]:
    """Re-match every call of the SOP now (each old result stays until its new one is written)."""
    sop_service.request_rematch(session=session, sop_id=sop_id, user=user)
    return {"sop_id": sop_id, "status": "queued"}


@router.get("/sops/{sop_id}/reviews")
def reviewed_calls(
    sop_id: Annotated[str, PathParam(max_length=100)],
    session: SessionDep,
    user: CoachUser,
    complete_only: Annotated[bool, Query(description="only calls whose every label was checked")] = True,
) -> dict[str, Any]:
    """The reviewed calls of a SOP as labelled calls (the format `talktrack eval sop --labels` reads)."""
    sop_service.get_version(session=session, sop_id=sop_id)
    calls = review_service.reviewed_calls(session=session, sop_id=sop_id, user=user, complete_only=complete_only)
    audit_service.record(
        session=session, actor=user, action=AuditAction.transcript_export, target_type="sop", target_id=sop_id,
        detail={"reviewed_calls": len(calls)},
    )
    return {"sop_id": sop_id, "calls": calls}

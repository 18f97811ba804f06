"""REST: /api/v1/deals (CRUD, moving, approvals, calls, CSV)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, Response, UploadFile, status

from app.calls.schemas import CallRead
from app.deals import importer, workflow
from app.deals import service as deals_service
from app.deals.models import ApprovalStatus, DealSource, DealStatus
from app.deals.schemas import (
    AdvanceIn,
    AdvanceResult,
    ApprovalRead,
    CloseIn,
    ContactCreate,
    DealCreate,
    DealList,
    DealRead,
    DealUpdate,
    DecisionIn,
    ImportReport,
    IntentIn,
    LeadConvert,
    StageEventRead,
)
from app.deps import CurrentUser, PageDep, SessionDep

router = APIRouter(prefix="/api/v1/deals", tags=["deals"])
MAX_CSV_BYTES = 50 * 1024 * 1024


@router.post("", status_code=status.HTTP_201_CREATED, response_model=DealRead)
def create_deal(deal_in: DealCreate, session: SessionDep, user: CurrentUser) -> DealRead:
    """Create a deal in its process's first stage."""
    return DealRead.model_validate(deals_service.create_deal(session=session, user=user, deal_in=deal_in))


@router.post("/convert-lead", status_code=status.HTTP_201_CREATED, response_model=DealRead)
def convert_lead(lead_in: LeadConvert, session: SessionDep, user: CurrentUser) -> DealRead:
    """Turn a qualified lead into an account, a contact and a deal in the first stage."""
    deal_in = DealCreate(name=lead_in.deal_name or lead_in.company, account_name=lead_in.company,
                         process_id=lead_in.process_id, amount=lead_in.amount, currency=lead_in.currency,
                         expected_close_date=lead_in.expected_close_date, source=DealSource.lead, team_id=lead_in.team_id)
    deal = deals_service.create_deal(session=session, user=user, deal_in=deal_in)
    if lead_in.contact_name:
        account = deals_service.get_account(session=session, account_id=deal.account_id)
        deals_service.add_contact(session=session, account=account, contact_in=ContactCreate(
            name=lead_in.contact_name, role=lead_in.contact_role, phone=lead_in.contact_phone, email=lead_in.contact_email))
    return DealRead.model_validate(deal)


@router.get("", response_model=DealList)
def list_deals(
    session: SessionDep, user: CurrentUser, page: PageDep,
    status_: Annotated[DealStatus | None, Query(alias="status")] = None,
    stage_id: str | None = None, team_id: int | None = None, owner_id: int | None = None,
    process_id: str | None = None, account_id: int | None = None,
) -> DealList:
    items, total = deals_service.list_deals(
        session=session, user=user, offset=page.offset, limit=page.page_size, status=status_, stage_id=stage_id,
        team_id=team_id, owner_id=owner_id, process_id=process_id, account_id=account_id)
    return DealList(items=[DealRead.model_validate(d) for d in items], total=total, page=page.page,
                    page_size=page.page_size)


@router.post("/import", response_model=ImportReport)
def import_deals(session: SessionDep, user: CurrentUser, file: Annotated[UploadFile, File()],
                 process_id: Annotated[str | None, Query(max_length=100)] = None) -> ImportReport:
    """Import deals from CSV; the report lists every rejected row by line number."""
    data = file.file.read(MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        from app.errors import PayloadTooLarge

        raise PayloadTooLarge(f"CSV files may be at most {MAX_CSV_BYTES:,} bytes; split the file.")
    result = importer.import_csv(session=session, user=user, data=data, process_id=process_id)
    return ImportReport(imported=result.imported, encoding=result.encoding, columns=result.columns,
                        batches=result.batches, rejected=[{"line": r.line, "reason": r.reason} for r in result.rejected])


@router.get("/export", response_class=Response)
def export_deals(session: SessionDep, user: CurrentUser, headers: Annotated[str, Query(pattern="^(en|zh)$")] = "en",
                 status_: Annotated[DealStatus | None, Query(alias="status")] = None,
                 team_id: int | None = None) -> Response:
    text = importer.export_csv(session=session, user=user, headers=headers, status=status_, team_id=team_id)
    return Response(content=text.encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="deals.csv"'})


@router.get("/approvals", response_model=list[ApprovalRead])
def list_approvals(session: SessionDep, user: CurrentUser,
                   status_: Annotated[ApprovalStatus | None, Query(alias="status")] = ApprovalStatus.pending) -> list[ApprovalRead]:
    """Approval requests on deals you may see (pending by default)."""
    return [ApprovalRead.model_validate(a) for a in workflow.list_approvals(session=session, user=user, status=status_)]


@router.post("/approvals/{approval_id}/approve", response_model=DealRead)
def approve(approval_id: int, decision: DecisionIn, session: SessionDep, user: CurrentUser) -> DealRead:
    approval = workflow.get_approval(session=session, approval_id=approval_id, user=user)
    return DealRead.model_validate(workflow.approve(session=session, user=user, approval=approval, comment=decision.comment))


@router.post("/approvals/{approval_id}/reject", response_model=ApprovalRead)
def reject(approval_id: int, decision: DecisionIn, session: SessionDep, user: CurrentUser) -> ApprovalRead:
    approval = workflow.get_approval(session=session, approval_id=approval_id, user=user)
    return ApprovalRead.model_validate(workflow.reject(session=session, user=user, approval=approval, comment=decision.comment))


@router.get("/{deal_id}", response_model=DealRead)
def get_deal(deal_id: int, session: SessionDep, user: CurrentUser) -> DealRead:
    return DealRead.model_validate(deals_service.get_deal(session=session, deal_id=deal_id, user=user))


@router.patch("/{deal_id}", response_model=DealRead)
def update_deal(deal_id: int, deal_in: DealUpdate, session: SessionDep, user: CurrentUser) -> DealRead:
    """Edit a deal; feedback merges key by key (null removes a key)."""
    deal = deals_service.get_deal(session=session, deal_id=deal_id, user=user)
    return DealRead.model_validate(workflow.update_deal(session=session, user=user, deal=deal, deal_in=deal_in))


@router.delete("/{deal_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_deal(deal_id: int, session: SessionDep, user: CurrentUser) -> None:
    deal = deals_service.get_deal(session=session, deal_id=deal_id, user=user)
    deals_service.delete_deal(session=session, user=user, deal=deal)


@router.post("/{deal_id}/advance", response_model=AdvanceResult)
def advance(deal_id: int, advance_in: AdvanceIn, session: SessionDep, user: CurrentUser) -> AdvanceResult:
    """Move to the next stage; 422 lists missing feedback; approval stages open a request instead."""
    deal = deals_service.get_deal(session=session, deal_id=deal_id, user=user)
    done = workflow.advance(session=session, user=user, deal=deal, reason=advance_in.reason)
    return AdvanceResult(deal=DealRead.model_validate(done.deal), moved=done.moved,
                         approval_id=done.approval.id if done.approval else None, detail=done.detail)


@router.post("/{deal_id}/close", response_model=DealRead)
def close(deal_id: int, close_in: CloseIn, session: SessionDep, user: CurrentUser) -> DealRead:
    """Mark a deal lost or invalid with a reason."""
    deal = deals_service.get_deal(session=session, deal_id=deal_id, user=user)
    return DealRead.model_validate(workflow.close(session=session, user=user, deal=deal, status=close_in.status,
                                                  reason=close_in.reason))


@router.post("/{deal_id}/intent", status_code=status.HTTP_201_CREATED, response_model=DealRead)
def record_intent(deal_id: int, intent_in: IntentIn, session: SessionDep, user: CurrentUser) -> DealRead:
    """The 30-day judgment: keep (with a reason) or drop."""
    deal = deals_service.get_deal(session=session, deal_id=deal_id, user=user)
    workflow.record_intent(session=session, user=user, deal=deal, decision=intent_in.decision, reason=intent_in.reason)
    return DealRead.model_validate(deal)


@router.get("/{deal_id}/history", response_model=list[StageEventRead])
def history(deal_id: int, session: SessionDep, user: CurrentUser) -> list[StageEventRead]:
    deal = deals_service.get_deal(session=session, deal_id=deal_id, user=user)
    return [StageEventRead.model_validate(e) for e in deals_service.history(session=session, deal=deal)]


@router.get("/{deal_id}/calls", response_model=list[CallRead])
def list_calls(deal_id: int, session: SessionDep, user: CurrentUser) -> list[CallRead]:
    deal = deals_service.get_deal(session=session, deal_id=deal_id, user=user)
    return [CallRead.model_validate(c) for c in deals_service.list_calls(session=session, deal=deal)]


@router.post("/{deal_id}/calls/{call_id}", response_model=CallRead)
def link_call(deal_id: int, call_id: int, session: SessionDep, user: CurrentUser) -> CallRead:
    """Link an uploaded call to this deal."""
    deal = deals_service.get_deal(session=session, deal_id=deal_id, user=user)
    return CallRead.model_validate(deals_service.link_call(session=session, user=user, deal=deal, call_id=call_id))

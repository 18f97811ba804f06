"""REST: /api/v1/accounts and their contacts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from app.deals import service as deals_service
from app.deals.schemas import (
    AccountCreate,
    AccountList,
    AccountRead,
    AccountUpdate,
    ContactCreate,
    ContactRead,
)
from app.deps import CurrentUser, PageDep, SessionDep

router = APIRouter(prefix="/api/v1/accounts", tags=["accounts"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=AccountRead)
def create_account(account_in: AccountCreate, session: SessionDep, user: CurrentUser) -> AccountRead:
    return AccountRead.model_validate(deals_service.create_account(session=session, user=user, account_in=account_in))


@router.get("", response_model=AccountList)
def list_accounts(session: SessionDep, user: CurrentUser, page: PageDep,
                  q: Annotated[str | None, Query(max_length=200)] = None) -> AccountList:
    items, total = deals_service.list_accounts(session=session, user=user, offset=page.offset, limit=page.page_size, q=q)
    return AccountList(items=[AccountRead.model_validate(a) for a in items], total=total, page=page.page,
                       page_size=page.page_size)


@router.get("/{account_id}", response_model=AccountRead)
def get_account(account_id: int, session: SessionDep, user: CurrentUser) -> AccountRead:
    return AccountRead.model_validate(deals_service.get_account(session=session, account_id=account_id, user=user))


@router.patch("/{account_id}", response_model=AccountRead)
def update_account(account_id: int, account_in: AccountUpdate, session: SessionDep, user: CurrentUser) -> AccountRead:
    account = deals_service.get_account(session=session, account_id=account_id, user=user)
    return AccountRead.model_validate(deals_service.update_account(session=session, account=account, account_in=account_in))


@router.post("/{account_id}/contacts", status_code=status.HTTP_201_CREATED, response_model=ContactRead)
def add_contact(account_id: int, contact_in: ContactCreate, session: SessionDep, user: CurrentUser) -> ContactRead:
    account = deals_service.get_account(session=session, account_id=account_id, user=user)
    return ContactRead.model_validate(deals_service.add_contact(session=session, account=account, contact_in=contact_in))


@router.get("/{account_id}/contacts", response_model=list[ContactRead])
def list_contacts(account_id: int, session: SessionDep, user: CurrentUser) -> list[ContactRead]:
    account = deals_service.get_account(session=session, account_id=account_id, user=user)
    return [ContactRead.model_validate(c) for c in deals_service.list_contacts(session=session, account=account)]

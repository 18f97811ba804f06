"""Moving a deal: required feedback, approvals, closing, and the stage history behind each move."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.deals import workflow
from app.deals.exceptions import DealClosed, MissingFeedback, NotAllowed
from app.deals.models import DealStatus
from app.deals.schemas import DealUpdate
from app.users.models import Role
from tests.deals.conftest import T0
from tests.deals.helpers import new_deal, place, user
from tests.factories import make_team, make_user


def _create(client, person, process, **fields):  # type: ignore[no-untyped-def]
    body = {"name": "Line 3 retrofit", "account_name": "Acme", "process_id": process, "amount": "120000", **fields}
    response = client.post("/api/v1/deals", headers=person.headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_a_new_deal_starts_in_the_first_stage_with_a_created_event(client, process) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    deal = _create(client, rep, process, source="lead")
    assert deal["stage_id"] == "lead" and deal["status"] == "open" and deal["amount"] == "120000.00"
    events = client.get(f"/api/v1/deals/{deal['id']}/history", headers=rep.headers).json()
    assert [(e["kind"], e["to_stage"], e["by_id"]) for e in events] == [("created", "lead", rep.id)]


def test_advancing_without_required_feedback_is_422_listing_the_fields(client, process) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    deal = _create(client, rep, process)
    client.post(f"/api/v1/deals/{deal['id']}/advance", headers=rep.headers, json={})
    client.patch(f"/api/v1/deals/{deal['id']}", headers=rep.headers, json={"feedback": {"contact_info": "a@b.c"}})
    client.post(f"/api/v1/deals/{deal['id']}/advance", headers=rep.headers, json={})
    response = client.post(f"/api/v1/deals/{deal['id']}/advance", headers=rep.headers, json={})
    assert response.status_code == 422
    assert response.json()["error"] == "MissingFeedback"
    assert "budget_range, decision_maker" in response.json()["detail"]


def test_filled_feedback_lets_the_deal_advance_and_records_who_when_why(session, process) -> None:  # type: ignore[no-untyped-def]
    rep = user(session, make_user(Role.rep, team_id=make_team()).id)
    deal = new_deal(session, rep)
    with pytest.raises(MissingFeedback) as missing:
        workflow.advance(session=session, user=rep, deal=deal, now=T0)
    assert missing.value.missing == ["contact_info"]
    workflow.update_deal(session=session, user=rep, deal=deal, deal_in=DealUpdate(feedback={"contact_info": "+86 138"}))
    later = T0 + timedelta(days=3)
    done = workflow.advance(session=session, user=rep, deal=deal, reason="met the plant manager", now=later)
    assert done.moved and deal.stage_id == "qualify"
    from app.deals import service as deals_service

    last = deals_service.history(session=session, deal=deal)[-1]
    assert (last.kind, last.from_stage, last.to_stage, last.by_id, last.reason) == (
        "advanced", "lead", "qualify", rep.id, "met the plant manager")


def test_unknown_feedback_field_is_refused(client, process) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    deal = _create(client, rep, process)
    response = client.patch(f"/api/v1/deals/{deal['id']}", headers=rep.headers, json={"feedback": {"shoe_size": 42}})
    assert response.status_code == 422 and "shoe_size" in response.json()["detail"]


def test_approval_flow_reject_resubmit_approve(client, session, process) -> None:  # type: ignore[no-untyped-def]
    team = make_team()
    rep, manager = make_user(Role.rep, team_id=team), make_user(Role.manager, team_id=team)
    deal_id = _create(client, rep, process, feedback={"proposal_sent": "yes"})["id"]
    from app.deals.models import Deal

    place(session, session.get(Deal, deal_id), "proposal")
    session.commit()
    asked = client.post(f"/api/v1/deals/{deal_id}/advance", headers=rep.headers, json={"reason": "sent v1"}).json()
    assert asked["moved"] is False and asked["deal"]["stage_id"] == "proposal"
    approval_id = asked["approval_id"]
    again = client.post(f"/api/v1/deals/{deal_id}/advance", headers=rep.headers, json={})
    assert again.status_code == 409
    inbox = client.get("/api/v1/deals/approvals", headers=manager.headers).json()
    assert [a["id"] for a in inbox] == [approval_id]
    no_comment = client.post(f"/api/v1/deals/approvals/{approval_id}/reject", headers=manager.headers, json={})
    assert no_comment.status_code == 422
    rejected = client.post(f"/api/v1/deals/approvals/{approval_id}/reject", headers=manager.headers,
                           json={"comment": "add the payment terms"}).json()
    assert rejected["status"] == "rejected"
    assert client.get(f"/api/v1/deals/{deal_id}", headers=rep.headers).json()["stage_id"] == "proposal"
    second = client.post(f"/api/v1/deals/{deal_id}/advance", headers=rep.headers, json={"reason": "v2"}).json()
    moved = client.post(f"/api/v1/deals/approvals/{second['approval_id']}/approve", headers=manager.headers,
                        json={"comment": "good"}).json()
    assert moved["stage_id"] == "negotiation"
    last = client.get(f"/api/v1/deals/{deal_id}/history", headers=rep.headers).json()[-1]
    assert last["by_id"] == manager.id and last["approval_id"] == second["approval_id"]


def test_nobody_approves_their_own_request(session, process) -> None:  # type: ignore[no-untyped-def]
    team = make_team()
    manager = user(session, make_user(Role.manager, team_id=team).id)
    rep = user(session, make_user(Role.rep, team_id=team).id)
    deal = place(session, new_deal(session, rep, feedback={"proposal_sent": "yes"}), "proposal")
    approval = workflow.advance(session=session, user=manager, deal=deal, now=T0).approval
    assert approval is not None
    with pytest.raises(NotAllowed, match="own approval"):
        workflow.approve(session=session, user=manager, approval=approval)


def test_a_rep_of_the_team_cannot_approve(session, process) -> None:  # type: ignore[no-untyped-def]
    team = make_team()
    rep = user(session, make_user(Role.rep, team_id=team).id)
    peer = user(session, make_user(Role.rep, team_id=team).id)
    deal = place(session, new_deal(session, rep, feedback={"proposal_sent": "yes"}), "proposal")
    approval = workflow.advance(session=session, user=rep, deal=deal, now=T0).approval
    with pytest.raises(NotAllowed, match="manager of the deal's team"):
        workflow.approve(session=session, user=peer, approval=approval)  # type: ignore[arg-type]


def test_another_teams_manager_gets_404_on_the_approval(client, session, process) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    stranger = make_user(Role.manager, team_id=make_team("Team B"))
    deal_id = _create(client, rep, process, feedback={"proposal_sent": "yes"})["id"]
    from app.deals.models import Deal

    place(session, session.get(Deal, deal_id), "proposal")
    session.commit()
    approval_id = client.post(f"/api/v1/deals/{deal_id}/advance", headers=rep.headers, json={}).json()["approval_id"]
    response = client.post(f"/api/v1/deals/approvals/{approval_id}/approve", headers=stranger.headers, json={})
    assert response.status_code == 404


def test_winning_from_the_last_stage_needs_approval_and_makes_the_account_a_customer(session, process) -> None:  # type: ignore[no-untyped-def]
    team = make_team()
    rep = user(session, make_user(Role.rep, team_id=team).id)
    manager = user(session, make_user(Role.manager, team_id=team).id)
    deal = place(session, new_deal(session, rep, feedback={"contract_signed": "2026-10-20"}), "closing")
    approval = workflow.advance(session=session, user=rep, deal=deal, now=T0).approval
    workflow.approve(session=session, user=manager, approval=approval, now=T0 + timedelta(days=1))  # type: ignore[arg-type]
    from app.deals import service as deals_service

    assert deal.status == DealStatus.won
    assert deals_service.get_account(session=session, account_id=deal.account_id).customer_since == (T0 + timedelta(days=1)).date()


def test_marking_lost_needs_a_reason_and_stops_the_deal(client, process) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    deal_id = _create(client, rep, process)["id"]
    assert client.post(f"/api/v1/deals/{deal_id}/close", headers=rep.headers, json={"status": "lost"}).status_code == 422
    lost = client.post(f"/api/v1/deals/{deal_id}/close", headers=rep.headers,
                       json={"status": "lost", "reason": "budget frozen"}).json()
    assert lost["status"] == "lost" and lost["close_reason"] == "budget frozen"
    response = client.post(f"/api/v1/deals/{deal_id}/advance", headers=rep.headers, json={})
    assert response.status_code == 409 and response.json()["error"] == "DealClosed"


def test_closed_deal_cannot_be_closed_again(session, process) -> None:  # type: ignore[no-untyped-def]
    rep = user(session, make_user(Role.rep, team_id=make_team()).id)
    deal = new_deal(session, rep)
    workflow.close(session=session, user=rep, deal=deal, status=DealStatus.invalid, reason="duplicate lead")
    with pytest.raises(DealClosed):
        workflow.close(session=session, user=rep, deal=deal, status=DealStatus.lost, reason="x")


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"amount": "-5"}, "negative"),
        ({"process_id": "no-such-process"}, "Unknown sales process"),
        ({"currency": "yuan"}, "currency"),
    ],
)
def test_bad_deal_input_is_a_clear_422(client, process, body, needle) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    payload = {"name": "x", "account_name": "Acme", "process_id": process, **body}
    response = client.post("/api/v1/deals", headers=rep.headers, json=payload)
    assert response.status_code == 422 and needle in response.text


def test_a_call_sop_is_not_a_sales_process(client, session, process) -> None:  # type: ignore[no-untyped-def]
    from app.sop import service as sop_service

    sop_service.sync_shipped(session=session)
    session.commit()
    rep = make_user(Role.rep, team_id=make_team())
    response = client.post("/api/v1/deals", headers=rep.headers,
                           json={"name": "x", "account_name": "A", "process_id": "b2b-discovery"})
    assert response.status_code == 422 and "not a sales process" in response.json()["detail"]


def test_lead_conversion_creates_account_contact_and_first_stage_deal(client, process) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    deal = client.post("/api/v1/deals/convert-lead", headers=rep.headers, json={
        "company": "华科智能", "contact_name": "李部长", "contact_role": "decision_maker", "process_id": process,
    }).json()
    assert deal["source"] == "lead" and deal["stage_id"] == "lead"
    contacts = client.get(f"/api/v1/accounts/{deal['account_id']}/contacts", headers=rep.headers).json()
    assert [(c["name"], c["role"]) for c in contacts] == [("李部长", "decision_maker")]


def test_a_refused_advance_changes_nothing(session, process) -> None:  # type: ignore[no-untyped-def]
    from app.deals import service as deals_service

    rep = user(session, make_user(Role.rep, team_id=make_team()).id)
    deal = new_deal(session, rep, feedback={"contact_info": "+86 138"})
    workflow.advance(session=session, user=rep, deal=deal, now=T0 + timedelta(days=1))  # lead → qualify
    session.commit()
    session.refresh(deal)
    before = (deal.stage_id, deal.stage_entered_at, deal.last_activity_at, deal.entered_stages, deal.advanced_stages)
    with pytest.raises(MissingFeedback, match="budget_range, decision_maker"):
        workflow.advance(session=session, user=rep, deal=deal, now=T0 + timedelta(days=2))
    session.commit()
    session.refresh(deal)
    assert (deal.stage_id, deal.stage_entered_at, deal.last_activity_at, deal.entered_stages,
            deal.advanced_stages) == before
    assert [e.kind for e in deals_service.history(session=session, deal=deal)] == ["created", "advanced"]
    assert workflow.pending_approval(session=session, deal=deal) is None


@pytest.mark.parametrize("decider", ["requester", "peer rep"])
def test_a_refused_approval_leaves_the_request_pending_and_the_deal_in_place(session, process, decider) -> None:  # type: ignore[no-untyped-def]
    team = make_team()
    manager = user(session, make_user(Role.manager, team_id=team).id)
    rep = user(session, make_user(Role.rep, team_id=team).id)
    peer = user(session, make_user(Role.rep, team_id=team).id)
    requester = manager if decider == "requester" else rep
    deal = place(session, new_deal(session, rep, feedback={"proposal_sent": "yes"}), "proposal")
    approval = workflow.advance(session=session, user=requester, deal=deal, now=T0).approval
    assert approval is not None
    with pytest.raises(NotAllowed):
        workflow.approve(session=session, user=requester if decider == "requester" else peer, approval=approval)
    session.commit()
    session.refresh(approval)
    session.refresh(deal)
    assert (approval.status, approval.decided_by_id, deal.stage_id) == ("pending", None, "proposal")

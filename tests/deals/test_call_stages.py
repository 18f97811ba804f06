"""A process SOP's call is held to the stages it worked on: given for the call, or its deal's
stage when it happened (and the stage the deal entered right after)."""

from __future__ import annotations

from datetime import timedelta

from app.calls.models import Call
from app.deals import service as deals_service
from app.deals.models import EventKind
from app.users.models import Role
from tests.deals.conftest import FIVE, T0
from tests.deals.helpers import new_deal, user, walk
from tests.factories import make_team, make_user
from tests.web.helpers import log_in

CALL = "Rep: Hi, this is Sam from Acme, thanks for taking my call.\nCustomer: Hello Sam.\n" \
       "Rep: What budget range are you working with this year?\nCustomer: About half a million.\n"


def test_the_stages_a_call_worked_on_come_from_the_deals_history(session, process) -> None:  # type: ignore[no-untyped-def]
    rep = user(session, make_user(Role.rep, team_id=make_team()).id)
    deal = walk(session, new_deal(session, rep), rep, 2, start=T0, days=10)  # qualify at +10, proposal at +20

    def at(days: float) -> list[str]:
        return deals_service.stages_at_call(session=session, deal=deal, at=T0 + timedelta(days=days))

    assert at(5) == ["lead"]
    assert at(9) == ["lead", "qualify"]  # the deal moved on the day after this call
    assert at(-3) == ["lead"]  # before the deal existed: its first stage
    assert at(25) == ["proposal"]


def _upload(client, person, **form) -> int:  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/calls", headers=person.headers, files={"file": ("c.txt", CALL.encode())},
                           data={"sop_id": FIVE, **form})
    assert response.status_code == 202, response.text
    return response.json()["id"]


def _match(client, person, call_id: int) -> dict:  # type: ignore[no-untyped-def, type-arg]
    response = client.get(f"/api/v1/calls/{call_id}/sop", headers=person.headers)
    assert response.status_code == 200, response.text
    return response.json()["result"]


def test_a_deals_call_is_matched_within_the_deals_stage_and_again_when_the_deal_moves_on(  # type: ignore[no-untyped-def]
    client, session, process
) -> None:
    rep = make_user(Role.rep, team_id=make_team())
    deal = new_deal(session, user(session, rep.id), ref="CRM-7")
    session.commit()
    call_id = _upload(client, rep, deal_ref="CRM-7", occurred_at=(T0 + timedelta(days=1)).isoformat())
    result = _match(client, rep, call_id)
    assert result["match"]["stages_given"] == ["lead"]
    assert any(f"deal {deal.id}'s stage when the call happened" in n for n in result["notes"])

    # The rep moves the deal on the day after the call: the call worked on that stage too.
    deals_service.record_event(session=session, deal=session.merge(deal), kind=EventKind.advanced, from_stage="lead",
                               to_stage="qualify", by=None, at=T0 + timedelta(days=2))
    session.commit()
    again = _match(client, rep, call_id)
    assert again["match"]["stages_given"] == ["lead", "qualify"]
    assert any("and the next it entered" in n for n in again["notes"])


def test_linking_a_call_to_a_deal_matches_it_again_within_the_deals_stage(client, session, process) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    deal = new_deal(session, user(session, rep.id))
    session.commit()
    call_id = _upload(client, rep, occurred_at=(T0 + timedelta(days=1)).isoformat())
    assert _match(client, rep, call_id)["match"]["stages_given"] == []
    assert client.post(f"/api/v1/deals/{deal.id}/calls/{call_id}", headers=rep.headers).status_code == 200
    assert _match(client, rep, call_id)["match"]["stages_given"] == ["lead"]


def test_stages_given_at_upload_win_over_the_deals(client, session, process) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    new_deal(session, user(session, rep.id), ref="CRM-8")
    session.commit()
    call_id = _upload(client, rep, deal_ref="CRM-8", stages="qualify, proposal")
    assert session.get(Call, call_id).sop_stages == ["qualify", "proposal"]
    result = _match(client, rep, call_id)
    assert result["match"]["stages_given"] == ["qualify", "proposal"]
    assert any("given for this call" in n for n in result["notes"])
    log_in(client, rep)
    page = client.get(f"/calls/{call_id}")
    assert page.status_code == 200 and "Notes on this match" in page.text
    assert "The call&#39;s stages: qualify, proposal (given for this call)" in page.text


def test_unknown_stages_are_refused_at_upload_and_at_rematch_with_the_sops_stages(client, session, process) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    refused = client.post("/api/v1/calls", headers=rep.headers, files={"file": ("c.txt", CALL.encode())},
                          data={"sop_id": FIVE, "stages": "lead,closed-won"})
    assert refused.status_code == 422
    assert "closed-won" in refused.text and "lead, qualify, proposal" in refused.text
    assert session.query(Call).count() == 0  # nothing half-written
    call_id = _upload(client, rep)
    bad = client.post(f"/api/v1/calls/{call_id}/rematch?stages=nope", headers=rep.headers)
    assert bad.status_code == 422 and "nope" in bad.text


def test_rematch_with_stages_sets_them_and_an_empty_value_clears_them(client, session, process) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    call_id = _upload(client, rep)
    assert client.post(f"/api/v1/calls/{call_id}/rematch?stages=negotiation", headers=rep.headers).status_code == 202
    assert _match(client, rep, call_id)["match"]["stages_given"] == ["negotiation"]
    assert client.post(f"/api/v1/calls/{call_id}/rematch?stages=", headers=rep.headers).status_code == 202
    session.expire_all()
    assert session.get(Call, call_id).sop_stages is None
    assert _match(client, rep, call_id)["match"]["stages_given"] == []


def test_stages_of_another_sop_are_left_out_with_a_note_when_the_sop_comes_from_the_team(  # type: ignore[no-untyped-def]
    client, session, process
) -> None:
    from app.users.models import Team

    team_id = make_team()
    session.get(Team, team_id).default_sop_id = FIVE
    session.commit()
    rep = make_user(Role.rep, team_id=team_id)
    response = client.post("/api/v1/calls", headers=rep.headers, files={"file": ("c.txt", CALL.encode())},
                           data={"stages": "qualify,stage-of-another-sop"})
    assert response.status_code == 202, response.text  # no SOP named: checked when matched
    result = _match(client, rep, response.json()["id"])
    assert result["match"]["stages_given"] == ["qualify"]
    assert any("ignored: stage-of-another-sop" in n for n in result["notes"])

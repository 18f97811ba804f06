"""Calls link to deals (by external id at upload, or later) and get an outcome from the stage history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.calls.models import Call
from app.deals import service as deals_service
from app.deals.outcomes import Outcome
from app.users.models import Role
from tests.deals.conftest import T0
from tests.deals.helpers import new_deal, user, walk
from tests.factories import make_team, make_user

PLAIN = "Rep: Hi Dana, this is Sam.\nCustomer: Hello.\nRep: What is your budget?\nCustomer: About a million.\n"


def _upload(client, person, text: str = PLAIN, **form) -> int:  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/calls", headers=person.headers, files={"file": ("c.txt", text.encode())}, data=form)
    assert response.status_code == 202, response.text
    return response.json()["id"]


def test_a_call_uploaded_with_the_deals_external_id_is_linked(client, session, process) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    deal = new_deal(session, user(session, rep.id), ref="CRM-9")
    session.commit()
    call_id = _upload(client, rep, deal_ref="CRM-9")
    calls = client.get(f"/api/v1/deals/{deal.id}/calls", headers=rep.headers).json()
    assert [c["id"] for c in calls] == [call_id]


def test_a_call_can_be_linked_later_through_the_endpoint(client, session, process) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    deal = new_deal(session, user(session, rep.id))
    session.commit()
    call_id = _upload(client, rep)
    linked = client.post(f"/api/v1/deals/{deal.id}/calls/{call_id}", headers=rep.headers)
    assert linked.status_code == 200, linked.text
    assert [c["id"] for c in client.get(f"/api/v1/deals/{deal.id}/calls", headers=rep.headers).json()] == [call_id]


def test_linking_another_reps_call_is_404(client, session, process) -> None:  # type: ignore[no-untyped-def]
    team = make_team()
    rep, peer = make_user(Role.rep, team_id=team), make_user(Role.rep, team_id=team)
    deal = new_deal(session, user(session, rep.id))
    session.commit()
    call_id = _upload(client, peer)
    assert client.post(f"/api/v1/deals/{deal.id}/calls/{call_id}", headers=rep.headers).status_code == 404


def _call(session, at: datetime, ref: str | None = None) -> Call:  # type: ignore[no-untyped-def]
    call = Call(sha256=f"{at.timestamp()}{ref}".ljust(64, "0")[:64], source_kind="transcript", source_format="txt",
                media_path="x", size_bytes=1, occurred_at=at, external_deal_id=ref)
    session.add(call)
    session.flush()
    return call


def test_call_outcome_follows_the_history_after_the_call(session, process) -> None:  # type: ignore[no-untyped-def]
    rep = user(session, make_user(Role.rep, team_id=make_team()).id)
    deal = walk(session, new_deal(session, rep, ref="D1"), rep, 2, start=T0, days=5)  # advances at +5, +10
    late = T0 + timedelta(days=60)
    assert deals_service.call_outcome(session=session, call=_call(session, T0 + timedelta(days=1), "D1"), now=late) == Outcome.advanced
    explained = deals_service.explain_call_outcome(session=session, call=_call(session, T0 + timedelta(days=11), "D1"), now=late)
    assert explained.outcome == Outcome.stalled and explained.window_days == 14  # qualify's expected_days
    pending = deals_service.call_outcome(session=session, call=_call(session, T0 + timedelta(days=12), "D1"),
                                         now=T0 + timedelta(days=13))
    assert pending == Outcome.pending
    walk(session, deal, rep, 0, start=T0 + timedelta(days=12), days=1, end="won")
    assert deals_service.call_outcome(session=session, call=_call(session, T0 + timedelta(days=12, hours=1), "D1"), now=late) == Outcome.won


def test_a_deal_lost_after_the_call_makes_it_lost_and_no_deal_is_unlinked(session, process) -> None:  # type: ignore[no-untyped-def]
    rep = user(session, make_user(Role.rep, team_id=make_team()).id)
    walk(session, new_deal(session, rep, ref="D2"), rep, 0, start=T0, days=3, end="lost")
    now = datetime(2027, 1, 1, tzinfo=UTC)
    assert deals_service.call_outcome(session=session, call=_call(session, T0 + timedelta(days=1), "D2"), now=now) == Outcome.lost
    assert deals_service.call_outcome(session=session, call=_call(session, T0, None), now=now) == Outcome.unlinked

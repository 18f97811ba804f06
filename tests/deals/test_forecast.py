"""The weighted forecast: the worked example to the cent, and the gap to target."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from app.deals import analytics
from app.deals.schemas import TargetIn
from app.users.models import Role
from tests.deals.helpers import new_deal, place, user
from tests.factories import make_team, make_user

HOLDINGS = {"lead": 65, "qualify": 34, "proposal": 27, "negotiation": 15, "closing": 6}


def _fill(session, owner) -> None:  # type: ignore[no-untyped-def]
    for stage_id, count in HOLDINGS.items():
        for i in range(count):
            deal = new_deal(session, owner, name=f"{stage_id}-{i}", expected_close_date=date(2026, 11, 15))
            place(session, deal, stage_id)
    session.commit()


def test_weighted_forecast_reproduces_26_850_000_exactly(session, process) -> None:  # type: ignore[no-untyped-def]
    rep = user(session, make_user(Role.rep, team_id=make_team()).id)
    _fill(session, rep)
    scope = analytics.make_scope(session=session, user=rep, process_id=process, period="2026-Q4")
    result = analytics.forecast(session=session, user=rep, scope=scope)
    assert [(l.stage_id, l.deals) for l in result.lines] == list(HOLDINGS.items())
    assert result.totals[0].weighted == Decimal("26850000.00")
    assert "32500000.00 × 0.1" in result.totals[0].formula


def test_forecast_api_reports_gap_to_the_periods_target(client, session, process) -> None:  # type: ignore[no-untyped-def]
    team = make_team()
    rep, manager = make_user(Role.rep, team_id=team), make_user(Role.manager, team_id=team)
    _fill(session, user(session, rep.id))
    target = client.put("/api/v1/pipeline/targets", headers=manager.headers,
                        json={"team_id": team, "period": "2026-Q4", "value": "30000000"})
    assert target.status_code == 200, target.text
    body = client.get(f"/api/v1/pipeline/forecast?process_id={process}&team_id={team}&period=2026-Q4",
                      headers=manager.headers).json()
    total = body["totals"][0]
    assert total["weighted"] == "26850000.00" and total["target"] == "30000000.00"
    assert total["gap"] == "3150000.00"
    assert "gap = 30000000.00" in total["formula"]


def test_deals_closing_outside_the_period_are_left_out(session, process) -> None:  # type: ignore[no-untyped-def]
    rep = user(session, make_user(Role.rep, team_id=make_team()).id)
    new_deal(session, rep, expected_close_date=date(2027, 2, 1))
    inside = new_deal(session, rep, expected_close_date=date(2026, 12, 31), amount="1000")
    place(session, inside, "qualify")
    scope = analytics.make_scope(session=session, user=rep, process_id=process, period="2026-Q4")
    result = analytics.forecast(session=session, user=rep, scope=scope)
    assert result.totals[0].weighted == Decimal("400.00")


def test_setting_a_target_needs_a_manager(session, process) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from app.deals.exceptions import NotAllowed

    rep = user(session, make_user(Role.rep, team_id=make_team()).id)
    with pytest.raises(NotAllowed):
        analytics.set_target(session=session, user=rep, target_in=TargetIn(period="2026-Q4", value=Decimal(1)))


def test_a_reps_quota_gives_the_gap_of_their_own_forecast(client, session, process) -> None:  # type: ignore[no-untyped-def]
    team = make_team()
    rep, manager = make_user(Role.rep, team_id=team), make_user(Role.manager, team_id=team)
    _fill(session, user(session, rep.id))
    quota = client.put("/api/v1/pipeline/targets", headers=manager.headers,
                       json={"team_id": team, "rep_id": rep.id, "period": "2026-Q4", "value": "25000000"})
    assert quota.status_code == 200, quota.text
    body = client.get(f"/api/v1/pipeline/forecast?process_id={process}&rep_id={rep.id}&period=2026-Q4",
                      headers=rep.headers).json()
    total = body["totals"][0]
    assert (total["target"], total["gap"]) == ("25000000.00", "-1850000.00")  # ahead of quota

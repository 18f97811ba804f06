"""Funnel with sales holes, stage conversion with the weakest transition, win rates, dwell and cycle."""

from __future__ import annotations

from decimal import Decimal

from app.deals import analytics
from app.deals.schemas import TargetIn
from app.users.models import Role
from tests.deals.conftest import T0
from tests.deals.helpers import new_deal, place, user, walk
from tests.factories import make_team, make_user


def _history(session, rep) -> None:  # type: ignore[no-untyped-def]
    """20 deals: 12 reach qualify, 9 proposal, 3 negotiation, 2 closing; 1 won, 4 lost."""
    reach = [4] * 2 + [3] * 1 + [2] * 6 + [1] * 3 + [0] * 8  # stages advanced per deal
    ends = {0: "won", 1: "lost", 3: "lost", 9: "lost", 19: "lost"}
    for i, steps in enumerate(reach):
        deal = new_deal(session, rep, name=f"d{i}", at=T0)
        walk(session, deal, rep, steps, start=T0, days=10, end=ends.get(i))
    session.commit()


def test_conversion_flags_the_weakest_transition(session, process) -> None:  # type: ignore[no-untyped-def]
    rep = user(session, make_user(Role.rep, team_id=make_team()).id)
    _history(session, rep)
    scope = analytics.make_scope(session=session, user=rep, process_id=process)
    result = analytics.conversion(session=session, user=rep, scope=scope, min_sample=3)
    rates = {t.from_stage: (t.advanced, t.entered) for t in result.transitions}
    assert rates["lead"] == (12, 20) and rates["qualify"] == (9, 12) and rates["proposal"] == (3, 9)
    assert result.weakest == "proposal → negotiation"
    assert [t.from_stage for t in result.transitions if t.weakest] == ["proposal"]
    assert next(t for t in result.transitions if t.from_stage == "proposal").formula == "3 / 9 = 33.3%"


def test_small_samples_are_not_called_weakest(session, process) -> None:  # type: ignore[no-untyped-def]
    rep = user(session, make_user(Role.rep, team_id=make_team()).id)
    _history(session, rep)
    scope = analytics.make_scope(session=session, user=rep, process_id=process)
    result = analytics.conversion(session=session, user=rep, scope=scope, min_sample=10)
    assert result.weakest == "lead → qualify"  # 60 %; proposal (33 %) has only 9 entries


def test_velocity_puts_observed_win_rate_next_to_configured(session, process) -> None:  # type: ignore[no-untyped-def]
    rep = user(session, make_user(Role.rep, team_id=make_team()).id)
    _history(session, rep)
    scope = analytics.make_scope(session=session, user=rep, process_id=process)
    result = analytics.velocity(session=session, user=rep, scope=scope)
    lead = result.stages[0]
    assert (lead.won, lead.lost, lead.configured_win_probability) == (1, 4, Decimal("0.1"))
    assert lead.observed_win_rate == 0.2
    closing = result.stages[4]
    assert (closing.won, closing.lost, closing.observed_win_rate) == (1, 1, 0.5)
    assert lead.average_dwell_days == 10.0
    assert result.average_cycle_days == 50.0 and result.cycle_sample == 1


def test_funnel_counts_open_deals_and_flags_sales_holes(session, process) -> None:  # type: ignore[no-untyped-def]
    team = make_team()
    rep = user(session, make_user(Role.rep, team_id=team).id)
    manager = user(session, make_user(Role.manager, team_id=team).id)
    for stage_id, count in {"lead": 30, "qualify": 5, "proposal": 8}.items():
        for i in range(count):
            place(session, new_deal(session, rep, name=f"{stage_id}{i}", amount="100000"), stage_id)
    analytics.set_target(session=session, user=manager,
                         target_in=TargetIn(team_id=team, period="2027-Q1", value=Decimal(400000)))
    scope = analytics.make_scope(session=session, user=manager, process_id=process, team_id=team, period="2026-Q4")
    result = analytics.funnel(session=session, user=manager, scope=scope)
    stages = {s.stage_id: s for s in result.stages}
    assert result.next_period == "2027-Q1" and result.next_target == Decimal("400000.00")
    assert stages["lead"].deals == 30 and stages["lead"].amount == Decimal("3000000.00")
    # needed = ceil(400000 / (100000 × p)): lead 40, qualify 10, proposal 7
    assert [stages[k].needed_deals for k in ("lead", "qualify", "proposal")] == [40, 10, 7]
    assert stages["lead"].hole and stages["qualify"].hole and not stages["proposal"].hole
    assert stages["proposal"].widens and not stages["qualify"].widens
    assert "ceil(400000.00 / (100000.00 × 0.6)) = 7" in stages["proposal"].formula

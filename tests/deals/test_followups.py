"""The 1-15-30 rule, reminders, effective new customers and the 80/20 activity share, with fixed dates."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from app.deals import followups, workflow
from app.deals.models import DealStatus, IntentDecision
from app.deals.periods import parse_period
from app.deals.schemas import DealUpdate
from app.users.models import Role
from tests.deals.conftest import T0
from tests.deals.helpers import new_deal, user, walk
from tests.factories import make_team, make_user


def test_fifteen_days_without_follow_up_is_flagged(session, process) -> None:  # type: ignore[no-untyped-def]
    rep = user(session, make_user(Role.rep, team_id=make_team()).id)
    quiet = new_deal(session, rep, name="quiet")
    busy = new_deal(session, rep, name="busy")
    workflow.update_deal(session=session, user=rep, deal=busy, deal_in=DealUpdate(feedback={"contact_info": "x"}),
                         now=T0 + timedelta(days=10))
    board = followups.board(session=session, user=rep, now=T0 + timedelta(days=16))
    assert [f.deal_id for f in board.no_followup] == [quiet.id]
    assert board.no_followup[0].days == 16


def test_thirty_days_without_progress_needs_an_intent_until_recorded(session, process) -> None:  # type: ignore[no-untyped-def]
    rep = user(session, make_user(Role.rep, team_id=make_team()).id)
    deal = new_deal(session, rep)
    stuck_at = T0 + timedelta(days=31)
    assert [f.deal_id for f in followups.board(session=session, user=rep, now=stuck_at).intent_required] == [deal.id]
    assert [f.deal_id for f in followups.board(session=session, user=rep, now=stuck_at + timedelta(days=5)).intent_required] == [deal.id]
    workflow.record_intent(session=session, user=rep, deal=deal, decision=IntentDecision.keep,
                           reason="tender opens in January", now=stuck_at + timedelta(days=6))
    assert followups.board(session=session, user=rep, now=stuck_at + timedelta(days=7)).intent_required == []


def test_dropping_a_deal_at_the_review_marks_it_lost(session, process) -> None:  # type: ignore[no-untyped-def]
    rep = user(session, make_user(Role.rep, team_id=make_team()).id)
    deal = new_deal(session, rep)
    workflow.record_intent(session=session, user=rep, deal=deal, decision=IntentDecision.drop,
                           reason="no budget this year", now=T0 + timedelta(days=31))
    assert deal.status == DealStatus.lost and "no budget" in (deal.close_reason or "")


def test_weekly_review_lists_what_happened_this_week(session, process) -> None:  # type: ignore[no-untyped-def]
    rep = user(session, make_user(Role.rep, team_id=make_team()).id)
    moving = walk(session, new_deal(session, rep, name="moving"), rep, 1, start=T0, days=2)
    idle = new_deal(session, rep, name="idle", at=T0 - timedelta(days=20))
    review = followups.weekly_review(session=session, rep=rep, week=parse_period("2026-W41"), now=T0 + timedelta(days=4))
    items = {i.deal_id: i for i in review.items}
    assert review.week == "2026-W41" and set(items) == {moving.id, idle.id}
    assert items[moving.id].stage_changes == ["created: - → lead", "advanced: lead → qualify"]
    assert items[idle.id].stage_changes == [] and "no_followup_15d" in items[idle.id].flags


def test_reminder_when_a_deal_outstays_its_stage(session, process) -> None:  # type: ignore[no-untyped-def]
    rep = user(session, make_user(Role.rep, team_id=make_team()).id)
    deal = new_deal(session, rep)  # lead: expected 10 days
    found = followups.reminders(session=session, user=rep, now=T0 + timedelta(days=12))
    assert [(r.deal_id, r.kind, r.limit_days) for r in found] == [(deal.id, "stage_overdue", 10)]


def test_reminder_when_a_deal_is_older_than_the_average_cycle(session, process) -> None:  # type: ignore[no-untyped-def]
    rep = user(session, make_user(Role.rep, team_id=make_team()).id)
    walk(session, new_deal(session, rep, name="won"), rep, 1, start=T0, days=3, end="won")  # cycle 6 days
    young = new_deal(session, rep, name="young", at=T0 + timedelta(days=20))
    found = followups.reminders(session=session, user=rep, now=T0 + timedelta(days=27))
    assert [(r.deal_id, r.kind, r.limit_days) for r in found] == [(young.id, "cycle_overdue", 6.0)]


def test_effective_new_customers_counted_per_day_against_the_target(session, process) -> None:  # type: ignore[no-untyped-def]
    rep = user(session, make_user(Role.rep, team_id=make_team()).id)
    for i, day in enumerate((0, 0, 2)):
        deal = new_deal(session, rep, name=f"n{i}", account=f"New {i}")
        workflow.update_deal(session=session, user=rep, deal=deal, now=T0 + timedelta(days=day),
                             deal_in=DealUpdate(need_confirmed=True, budget_confirmed=True, signer_confirmed=True))
    half = new_deal(session, rep, name="half", account="Half")
    workflow.update_deal(session=session, user=rep, deal=half, deal_in=DealUpdate(need_confirmed=True), now=T0)
    result = followups.effective_new(session=session, rep=rep, period=parse_period("2026-W41"),
                                     target_per_week=Decimal(3))
    assert result.per_day == {"2026-10-05": 2, "2026-10-07": 1} and result.total == 3 and result.met


def test_activity_share_on_new_versus_existing_accounts(session, process) -> None:  # type: ignore[no-untyped-def]
    from app.deals import service as deals_service
    from app.deals.schemas import AccountCreate

    rep = user(session, make_user(Role.rep, team_id=make_team()).id)
    old = deals_service.create_account(session=session, user=rep,
                                       account_in=AccountCreate(name="Old Co", customer_since=T0.date() - timedelta(days=400)))
    for i in range(3):
        new_deal(session, rep, name=f"n{i}", account=f"New {i}")
    existing = new_deal(session, rep, name="upsell", account_id=None, account="Old Co")
    assert existing.account_id == old.id and existing.existing_account
    result = followups.activity_mix(session=session, rep=rep, period=parse_period("2026-W41"))
    assert (result.new_accounts, result.existing_accounts) == (3, 1)
    assert result.new_share == 0.75 and result.on_target is False


def test_effective_new_customers_use_the_teams_configured_weekly_target(session, process) -> None:  # type: ignore[no-untyped-def]
    from app.deals import analytics
    from app.deals.models import TargetMetric
    from app.deals.schemas import TargetIn

    team = make_team()
    rep = user(session, make_user(Role.rep, team_id=team).id)
    manager = user(session, make_user(Role.manager, team_id=team).id)
    week = parse_period("2026-W41")
    assert followups.effective_new(session=session, rep=rep, period=week).target_per_week == Decimal(5)  # default
    analytics.set_target(session=session, user=manager, target_in=TargetIn(
        team_id=team, period="2026-Q4", metric=TargetMetric.effective_new_customers, value=Decimal(2)))
    deal = new_deal(session, rep, account="New Co")
    workflow.update_deal(session=session, user=rep, deal=deal, now=T0,
                         deal_in=DealUpdate(need_confirmed=True, budget_confirmed=True, signer_confirmed=True))
    result = followups.effective_new(session=session, rep=rep, period=week)
    assert (result.target_per_week, result.target_for_period, result.total, result.met) == (
        Decimal(2), Decimal("2.0"), 1, False)

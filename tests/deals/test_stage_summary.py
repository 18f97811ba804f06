"""The stored per-deal stage summary says what the stage history says, on every write path, and the
analytics read from it answer exactly what the history gives by the definitions."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.deals import analytics, importer, stage_summary, workflow
from app.deals import service as deals_service
from app.deals.models import Deal, DealStageSummary, DealStatus, EventKind
from app.users.models import Role, User
from tests.deals.conftest import T0
from tests.deals.helpers import STAGES, new_deal, place, user
from tests.factories import make_team, make_user

DAY = timedelta(days=1)
FEEDBACK = {"contact_info": "+86 138", "budget_range": "1M", "decision_maker": "CFO", "proposal_sent": "v2"}


def _back(session: Session, deal: Deal, by: User, to: str, at: datetime) -> None:
    """Send a deal back a stage (a CRM correction): an advance event to an earlier stage."""
    deals_service.record_event(session=session, deal=deal, kind=EventKind.advanced, from_stage=deal.stage_id,
                               to_stage=to, by=by, at=at, reason="sent back: customer reopened the budget")
    deal.stage_id, deal.stage_entered_at = to, at


def _moves(session: Session, rep: User, manager: User) -> Deal:
    """lead → qualify → back to lead → qualify → proposal → (approval) negotiation → lost."""
    deal = new_deal(session, rep, feedback=FEEDBACK)
    workflow.advance(session=session, user=rep, deal=deal, now=T0 + 2 * DAY)
    _back(session, deal, rep, "lead", T0 + 5 * DAY)
    workflow.advance(session=session, user=rep, deal=deal, now=T0 + 6 * DAY)
    workflow.advance(session=session, user=rep, deal=deal, now=T0 + 10 * DAY)
    approval = workflow.advance(session=session, user=rep, deal=deal, now=T0 + 11 * DAY).approval
    assert approval is not None
    workflow.approve(session=session, user=manager, approval=approval, now=T0 + 12 * DAY)
    workflow.close(session=session, user=rep, deal=deal, status=DealStatus.lost, reason="budget frozen",
                   now=T0 + 20 * DAY)
    session.commit()
    return deal


def _people(session: Session) -> tuple[User, User]:
    team = make_team()
    return user(session, make_user(Role.rep, team_id=team).id), user(session, make_user(Role.manager, team_id=team).id)


def _row(stage: str, entries: int, first: float | None, out: int, left: float | None, stays: int,
         days: float) -> dict[str, object]:
    return {"deal_id": 0, "stage_id": stage, "entries": entries,
            "first_entered_at": T0 + first * DAY if first is not None else None, "advanced_out": out,
            "last_left_at": T0 + left * DAY if left is not None else None, "stays": stays,
            "dwell_seconds": days * 86400.0}


def _all_rows(session: Session) -> list[tuple[object, ...]]:
    """Every summary row, then every deal's reach keys."""
    rows = session.execute(select(*DealStageSummary.__table__.columns)
                           .order_by(DealStageSummary.deal_id, DealStageSummary.stage_id))
    keys = session.execute(select(Deal.id, Deal.entered_stages, Deal.advanced_stages).order_by(Deal.id))
    return [tuple(r) for r in rows] + [(*k, "keys", None, None, None, 0.0) for k in keys]


def test_summary_follows_every_move_including_a_step_back(session, process) -> None:  # type: ignore[no-untyped-def]
    rep, manager = _people(session)
    deal = _moves(session, rep, manager)
    expected = [_row("lead", 2, 0, 2, 6, 2, 2 + 1), _row("negotiation", 1, 12, 0, None, 1, 8),
                _row("proposal", 1, 10, 1, 12, 1, 2), _row("qualify", 2, 2, 2, 10, 2, 3 + 4)]
    for row in expected:
        row["deal_id"] = deal.id
    assert stage_summary.stored(session=session, deal_id=deal.id) == expected
    history = stage_summary.history_of(session=session, deal_id=deal.id)
    assert sorted(stage_summary.summarize(deal.id, history), key=lambda r: r["stage_id"]) == expected
    session.refresh(deal)
    assert (deal.entered_stages, deal.advanced_stages) == ("lead negotiation proposal qualify", "lead proposal qualify")


def test_import_summarises_the_stage_the_csv_names(session, process) -> None:  # type: ignore[no-untyped-def]
    rep, _ = _people(session)
    csv = (b"deal id,account,stage,status,created,lost reason\n"
           b"S-1,Acme,proposal,open,2026-09-01,\nS-2,Globex,negotiation,lost,2026-09-01,price\n")
    result = importer.import_csv(session=session, user=rep, data=csv, process_id=process, now=T0)
    assert result.imported == 2
    open_id, lost_id = result.deal_ids
    opened = datetime(2026, 9, 1, tzinfo=UTC)
    assert [(r["stage_id"], r["entries"], r["first_entered_at"], r["stays"])
            for r in stage_summary.stored(session=session, deal_id=open_id)] == [("proposal", 1, opened, 0)]
    [lost] = stage_summary.stored(session=session, deal_id=lost_id)
    assert (lost["stage_id"], lost["stays"], lost["dwell_seconds"], lost["advanced_out"]) == (
        "negotiation", 1, (T0 - opened).total_seconds(), 0)
    keys = session.execute(select(Deal.entered_stages, Deal.advanced_stages).order_by(Deal.id)).all()
    assert [tuple(k) for k in keys] == [("proposal", ""), ("negotiation", "")]


def test_deleting_a_deal_deletes_its_summary(session, process) -> None:  # type: ignore[no-untyped-def]
    rep, manager = _people(session)
    deal = _moves(session, rep, manager)
    deals_service.delete_deal(session=session, user=manager, deal=deal)
    session.commit()
    assert session.scalar(select(func.count()).select_from(DealStageSummary)) == 0


def _random_histories(session: Session, rep: User, n: int = 60, seed: int = 11) -> None:
    """Deals that move forward and back at random, some placed without history, some closed."""
    rng = random.Random(seed)
    for i in range(n):
        at = T0 + timedelta(hours=i)
        deal = new_deal(session, rep, name=f"r{i}", at=at)
        if rng.random() < 0.15:
            place(session, deal, rng.choice(STAGES[1:]))  # an import-like jump with no event into it
        for _ in range(rng.randrange(0, 9)):
            at += timedelta(days=rng.uniform(0.5, 12))
            index = STAGES.index(deal.stage_id)
            if index > 0 and rng.random() < 0.25:
                _back(session, deal, rep, STAGES[index - 1], at)
            elif index + 1 < len(STAGES):
                nxt = STAGES[index + 1]
                deals_service.record_event(session=session, deal=deal, kind=EventKind.advanced,
                                           from_stage=deal.stage_id, to_stage=nxt, by=rep, at=at)
                deal.stage_id = nxt
        end = rng.choice([None, None, "won", "lost", "invalid"])
        if end is not None:
            deal.status = DealStatus(end)
            deals_service.record_event(session=session, deal=deal, kind=EventKind(end), from_stage=deal.stage_id,
                                       to_stage=None, by=rep, at=at + DAY)
    session.commit()


def _reference(session: Session, owner: User) -> tuple[dict[str, Counter[str]], Counter[str], Counter[str],
                                                       dict[str, float]]:
    """Conversion and dwell by their definitions, walking every event of every deal."""
    entered: dict[str, Counter[str]] = defaultdict(Counter)
    left: Counter[str] = Counter()
    stays: Counter[str] = Counter()
    seconds: dict[str, float] = defaultdict(float)
    for deal in session.scalars(select(Deal).where(Deal.owner_id == owner.id)):
        events = deals_service.history(session=session, deal=deal)
        for stage_id in {e.to_stage for e in events if e.to_stage}:
            entered[stage_id][deal.status] += 1
        left.update({e.from_stage for e in events if e.kind in ("advanced", "won") and e.from_stage})
        for event, nxt in pairwise(events):
            if event.to_stage:
                stays[event.to_stage] += 1
                seconds[event.to_stage] += (nxt.at - event.at).total_seconds()
    return entered, left, stays, seconds


def test_conversion_and_velocity_match_the_history_walked_event_by_event(session, process) -> None:  # type: ignore[no-untyped-def]
    rep, _ = _people(session)
    _random_histories(session, rep)
    entered, left, stays, seconds = _reference(session, rep)
    scope = analytics.make_scope(session=session, user=rep, process_id=process)
    conversion = analytics.conversion(session=session, user=rep, scope=scope)
    assert [(t.from_stage, t.entered, t.advanced) for t in conversion.transitions] == [
        (s, sum(entered[s].values()), left[s]) for s in STAGES]
    assert sum(left.values()) > 60 and any(entered[s]["won"] for s in STAGES)
    velocity = analytics.velocity(session=session, user=rep, scope=scope)
    assert [(v.stage_id, v.ever_in_stage, v.won, v.lost, v.dwell_sample, v.average_dwell_days)
            for v in velocity.stages] == [
        (s, sum(entered[s].values()), entered[s]["won"], entered[s]["lost"], stays[s],
         round(seconds[s] / 86400 / stays[s], 2) if stays[s] else None) for s in STAGES]


def _down_and_up(url: str) -> None:
    """Back to the initial schema (drops the summary), then up again (recreates and backfills it)."""
    from alembic import command

    from app.migrations_runner import alembic_config

    command.downgrade(alembic_config(url), "20261125_0001")
    command.upgrade(alembic_config(url), "head")


def test_the_migration_backfills_what_the_services_maintain(session, process, env: Path) -> None:  # type: ignore[no-untyped-def]
    from alembic import command

    from app.config import get_settings
    from app.migrations_runner import alembic_config

    rep, manager = _people(session)
    _moves(session, rep, manager)
    _random_histories(session, rep, n=25)
    maintained = _all_rows(session)
    session.close()
    url = get_settings().database_url
    command.stamp(alembic_config(url), "head")  # the test database was built from the models at head
    _down_and_up(url)
    with Session(bind=session.get_bind()) as fresh:
        backfilled = _all_rows(fresh)
    assert len(maintained) > 60
    assert [r[:7] for r in backfilled] == [r[:7] for r in maintained]
    # julianday (SQLite) is accurate to the millisecond; Python's timedelta to the microsecond.
    assert [r[7] for r in backfilled] == pytest.approx([r[7] for r in maintained], abs=0.01)


def test_the_migration_backfills_on_postgresql(tmp_path: Path) -> None:
    import secrets

    import psycopg
    from sqlalchemy import create_engine

    from app.migrations_runner import upgrade_to_head
    from app.sop import service as sop_service
    from app.users import service as users_service
    from app.users.schemas import UserCreate
    from tests.deals.conftest import FIXTURES

    admin_url = "postgresql://postgres@127.0.0.1:5432/postgres"
    name = f"talktrack_test_summary_{secrets.token_hex(4)}"
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    engine = create_engine(url)
    try:
        upgrade_to_head(url)
        with Session(engine) as session:
            sop_service.save_sop(session=session, text=(FIXTURES / "five-stage.en.yaml").read_text(encoding="utf-8"),
                                 source="five-stage.en.yaml")
            rep = users_service.create_user(session=session, user_in=UserCreate(
                email="rep@example.com", name="Rep", role=Role.rep, password="correct horse battery"))
            _random_histories(session, rep, n=20)
            maintained = _all_rows(session)
        _down_and_up(url)
        with Session(engine) as session:
            backfilled = _all_rows(session)
    finally:
        engine.dispose()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    assert len(maintained) > 20
    assert [r[:7] for r in backfilled] == [r[:7] for r in maintained]
    assert [r[7] for r in backfilled] == pytest.approx([r[7] for r in maintained], abs=0.01)

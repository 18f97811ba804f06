"""The demo deals (demo_data/deal_histories.json replayed through the services) give every pipeline
analytic, follow-up list and call outcome something meaningful to show, as of the corpus's anchor."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "demo_data"
HISTORIES = DEMO / "deal_histories.json"
ANCHOR = datetime.fromisoformat(json.loads(HISTORIES.read_text(encoding="utf-8"))["anchor"])


def _sidecars() -> list[dict[str, str]]:
    """Every demo call's metadata (hand-written and generated), with its file name."""
    found = []
    for side in sorted(DEMO.rglob("*.meta.json")):
        if side.parent.name == "audio_scripts":
            continue
        found.append({**json.loads(side.read_text(encoding="utf-8")), "file": side.name.removesuffix(".meta.json")})
    return found


def _add_calls(session: Session) -> None:
    """The demo calls as rows (no media, no pipeline): what deal links and outcomes read."""
    from app.calls.models import Call, CallStatus, SourceKind
    from app.users.models import User

    reps = {u.email: u for u in session.scalars(select(User))}
    for meta in _sidecars():
        rep = reps[meta["rep"]]
        session.add(Call(sha256=hashlib.sha256(meta["file"].encode()).hexdigest(), title=meta["title"],
                         source_kind=SourceKind.transcript, source_format="txt", original_filename=meta["file"],
                         media_path=meta["file"], size_bytes=1, rep_id=rep.id, team_id=min(rep.team_ids()),
                         occurred_at=datetime.fromisoformat(meta["occurred_at"]), language=meta["language"],
                         external_deal_id=meta["deal_ref"], call_type=meta["call_type"], status=CallStatus.ready))
    session.flush()


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory, template_db: Path) -> Path:
    """A database with the demo people, SOPs, calls and deals, built once for this module."""
    from app.db import get_engine, get_sessionmaker
    from app.deals import demo as deals_demo
    from app.demo import _people
    from app.sop import service as sop_service

    path = tmp_path_factory.mktemp("demo") / "talktrack.db"
    shutil.copyfile(template_db, path)
    url = f"sqlite:///{path}"
    with get_sessionmaker(url)() as session:
        sop_service.sync_shipped(session=session)
        _people(session, json.loads((DEMO / "people.json").read_text(encoding="utf-8")))
        _add_calls(session)
        report = deals_demo.load(session=session, path=HISTORIES, now=ANCHOR)
        assert report.created == 56 and report.skipped_future_steps == 0
        session.commit()
    get_engine(url).dispose()
    get_engine.cache_clear()
    get_sessionmaker.cache_clear()
    return path


@pytest.fixture
def demo(demo_db: Path, env: Path, session: Session) -> Session:
    """This test's database is a copy of the demo database."""
    session.close()
    shutil.copyfile(demo_db, env / "talktrack.db")
    return session


def _admin(session: Session):  # type: ignore[no-untyped-def]
    from app.demo import ADMIN_EMAIL
    from app.users import service as users_service

    return users_service.get_user_by_email(session=session, email=ADMIN_EMAIL)


def _scope(session: Session, period: str | None = None, team: str | None = None):  # type: ignore[no-untyped-def]
    from app.deals import analytics
    from app.users import service as users_service

    team_id = users_service.get_team_by_name(session=session, name=team).id if team else None  # type: ignore[union-attr]
    return analytics.make_scope(session=session, user=_admin(session), period=period, team_id=team_id)


def test_every_deal_ref_of_a_demo_call_is_a_demo_deal(demo: Session) -> None:
    from app.deals.models import Deal

    refs = {meta["deal_ref"] for meta in _sidecars()}
    stored = set(demo.scalars(select(Deal.external_ref)))
    assert len(refs) == 47 and refs <= stored  # 21 hand-written deals with calls, 26 generated
    assert {f"D-{n}" for n in range(1001, 1027)} <= stored


def test_generated_calls_get_the_outcome_the_corpus_was_written_with(demo: Session) -> None:
    from app.calls.models import Call
    from app.deals import service as deals_service

    truth = {json.loads(line)["file"]: json.loads(line)["outcome"]
             for line in (DEMO / "generated" / "truth.jsonl").read_text(encoding="utf-8").splitlines()}
    outcomes = {call.original_filename: deals_service.call_outcome(session=demo, call=call, now=ANCHOR).value
                for call in demo.scalars(select(Call))}
    assert {name: outcomes[name] for name in truth} == truth
    assert {"advanced", "stalled", "won", "lost", "pending"} <= set(outcomes.values())
    counts = Counter(outcomes.values())
    assert min(counts[k] for k in ("advanced", "stalled", "won", "lost")) >= 3, counts


def test_conversion_has_samples_on_most_transitions(demo: Session) -> None:
    from app.deals import analytics

    result = analytics.conversion(session=demo, user=_admin(demo), scope=_scope(demo), min_sample=5)
    sampled = [t for t in result.transitions if t.entered >= 5 and t.rate is not None]
    assert len(sampled) >= 6 and result.weakest is not None
    assert [t.entered for t in result.transitions] == sorted((t.entered for t in result.transitions), reverse=True)
    assert 0 < min(t.rate for t in sampled) < max(t.rate for t in sampled)  # type: ignore[type-var]


@pytest.mark.parametrize(("team", "currency"), [("Enterprise East", "USD"), ("华东大客户部", "CNY")])
def test_funnel_and_forecast_show_each_teams_pipeline_against_its_targets(demo: Session, team: str,
                                                                         currency: str) -> None:
    from app.deals import analytics

    admin = _admin(demo)
    funnel = analytics.funnel(session=demo, user=admin, scope=_scope(demo, "2026-Q4", team))
    assert sum(s.deals > 0 for s in funnel.stages) >= 4 and funnel.next_target is not None
    assert any(s.hole for s in funnel.stages)
    forecast = analytics.forecast(session=demo, user=admin, scope=_scope(demo, "2026-Q4", team))
    [total] = forecast.totals
    assert total.currency == currency and total.weighted > 0 and total.won > 0
    assert total.target is not None and total.gap == total.target - total.won - total.weighted


def test_velocity_has_dwell_win_rates_and_a_cycle(demo: Session) -> None:
    from app.deals import analytics

    result = analytics.velocity(session=demo, user=_admin(demo), scope=_scope(demo))
    assert sum(s.average_dwell_days is not None for s in result.stages) == 8
    assert result.stages[0].observed_win_rate is not None and 0 < result.stages[0].observed_win_rate < 1
    assert result.cycle_sample >= 8 and result.average_cycle_days is not None and result.average_cycle_days > 20


def test_follow_up_lists_flag_stale_deals_and_honour_intents(demo: Session) -> None:
    from app.deals import followups
    from app.deals.models import Deal, DealIntent

    admin = _admin(demo)
    board = followups.board(session=demo, user=admin, now=ANCHOR)
    assert len(board.no_followup) >= 5 and len(board.intent_required) >= 5
    judged = set(demo.scalars(select(Deal.external_ref).join(DealIntent, DealIntent.deal_id == Deal.id)))
    assert judged == {"D-1001", "D-1016", "D-1020"}
    assert not judged & {demo.get(Deal, f.deal_id).external_ref for f in board.intent_required}  # type: ignore[union-attr]
    kinds = Counter(r.kind for r in followups.reminders(session=demo, user=admin, now=ANCHOR))
    assert kinds["stage_overdue"] >= 5 and kinds["cycle_overdue"] >= 1


def test_approvals_include_a_rejection_and_one_still_waiting(demo: Session) -> None:
    from app.deals import workflow
    from app.deals.models import ApprovalStatus, DealApproval

    statuses = Counter(demo.scalars(select(DealApproval.status)))
    assert statuses[ApprovalStatus.rejected] == 2 and statuses[ApprovalStatus.approved] >= 20
    assert len(workflow.list_approvals(session=demo, user=_admin(demo))) == 1


def test_effective_new_customers_and_the_80_20_mix_have_data(demo: Session) -> None:
    from app.deals import followups
    from app.deals.periods import parse_period
    from app.users import service as users_service

    sam = users_service.get_user_by_email(session=demo, email="sam.lee@acme.example")
    assert sam is not None
    effective = followups.effective_new(session=demo, rep=sam, period=parse_period("2026-10"))
    assert effective.total >= 2 and effective.target_per_week == 2
    mix = followups.activity_mix(session=demo, rep=sam, period=parse_period("2026-Q4"))
    assert mix.existing_accounts > 0 and mix.new_accounts > mix.existing_accounts

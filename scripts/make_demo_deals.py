"""Generate demo_data/deal_histories.json: every demo deal with a stage history that fits its calls.

Run: .venv/bin/python scripts/make_demo_deals.py [--out FILE]

Inputs (all committed): the hand-written deals (demo_data/deals.csv: final stage and status), the
hand-written calls (demo_data/*.meta.json) with the outcome each was written to have (HAND_OUTCOMES
below), the generated corpus (demo_data/generated/truth.jsonl: deals D-1001… and each call's
outcome), the team managers (demo_data/people.json) and the sales process (stages, expected_days,
approvals, required feedback).

For each deal the script looks for the stages the deal is in at each of its calls (near the stage the
call type suggests) such that the history reproduces every call's outcome as Talktrack derives it
(app.deals.outcomes: the first stage change within the stage's expected_days after the call) as of
ANCHOR, and ends in the deal's final stage and status; it fails loudly when no such history exists.
The history is written as explicit steps (feedback, advance, approval request / reject / approve,
close, need-budget-signer confirmation, 30-day intent) that app.deals.demo replays through the
services, so the stored history, approvals and activity are exactly what the app would record.
Same inputs → byte-identical output.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import random
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.deals.outcomes import outcome_from_events
from app.sop.service import load_sop

DEMO = ROOT / "demo_data"
OUT = DEMO / "deal_histories.json"
PROCESS_FILE = ROOT / "sop_definitions" / "project-sales-8-stage.zh.yaml"
SEED = 7
# Histories end before this instant; call outcomes are checked as of it (the corpus runs Sep–Nov 2026).
ANCHOR = datetime(2026, 11, 25, tzinfo=UTC)
DAY, HOUR = timedelta(days=1), timedelta(hours=1)

# The stage a call of this type usually happens in (None: wherever the deal is).
CALL_STAGE = {"invitation": 0, "discovery": 1, "site-visit": 1, "proposal": 2, "demo": 3, "technical-exchange": 3,
              "negotiation": 6, "signing": 7, "follow-up": None}
# What each hand-written call was written to lead to (pending: nothing moved and its window is still open).
HAND_OUTCOMES = {
    "2026-10-06_keystone_foods_discovery.txt": "stalled",
    "2026-10-08_northbridge_discovery.json": "advanced",
    "2026-10-09_harbor_point_discovery.json": "advanced",
    "2026-10-09_hengtong_precision_invite.txt": "advanced",
    "2026-10-12_dongfang_fiber_invite.json": "lost",
    "2026-10-14_northbridge_demo.json": "advanced",
    "2026-10-15_pinecrest_discovery.txt": "stalled",
    "2026-10-16_hairui_mould_invite.txt": "advanced",
    "2026-10-20_harbor_point_demo.json": "advanced",
    "2026-10-21_jinding_electronics_invite.txt": "stalled",
    "2026-10-22_huayuan_site_visit.json": "advanced",
    "2026-10-27_summit_beverage_demo.txt": "lost",
    "2026-10-28_yuanhang_rubber_tech.json": "advanced",
    "2026-10-29_bluewater_discovery.srt": "stalled",
    "2026-11-04_hongda_steel_negotiation.json": "advanced",
    "2026-11-05_atlas_building_demo.vtt": "advanced",
    "2026-11-06_ruifeng_auto_parts_invite.txt": "stalled",
    "2026-11-10_hengtong_precision_proposal.txt": "stalled",
    "2026-11-10_pinecrest_demo.json": "advanced",
    "2026-11-12_granite_state_discovery.txt": "pending",
    "2026-11-17_crescent_pharma_discovery.txt": "pending",
    "2026-11-18_shenlian_pharma_negotiation.json": "advanced",
    "2026-11-19_ridgeline_followup.ogg": "pending",
    "2026-11-20_tiancheng_signing.json": "won",
    "2026-11-24_bluewater_checkin.mp3": "pending",
    "2026-11-24_kerun_electric_proposal.txt": "pending",
}
# Reps who qualify properly (need, budget and signer confirmed after their first discovery-type call).
QUALIFIERS = {"sam.lee@acme.example", "priya.nair@acme.example", "wang.lei@acme.example", "chen.jing@acme.example"}
# Accounts that were customers before (expansion deals: the "20" of the 80/20 rule).
EXISTING_CUSTOMERS = {"Ridgeline Supply": "2025-04-18", "Tri-County Beverage Distributors": "2025-09-02",
                      "南京金陵药机有限公司": "2025-06-30", "扬州科润电气有限公司": "2024-11-15"}
# Manager decisions worth showing: a rejection before the approval, and a request still waiting.
REJECTIONS = {  # deal: (the stage whose exit the manager first rejects, comment)
    "HD-2026-037": ("commercial-negotiation", "降价约17%且验收后付90%，利润太薄；补充交换条件（维保年限、付款比例）后再提交。"),
    "EE-1010": ("needs-analysis-formal-proposal", "Attach the site survey and the tender schedule before this goes to evaluation."),
}
WAITING = {"EE-1004": "Formal proposal and site survey done; asking to move to evaluation."}
# 30-day judgments: (deal, decision, reason); the others past 30 days stay on the intent list.
INTENTS = {"D-1016": ("keep", "客户年底预算冻结，设备部确认明年一季度重启，保留。"),
           "D-1001": ("drop", "No reply to four follow-ups since the discovery call; dropping."),
           "D-1020": ("keep", "沈总确认预算在明年一月批，技术方案已认可，保留跟进。")}
TARGETS = [  # (team, period, currency, revenue value); effective new customers per week per team
    ("Enterprise East", "2026-Q4", "USD", 420000), ("Enterprise East", "2027-Q1", "USD", 480000),
    ("华东大客户部", "2026-Q4", "CNY", 9000000), ("华东大客户部", "2027-Q1", "CNY", 10000000),
]
EFFECTIVE_PER_WEEK = {"Enterprise East": 2, "华东大客户部": 2}

FEEDBACK = {  # field: (English, Chinese) sample values filled before leaving a stage
    "contact_info": ("VP Operations, direct line +1 555 0142", "设备部部长，手机 138 0000 0000"),
    "customer_address": ("Main distribution center, 400 Harbor Rd", "工业园区 88 号 3 号厂房"),
    "industry": ("Wholesale distribution", "离散制造"),
    "company_size": ("350 employees, 6 depots", "员工约 600 人，两个生产基地"),
    "decision_maker": ("COO signs; CFO approves budget", "总经理拍板，财务总监审批预算"),
    "budget_range": ("$40k–$120k per year", "50–200 万元"),
    "current_situation": ("Spreadsheets and phone calls to drivers", "人工抄表，设备数据分散在各车间电脑"),
    "pain_points": ("Late deliveries and disputed proof of delivery", "非计划停机多，报表要等一周"),
    "project_approved": ("Yes, in this year's plan", "已立项，纳入年度技改计划"),
    "procurement_team": ("Ops, IT and finance", "设备部、信息部、采购部、财务部"),
    "procurement_process": ("Security review, then PO", "三家比选，招标委员会评审"),
    "technical_requirements": ("SSO, API to the WMS, mobile app", "支持 OPC UA、本地部署、等保二级"),
    "evaluation_criteria": ("Driver adoption, ETA accuracy, price", "技术 50%、价格 30%、服务 20%"),
    "competitors": ("Routelogic, TrackPoint", "云峰科技、MES 厂商打包方案"),
    "detailed_requirements": ("Agreed scope document v2", "详细需求说明书 v2 已确认"),
    "site_survey_report": ("Survey of 3 depots done", "现场勘察报告已提交"),
    "tender_schedule": ("Decision by end of month", "下月中旬开标"),
    "shortlist_status": ("Shortlisted with one other vendor", "进入短名单（两家）"),
    "evaluation_feedback": ("Pilot met the ETA target", "试点达到停机降低目标"),
    "roi_estimate": ("Payback in 9 months", "投资回收期约 14 个月"),
    "executive_sponsor": ("COO", "分管生产的副总"),
    "price_agreed": ("Annual price agreed", "价格已谈定"),
    "payment_terms": ("Net 30, annual upfront", "30% 预付，60% 到货，10% 验收"),
    "contract_terms": ("MSA redlines resolved", "合同条款法务已确认"),
    "delivery_schedule": ("Go-live in 6 weeks", "两个月内完成部署"),
    "contract_signed": ("Signed", "合同已签署"),
    "implementation_contact": ("Ops manager", "项目经理（客户方设备部）"),
    "kickoff_date": ("Kickoff booked", "启动会已约定"),
}
PRODUCTS = {"en": ("live ETAs and dispatch alerts", "proof of delivery", "fleet visibility", "delivery windows"),
            "zh": ("设备联网一期", "预测性维护", "质量追溯", "能耗管理")}
LOST_REASONS = {
    "price": ("Price: chose a cheaper tool", "价格：竞品报价低两成"),
    "competitor": ("Competitor: incumbent renewed", "竞争对手：客户续用现有供应商"),
    "timing": ("Timing: project pushed to next fiscal year", "时机：项目推迟到明年"),
    "security": ("Security review failed (data residency)", "安全：要求全部本地部署，我方方案未通过"),
    "adoption": ("Adoption: drivers rejected the last tool", "落地：一线不愿用新系统"),
}


@dataclass(frozen=True)
class CallPlan:
    at: datetime
    call_type: str
    outcome: str  # advanced | stalled | won | lost | pending
    qualified: bool  # the rep confirmed need, budget and signer on this call


@dataclass
class DealSpec:
    ref: str
    name: str
    account: str
    owner: str
    team: str
    language: str
    amount: str
    currency: str
    expected_close: date | None
    source: str
    opened_at: datetime
    calls: list[CallPlan]
    final_stage: int | None = None  # None: wherever the calls leave it
    final_status: str | None = None
    close_reason: str = ""
    close_by: datetime | None = None


@dataclass
class Plan:
    """A history being built: (time, kind, from index, to index) stage events plus the other steps."""

    events: list[tuple[datetime, str, int | None, int | None]] = field(default_factory=list)

    def stage(self) -> int:
        return next((to for _at, _kind, _f, to in reversed(self.events) if to is not None), 0)

    def last_at(self) -> datetime:
        return self.events[-1][0]


class NoHistory(Exception):
    pass


# ---------------------------------------------------------------- inputs


def process_stages() -> list[Any]:
    return list(load_sop(PROCESS_FILE.read_text(encoding="utf-8"), source=PROCESS_FILE.name).stages)


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def hand_written(stages: list[Any]) -> list[DealSpec]:
    """Deals of demo_data/deals.csv with the hand-written calls of demo_data/ (top level)."""
    calls: dict[str, list[CallPlan]] = defaultdict(list)
    for side in sorted(DEMO.glob("*.meta.json")):
        meta = json.loads(side.read_text(encoding="utf-8"))
        name = side.name.removesuffix(".meta.json")
        calls[meta["deal_ref"]].append(CallPlan(_utc(meta["occurred_at"]), meta["call_type"], HAND_OUTCOMES[name],
                                                meta["rep"] in QUALIFIERS))
    index = {s.id: i for i, s in enumerate(stages)}
    specs = []
    with (DEMO / "deals.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            zh = row["currency"] == "CNY"
            close = date.fromisoformat(row["expected_close_date"])
            mine = sorted(calls.get(row["external_ref"], []), key=lambda c: c.at)
            opened = datetime.combine(date.fromisoformat(row["opened_at"]), time(1 if zh else 13), UTC)
            if mine:  # a call on the opening day comes after the deal is entered
                opened = min(opened, mine[0].at - 2 * HOUR)
            specs.append(DealSpec(
                row["external_ref"], row["name"], row["account"], row["owner_email"], row["team"],
                "zh" if zh else "en", row["amount"], row["currency"], close, row["source"], opened, mine,
                index[row["stage"]], row["status"], row["lost_reason"], datetime.combine(close, time(10), UTC)))
    return specs


def generated(rng: random.Random) -> list[DealSpec]:
    """Deals D-1001… of the seeded corpus, from the calls and outcomes in truth.jsonl."""
    by_deal: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in (DEMO / "generated" / "truth.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        by_deal[record["deal_ref"]].append(record)
    specs = []
    for ref in sorted(by_deal):
        records = sorted(by_deal[ref], key=lambda r: r["occurred_at"])
        first, lang = records[0], records[0]["language"]
        calls = [CallPlan(_utc(r["occurred_at"]), r["call_type"], r["outcome"],
                          r["scenario"] == "good" and r["call_type"] in ("invitation", "discovery")) for r in records]
        opened = (calls[0].at - timedelta(days=rng.randint(4, 18))).replace(hour=9 if lang == "zh" else 14, minute=0)
        amount = (rng.randrange(15, 130) * 1000) if lang == "en" else (rng.randrange(20, 260) * 10000)
        product = rng.choice(PRODUCTS[lang])
        last = calls[-1].at.date()
        objection = LOST_REASONS.get(records[-1].get("objection", ""), LOST_REASONS["timing"])
        specs.append(DealSpec(
            ref, f"{first['account']} – {product}" if lang == "en" else f"{first['account']} {product}",
            first["account"], first["rep"], first["team"], lang, str(amount), "USD" if lang == "en" else "CNY",
            last + timedelta(days=rng.randint(30, 120)),
            rng.choice(("lead", "lead", "inbound", "referral", "other")), opened, calls,
            close_reason=objection[1 if lang == "zh" else 0]))
    return specs


# ---------------------------------------------------------------- planning


def _spread(plan: Plan, start: datetime, end: datetime, to: int, stages: list[Any], rng: random.Random) -> None:
    """Advance from the current stage to `to` at times spread over (start, end), weighted by expected_days."""
    current = plan.stage()
    steps = list(range(current, to))
    if not steps:
        return
    if end - start < len(steps) * 12 * HOUR:
        raise NoHistory(f"no room for {len(steps)} advances between {start} and {end}")
    weights = [(stages[i].expected_days or 14) * rng.uniform(0.6, 1.4) for i in steps]
    span, total, at = end - start, sum(weights) + weights[0] * 0.3, start
    for i, weight in zip(steps, weights, strict=True):
        at = max(at + 12 * HOUR, at + span * (weight / total))
        if at >= end:
            raise NoHistory(f"advances overrun {end}")
        plan.events.append((_work_hours(at, end), "advanced", i, i + 1))


def _work_hours(at: datetime, limit: datetime) -> datetime:
    moved = at.replace(minute=0, second=0, microsecond=0)
    return moved if moved < limit else at


def build(spec: DealSpec, choice: tuple[int, ...], stages: list[Any], rng: random.Random) -> Plan:
    """One history for the chosen stage at each call (raises NoHistory when it cannot fit)."""
    plan = Plan([(spec.opened_at, "created", None, 0)])
    free = spec.opened_at  # no stage event before this instant (a stalled call's window)
    for k, (call, at_stage) in enumerate(zip(spec.calls, choice, strict=True)):
        if at_stage < plan.stage():
            raise NoHistory("deals do not move back in the demo")
        _spread(plan, max(free, plan.last_at()), call.at - 6 * HOUR, at_stage, stages, rng)
        nxt = spec.calls[k + 1].at if k + 1 < len(spec.calls) else ANCHOR
        soon = call.at + min(2 * DAY, (nxt - call.at) / 3)
        if call.outcome == "advanced":
            if at_stage == len(stages) - 1 or soon >= ANCHOR:
                raise NoHistory("cannot advance from the last stage or after the anchor")
            plan.events.append((soon, "advanced", at_stage, at_stage + 1))
            free = soon
        elif call.outcome in ("won", "lost"):
            if call.outcome == "won" and at_stage != len(stages) - 1:
                raise NoHistory("a won call happens in the last stage")
            plan.events.append((soon, call.outcome, at_stage, None))
            return plan
        else:  # stalled / pending: nothing moves within the stage's window
            free = call.at + timedelta(days=stages[at_stage].expected_days or 30) + DAY
    _finish(spec, plan, free, stages, rng)
    return plan


def _finish(spec: DealSpec, plan: Plan, free: datetime, stages: list[Any], rng: random.Random) -> None:
    """Reach the final stage and status after the last call (hand-written deals)."""
    start = max(free, plan.last_at())
    status = spec.final_status or "open"
    if status == "open":
        if spec.final_stage is not None:
            _spread(plan, start, ANCHOR - 2 * DAY, spec.final_stage, stages, rng)
        return
    close_at = min(max(spec.close_by or ANCHOR, start + 3 * DAY), ANCHOR - DAY)
    target = len(stages) - 1 if status == "won" else spec.final_stage
    if target is not None:
        _spread(plan, start, close_at - 12 * HOUR, target, stages, rng)
    if close_at <= plan.last_at():
        raise NoHistory("no room to close")
    plan.events.append((close_at, status, plan.stage(), None))


@dataclass(frozen=True)
class _Event:
    id: int
    kind: str
    from_stage: str | None
    to_stage: str | None
    at: datetime


def outcomes(plan: Plan, spec: DealSpec, stages: list[Any]) -> list[str]:
    """Each call's outcome as Talktrack derives it from this history, as of ANCHOR."""
    events = [_Event(i, kind, stages[f].id if f is not None else None, stages[t].id if t is not None else None, at)
              for i, (at, kind, f, t) in enumerate(plan.events)]
    still_open = plan.events[-1][1] not in ("won", "lost", "invalid")
    found = []
    for call in spec.calls:
        stage = next(t for at, _k, _f, t in reversed(plan.events) if at <= call.at and t is not None)
        after = [e for e in events if e.at > call.at]
        days = stages[stage].expected_days or 30
        found.append(outcome_from_events(deal_id=0, call_at=call.at, events=after, now=ANCHOR,
                                         horizon=timedelta(days=days), deal_open=still_open).outcome.value)
    return found


def final_status(plan: Plan) -> str:
    kind = plan.events[-1][1]
    return kind if kind in ("won", "lost", "invalid") else "open"


def _options(call: CallPlan, last: int) -> list[int]:
    """Stages to try for the deal at a call: the call type's usual stage first, then its neighbours."""
    if call.outcome == "won":
        return [last]
    usual = CALL_STAGE.get(call.call_type)
    if usual is None:
        return list(range(last))
    return sorted(range(last), key=lambda s: (abs(s - usual), s < usual))


def plan_deal(spec: DealSpec, stages: list[Any], seed: str) -> Plan:
    """The first history (over stage choices near each call type's stage) that fits every constraint."""
    options = [_options(call, len(stages) - 1) for call in spec.calls]
    for choice in itertools.product(*options):
        if list(choice) != sorted(choice):
            continue
        try:
            plan = build(spec, choice, stages, random.Random(f"{seed}:{spec.ref}"))
        except NoHistory:
            continue
        if outcomes(plan, spec, stages) != [c.outcome for c in spec.calls]:
            continue
        if spec.final_stage is not None and plan.stage() != spec.final_stage:
            continue
        if spec.final_status and final_status(plan) != spec.final_status:
            continue
        return plan
    raise SystemExit(f"{spec.ref}: no stage history reproduces the calls' outcomes {[c.outcome for c in spec.calls]}")


# ---------------------------------------------------------------- steps


def steps(spec: DealSpec, plan: Plan, stages: list[Any], managers: dict[str, str]) -> list[dict[str, Any]]:
    """The plan as service-level steps: feedback and approvals around every advance, confirmations, intents."""
    lang = 1 if spec.language == "zh" else 0
    out: list[dict[str, Any]] = []
    for (before, *_), (at, kind, source, target) in itertools.pairwise(plan.events):
        stage, gap = stages[source], at - before
        if kind in ("advanced", "won"):
            fields = {name: FEEDBACK[name][lang] for name in stage.required_feedback}
            rejected = REJECTIONS.get(spec.ref, ("",))[0] == stage.id  # filled before the first request
            if fields:
                out.append({"at": before + gap * 0.3 if rejected else at - min(3 * HOUR, gap * 0.3),
                            "do": "feedback", "fields": fields})
            if stage.approval == "manager":
                out += _approval(spec, stage.id, before, at, stages[target].id if target is not None else "won",
                                 managers)
            else:
                out.append({"at": at, "do": "advance"})
        else:
            out.append({"at": at, "do": "close", "status": kind,
                        "reason": spec.close_reason or ("无需求" if lang else "No decision")})
    out += _confirmations(spec, plan)
    out += _intent(spec, plan)
    if spec.ref in WAITING and final_status(plan) == "open":
        at = ANCHOR - 2 * DAY
        stage = stages[plan.stage()]
        out.append({"at": at - HOUR, "do": "feedback", "fields": {n: FEEDBACK[n][lang] for n in stage.required_feedback}})
        out.append({"at": at, "do": "request", "reason": WAITING[spec.ref]})
    return sorted(out, key=lambda s: s["at"])


def _approval(spec: DealSpec, stage_id: str, before: datetime, at: datetime, to: str,
              managers: dict[str, str]) -> list[dict[str, Any]]:
    """The rep asks, the team manager decides (first rejecting with a comment where REJECTIONS says so)."""
    manager, gap = managers[spec.team], at - before
    out: list[dict[str, Any]] = []
    if REJECTIONS.get(spec.ref, ("",))[0] == stage_id:
        out += [{"at": before + gap * 0.4, "do": "request", "reason": f"ready for {to}"},
                {"at": before + gap * 0.5, "do": "reject", "by": manager, "comment": REJECTIONS[spec.ref][1]},
                {"at": before + gap * 0.7, "do": "note", "text": "fixed what the manager asked for"}]
    out += [{"at": at - min(2 * HOUR, gap * 0.2), "do": "request", "reason": f"ready for {to}"},
            {"at": at, "do": "approve", "by": manager, "comment": "OK" if spec.language == "en" else "同意"}]
    return out


def _confirmations(spec: DealSpec, plan: Plan) -> list[dict[str, Any]]:
    """Need, budget and signer confirmed after the rep's first qualifying call (need only for the others)."""
    first = next((c for c in spec.calls if c.call_type in ("invitation", "discovery", "site-visit")), None)
    if first is None:
        return []
    full = first.qualified or spec.owner in QUALIFIERS
    return [{"at": first.at + HOUR, "do": "confirm", "need": True, "budget": full, "signer": full}]


def _intent(spec: DealSpec, plan: Plan) -> list[dict[str, Any]]:
    if spec.ref not in INTENTS or final_status(plan) != "open":
        return []
    decision, reason = INTENTS[spec.ref]
    # 30 days after entering the stage, and recent enough that the judgment still counts at ANCHOR.
    at = max(plan.events[-1][0] + 31 * DAY, ANCHOR - 12 * DAY)
    if at >= ANCHOR:
        raise SystemExit(f"{spec.ref}: the 30-day judgment would fall after {ANCHOR:%Y-%m-%d}")
    return [{"at": at.replace(minute=0, second=0), "do": "intent", "decision": decision, "reason": reason}]


# ---------------------------------------------------------------- output


def _deal_json(spec: DealSpec, plan_steps: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "external_ref": spec.ref, "name": spec.name, "account": spec.account,
        "account_customer_since": EXISTING_CUSTOMERS.get(spec.account), "owner": spec.owner, "team": spec.team,
        "amount": spec.amount, "currency": spec.currency,
        "expected_close_date": spec.expected_close.isoformat() if spec.expected_close else None,
        "source": spec.source, "opened_at": spec.opened_at.isoformat(),
        "steps": [{**s, "at": s["at"].isoformat()} for s in plan_steps],
    }


def build_all() -> dict[str, Any]:
    stages = process_stages()
    people = json.loads((DEMO / "people.json").read_text(encoding="utf-8"))
    managers = {team["name"]: team["manager"]["email"] for team in people["teams"]}
    specs = hand_written(stages) + generated(random.Random(f"{SEED}:deals"))
    deals = []
    for spec in specs:
        plan = plan_deal(spec, stages, str(SEED))
        deals.append(_deal_json(spec, steps(spec, plan, stages, managers)))
    return {
        "about": "Generated by scripts/make_demo_deals.py; replayed by app.deals.demo. Synthetic.",
        "anchor": ANCHOR.isoformat(), "process_id": "project-sales-8-stage",
        "targets": [{"team": t, "period": p, "currency": c, "value": v} for t, p, c, v in TARGETS],
        "effective_per_week": EFFECTIVE_PER_WEEK,
        "deals": deals,
    }


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    data = build_all()
    args.out.write_text(render(data), encoding="utf-8")
    steps_n = sum(len(d["steps"]) for d in data["deals"])
    print(f"wrote {args.out}: {len(data['deals'])} deals, {steps_n} steps")


if __name__ == "__main__":
    main()

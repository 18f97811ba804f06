"""Generate the seeded demo corpus in demo_data/generated/ (English + Chinese sales calls).

Run: .venv/bin/python scripts/make_demo_corpus.py [--seed 7] [--audio] [--out DIR]

Writes, for every call, a transcript (Rep:/Customer: or 销售：/客户： text, Talktrack JSON with
times estimated from the speaking rate, or Megaview JSON in milliseconds) or, with --audio, a
short stereo Opus file (espeak-ng voices, rep left, customer right), each with a
`NAME.EXT.meta.json` sidecar holding only `CallMeta` fields. The ground truth the sidecar cannot
carry (scenario, outcome, deal outcome, per-turn SOP step labels) goes to `truth.jsonl`, and
every file's sha256 to `SHA256SUMS`; neither has an extension that `talktrack ingest` picks up.

Scenarios: good (SOP order), skipped_qualification, pitch_before_discovery, no_next_step, plus
small random swaps/repeats recorded as `noise`. Step labels starting with "~" are off-SOP
moments (small talk, digressions, a generic pitch, a weak close). Same seed → byte-identical
files; the audio uses its own per-file random stream, so --audio never changes a transcript.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from demo_corpus_phrases import EN, OBJECTIONS, ZH

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "demo_data" / "generated"
DEFAULT_SEED = 7
EN_CALLS, ZH_CALLS, AUDIO_CALLS = 24, 22, 6
TRUTH_FILE, SUMS_FILE = "truth.jsonl", "SHA256SUMS"
SCENARIOS = ("good", "skipped_qualification", "pitch_before_discovery", "no_next_step")
TZ = {"en": UTC, "zh": timezone(timedelta(hours=8))}
# espeak-ng speaks ~165 words/min at -s 165; used to cut audio calls to 30–50 s before rendering.
ESPEAK_WPS = 165 / 60
AUDIO_MIN_S, AUDIO_MAX_S = 32.0, 46.0
CROSSTALK = 0.1  # −20 dB of each voice leaks into the other channel

# Aligned with demo_data/people.json (hand-written corpus); skill = chance of a good-path call.
TEAMS: dict[str, dict[str, Any]] = {
    "en": {
        "team": "Enterprise East",
        "reps": [
            ("sam.lee@acme.example", "Sam Lee", 0.55),
            ("priya.nair@acme.example", "Priya Nair", 0.7),
            ("jake.morrison@acme.example", "Jake Morrison", 0.3),
            ("olivia.chen@acme.example", "Olivia Chen", 0.5),
        ],
    },
    "zh": {
        "team": "华东大客户部",
        "reps": [
            ("wang.lei@acme.example", "王磊", 0.6),
            ("chen.jing@acme.example", "陈静", 0.7),
            ("liu.yang@acme.example", "刘洋", 0.45),
            ("sun.hao@acme.example", "孙浩", 0.3),
        ],
    },
}

ACCOUNTS: dict[str, list[tuple[str, str, str]]] = {  # (company, slug, contact)
    "en": [
        ("Brookline Foodservice", "brookline", "Megan Ortiz"),
        ("Carver Building Supply", "carver", "Dave Kowalski"),
        ("Delmar Beverage", "delmar", "Lisa Tran"),
        ("Eastgate Medical Distribution", "eastgate", "Robert Hayes"),
        ("Foxhill Paper", "foxhill", "Anita Shah"),
        ("Greyhaven Freight", "greyhaven", "Chris Duffy"),
        ("Hollis Restaurant Supply", "hollis", "Maria Lopez"),
        ("Ironbridge Fasteners", "ironbridge", "Kevin Walsh"),
        ("Juniper Office Products", "juniper", "Tara Quinn"),
        ("Larkspur Produce", "larkspur", "Hector Ruiz"),
        ("Meridian Auto Parts", "meridian", "Paul Becker"),
        ("Oakridge Dairy", "oakridge", "Emily Sato"),
        ("Portland Bottling", "portland", "Jason Reed"),
        ("Quarry Lane Lumber", "quarrylane", "Nora Fitz"),
    ],
    "zh": [
        ("常州华锐机械", "huarui", "周部长"),
        ("无锡恒泰精工", "hengtai", "吴总"),
        ("苏州博创电子", "bochuang", "郑经理"),
        ("南通海达纺织", "haida", "冯主任"),
        ("嘉兴永盛化纤", "yongsheng", "何厂长"),
        ("宁波东升模具", "dongsheng", "许工"),
        ("杭州凯达阀门", "kaida", "蒋部长"),
        ("湖州鼎力五金", "dingli", "沈总"),
        ("镇江瑞普泵业", "ruipu", "韩经理"),
        ("昆山精诚汽配", "jingcheng", "杨主任"),
        ("绍兴华鑫印染", "huaxin", "朱厂长"),
        ("泰州远东管业", "yuandong", "秦部长"),
    ],
}
EN_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
ZH_DAYS = ("下周一", "下周二", "下周三", "下周四", "下周五", "这周五")
RIVALS = ("Trackwell", "RouteLine", "FleetPilot")


@dataclass(frozen=True)
class CallType:
    """How one kind of call is built: SOP, ordered sections of step ids, allowed scenarios."""

    name: str
    language: str
    sop_id: str | None
    sections: tuple[tuple[str, tuple[str, ...]], ...]
    scenarios: tuple[str, ...]
    title: str
    keep_open_when_pitching: int = 1
    p_smalltalk: float = 0.5


CALL_TYPES: dict[tuple[str, str], CallType] = {
    ("en", "discovery"): CallType(
        "discovery", "en", "b2b-discovery",
        (
            ("open", ("greeting", "set-agenda")),
            ("discover", ("situation-questions", "problem-questions", "customer-describes-pain",
                          "implication-questions", "need-payoff-questions")),
            ("qualify", ("confirm-need", "qualify-budget", "qualify-decision-maker", "qualify-timeline")),
            ("pitch", ("tailored-value",)),
            ("object", ("customer-objection", "handle-objection")),
            ("close", ("agree-next-step", "customer-confirms-next-step")),
        ),
        SCENARIOS, "discovery call",
    ),
    ("en", "demo"): CallType(
        "demo", "en", "product-demo",
        (
            ("open", ("recap-pains", "demo-agenda")),
            ("pitch", ("demo-feature", "check-in", "customer-question", "answer-question",
                       "demo-feature", "check-in")),
            ("object", ("demo-objection", "demo-handle-objection", "discuss-pricing")),
            ("close", ("mutual-action-plan", "book-next-meeting")),
        ),
        ("good", "pitch_before_discovery", "no_next_step"), "product demo",
        keep_open_when_pitching=0, p_smalltalk=0.8,
    ),
    ("en", "negotiation"): CallType(
        "negotiation", "en", None,
        (
            ("open", ("neg-recap",)),
            ("qualify", ("neg-confirm-process",)),
            ("object", ("neg-pushback", "neg-trade", "neg-terms")),
            ("close", ("~neg-close",)),
        ),
        ("good", "skipped_qualification", "no_next_step"), "commercial negotiation",
    ),
    ("zh", "invitation"): CallType(
        "invitation", "zh", "telesales-invitation",
        (
            ("open", ("greet-introduce", "state-purpose")),
            ("qualify", ("confirm-need", "confirm-budget", "confirm-decision-maker")),
            ("pitch", ("value-hook",)),
            ("object", ("customer-brush-off", "handle-brush-off")),
            ("close", ("propose-visit", "confirm-time")),
        ),
        SCENARIOS, "电话邀约", p_smalltalk=0.0,
    ),
    ("zh", "discovery"): CallType(
        "discovery", "zh", "project-sales-8-stage",
        (
            ("open", ("visit-company-intro",)),
            ("discover", ("visit-current-situation", "visit-pain-points", "customer-states-problem")),
            ("qualify", ("visit-budget", "visit-decision-chain")),
            ("close", ("~visit-next",)),
        ),
        SCENARIOS, "上门拜访调研", keep_open_when_pitching=0, p_smalltalk=0.7,
    ),
    ("zh", "technical-exchange"): CallType(
        "technical-exchange", "zh", "project-sales-8-stage",
        (
            ("pitch", ("tech-demo", "customer-tech-question", "tech-answer", "tech-demo",
                       "customer-tech-question", "tech-answer")),
            ("qualify", ("shape-criteria", "probe-competitors")),
            ("close", ("~visit-next",)),
        ),
        ("good", "skipped_qualification", "no_next_step"), "方案演示与技术交流", p_smalltalk=0.6,
    ),
    ("zh", "negotiation"): CallType(
        "negotiation", "zh", "project-sales-8-stage",
        (
            ("object", ("customer-price-pushback", "price-negotiation")),
            ("qualify", ("payment-terms", "contract-terms")),
            ("close", ("~neg-next",)),
        ),
        ("good", "skipped_qualification", "no_next_step"), "商务谈判", p_smalltalk=0.6,
    ),
}
DEAL_FLOW = {
    "en": ("discovery", "demo", "negotiation"),
    "zh": ("invitation", "discovery", "technical-exchange", "negotiation"),
}
# An answer step reuses the variant index of the question step it answers (banks keep them aligned).
LINKED = {"answer-question": "customer-question", "tech-answer": "customer-tech-question",
          "handle-objection": "customer-objection", "demo-handle-objection": "demo-objection",
          "handle-brush-off": "customer-brush-off", "neg-trade": "neg-pushback",
          "price-negotiation": "customer-price-pushback"}
REPEATABLE = {"check-in", "situation-questions", "problem-questions", "customer-question",
              "answer-question", "confirm-need", "tech-answer", "visit-current-situation"}


@dataclass
class Turn:
    role: str  # "rep" | "customer"
    text: str
    steps: list[str]


@dataclass
class Call:
    language: str
    call_type: str
    deal_ref: str
    account: tuple[str, str, str]
    rep: tuple[str, str, float]
    occurred_at: datetime
    scenario: str = "good"
    noise: list[str] = field(default_factory=list)
    outcome: str = ""
    deal_outcome: str = ""
    deal_call_index: int = 0
    objection: str = ""
    fmt: str = "txt"
    audio: bool = False
    turns: list[Turn] = field(default_factory=list)

    @property
    def kind(self) -> CallType:
        return CALL_TYPES[(self.language, self.call_type)]

    @property
    def stem(self) -> str:
        slug = self.account[1]
        return f"{self.occurred_at:%Y-%m-%d}_{self.deal_ref.lower()}_{slug}_{self.call_type}"

    @property
    def filename(self) -> str:
        ext = {"txt": "txt", "json": "json", "megaview": "json", "ogg": "ogg"}[self.fmt]
        return f"{self.stem}.{ext}"


# ---------------------------------------------------------------- planning


def plan_corpus(seed: int) -> list[Call]:
    """Deals → calls with dates, reps, scenarios and outcomes (no text yet)."""
    rng = random.Random(seed)
    calls: list[Call] = []
    deal_no = 1001
    for lang, target in (("en", EN_CALLS), ("zh", ZH_CALLS)):
        accounts = list(ACCOUNTS[lang])
        rng.shuffle(accounts)
        reps = list(TEAMS[lang]["reps"])
        rng.shuffle(reps)
        made, i = 0, 0
        while made < target:
            deal = _plan_deal(rng, lang, f"D-{deal_no}", accounts[i % len(accounts)],
                              reps[i % len(reps)], target - made)
            calls.extend(deal)
            made += len(deal)
            deal_no += 1
            i += 1
    return calls


def _plan_deal(rng: random.Random, lang: str, ref: str, account: tuple[str, str, str],
               rep: tuple[str, str, float], room: int) -> list[Call]:
    flow = DEAL_FLOW[lang]
    start = rng.choice((0, 0, 1)) if lang == "en" else rng.choice((0, 0, 1, 2))
    length = min(rng.choice((1, 2, 2, 3, 3)), len(flow) - start, room)
    when = datetime(2026, 9, 1, tzinfo=TZ[lang]) + timedelta(days=rng.randint(0, 55))
    out: list[Call] = []
    for k in range(length):
        hour = rng.randint(13, 20) if lang == "en" else rng.randint(9, 16)
        at = when.replace(hour=hour, minute=rng.choice((0, 15, 30, 45)))
        kind = CALL_TYPES[(lang, flow[start + k])]
        good = rng.random() < rep[2]
        scenario = "good" if good else rng.choice([s for s in kind.scenarios if s != "good"])
        call = Call(lang, kind.name, ref, account, rep, at, scenario=scenario, deal_call_index=k + 1,
                    objection=rng.choice(OBJECTIONS))
        out.append(call)
        positive = rng.random() < (0.8 if good else 0.3)
        last = k == length - 1
        if not last and positive:
            call.outcome = "advanced"
        elif not last and rng.random() < 0.5:
            call.outcome = "stalled"  # the deal picks up again weeks later
        else:
            call.outcome = _final_outcome(rng, kind.name, positive)
            break
        when = at + timedelta(days=rng.randint(7, 20))
        if when > datetime(2026, 11, 27, tzinfo=TZ[lang]):
            break
    final = {"won": "won", "lost": "lost", "stalled": "stalled", "advanced": "open"}[out[-1].outcome]
    for call in out:
        call.deal_outcome = final
    return out


def _final_outcome(rng: random.Random, call_type: str, positive: bool) -> str:
    if positive:
        return "won" if call_type == "negotiation" else "advanced"
    return "lost" if call_type == "negotiation" or rng.random() < 0.4 else "stalled"


def pick_formats(calls: list[Call], seed: int) -> None:
    """Audio for 6 English calls (2 per type), the rest spread over text / JSON / Megaview."""
    rng = random.Random(f"{seed}:formats")
    en = [c for c in calls if c.language == "en"]
    for call_type in DEAL_FLOW["en"]:
        pool = [c for c in en if c.call_type == call_type]
        for call in rng.sample(pool, min(2, len(pool))):
            call.audio, call.fmt = True, "ogg"
    rest = [c for c in calls if not c.audio]
    for call in rest:
        roll = rng.random()
        if call.language == "en":
            call.fmt = "txt" if roll < 0.5 else "json"
        else:
            call.fmt = "txt" if roll < 0.4 else ("json" if roll < 0.7 else "megaview")


# ---------------------------------------------------------------- dialog


def step_sequence(kind: CallType, scenario: str, rng: random.Random) -> tuple[list[str], list[str]]:
    """The ordered step ids (and '~' off-SOP moments) for a scenario, plus the noise applied."""
    sections = dict(kind.sections)
    order = [name for name, _ in kind.sections]
    seq: list[str] = []
    for name in order:
        steps = list(sections[name])
        if scenario == "skipped_qualification" and name == "qualify":
            continue
        if scenario == "no_next_step" and name == "close":
            continue
        if scenario == "pitch_before_discovery":
            if name == "open":
                steps = steps[: kind.keep_open_when_pitching] + ["~pitch"] + list(sections.get("pitch", ()))
            elif name == "pitch":
                continue
            elif name == "discover":
                steps = steps[:2]
        seq.extend(steps)
    if scenario == "pitch_before_discovery" and "open" not in sections:
        seq = ["~pitch", *seq]
    if scenario == "no_next_step":
        seq.append("~weakclose")
    noise: list[str] = []
    if rng.random() < 0.3:
        pairs = [i for i in range(len(seq) - 1)
                 if not seq[i].startswith("~") and not seq[i + 1].startswith("~")
                 and _section_of(kind, seq[i]) == _section_of(kind, seq[i + 1])
                 and _section_of(kind, seq[i]) in ("discover", "qualify")]
        if pairs:
            i = rng.choice(pairs)
            seq[i], seq[i + 1] = seq[i + 1], seq[i]
            noise.append(f"swap:{seq[i + 1]}<>{seq[i]}")
    if rng.random() < 0.25:
        spots = [i for i, s in enumerate(seq) if s in REPEATABLE]
        if spots:
            i = rng.choice(spots)
            seq.insert(i + 1, seq[i])
            noise.append(f"repeat:{seq[i]}")
    if rng.random() < kind.p_smalltalk:
        seq.insert(1 if seq and kind.language == "en" and kind.name == "discovery" else 0, "~smalltalk")
    if rng.random() < 0.35 and len(seq) > 4:
        seq.insert(rng.randint(3, len(seq) - 2), "~digress")
    seq.append("~goodbye")
    return seq, noise


def _section_of(kind: CallType, step: str) -> str | None:
    return next((name for name, steps in kind.sections if step in steps), None)


def build_dialog(call: Call, seq: list[str], rng: random.Random) -> list[Turn]:
    bank = EN if call.language == "en" else ZH
    slots = _slots(call, rng)
    used: dict[str, set[int]] = {}
    turns: list[Turn] = []

    def say(role: str, text: str, step: str) -> None:
        text = text.format(**slots)
        if turns and turns[-1].role == role:
            sep = " " if call.language == "en" else ""
            turns[-1].text += sep + text
            turns[-1].steps.append(step)
        else:
            turns.append(Turn(role, text, [step]))

    last: dict[str, tuple[int, int]] = {}  # step → (index picked, number of options)

    def pick(key: str, options: list[str], *, like: str | None = None) -> str:
        seen = used.setdefault(key, set())
        fresh = [i for i in range(len(options)) if i not in seen] or list(range(len(options)))
        i = rng.choice(fresh)
        if like in last and last[like][1] == len(options):
            i = last[like][0]  # answer the question that was actually asked
        seen.add(i)
        last[key] = (i, len(options))
        return options[i]

    for step in seq:
        if step == "~pitch":
            continue  # expanded by _with_pitch
        entry = bank[step]
        if isinstance(entry, list):  # (first, second) pairs of an off-SOP exchange
            first, second = entry[rng.randrange(len(entry))]
            lead = "customer" if step == "~digress" else "rep"
            say(lead, first, step)
            say("rep" if lead == "customer" else "customer", second, step)
            continue
        who = "rep" if entry["who"] == "rep" else "customer"
        variants = entry["say"]
        if isinstance(variants, dict):
            variants = variants[call.objection]
        say(who, pick(step, variants, like=LINKED.get(step)), step)
        replies = entry.get("reply") or []
        if replies and rng.random() < entry.get("p_reply", 1.0):
            say("customer" if who == "rep" else "rep", pick(step + ":reply", replies, like=step), step)
    return _with_pitch(turns, seq, bank, rng, slots)


def _with_pitch(turns: list[Turn], seq: list[str], bank: dict[str, Any], rng: random.Random,
                slots: dict[str, str]) -> list[Turn]:
    """Expand '~pitch' markers (skipped above) into a generic monologue and a lukewarm reply."""
    if "~pitch" not in seq:
        return turns
    pitch = " " if bank is EN else ""
    lines = rng.sample(bank["~pitch"], 2)
    text = pitch.join(line.format(**slots) for line in lines)
    reply = rng.choice(bank["~pitch-reply"]).format(**slots)
    before = seq[: seq.index("~pitch")]
    # Count how many turns the steps before the pitch produced: rebuild by matching step labels.
    cut = 0
    for i, turn in enumerate(turns):
        if all(s in before for s in turn.steps):
            cut = i + 1
        else:
            break
    block = [Turn("rep", text, ["~pitch"]), Turn("customer", reply, ["~pitch"])]
    merged = turns[:cut]
    for turn in block + turns[cut:]:
        if merged and merged[-1].role == turn.role:
            merged[-1].text += pitch + turn.text
            merged[-1].steps.extend(turn.steps)
        else:
            merged.append(Turn(turn.role, turn.text, list(turn.steps)))
    return merged


def _slots(call: Call, rng: random.Random) -> dict[str, str]:
    company, _, contact = call.account
    trucks = rng.randrange(40, 181, 10)
    if call.language == "en":
        return {"c": contact.split()[0], "co": company, "me": call.rep[1].split()[0],
                "day": rng.choice(EN_DAYS), "rival": rng.choice(RIVALS), "n": str(trucks),
                "amt": f"${trucks * 420:,}"}
    return {"c": contact, "co": company, "me": call.rep[1], "day": rng.choice(ZH_DAYS),
            "rival": "云工互联", "n": str(trucks), "amt": f"{trucks}万"}


# ---------------------------------------------------------------- writers


def _units(text: str) -> tuple[int, int]:
    cjk = len(re.findall(r"[\u3400-\u9fff]", text))
    words = len(re.findall(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?", text))
    return words, cjk


def _timed(turns: list[Turn], rng: random.Random) -> list[tuple[float, float, Turn]]:
    """Start/end per turn from the speaking rate (2.5 words/s, 4 CJK characters/s) and gaps."""
    t = round(rng.uniform(0.4, 1.5), 2)
    out = []
    for turn in turns:
        words, cjk = _units(turn.text)
        dur = max(0.5, words / 2.5 + cjk / 4.0)
        end = round(t + dur, 2)
        out.append((t, end, turn))
        t = round(end + rng.uniform(0.25, 1.2), 2)
    return out


def render_transcript(call: Call, rng: random.Random) -> str:
    rep_name, (_, _, contact) = call.rep[1], call.account
    if call.fmt == "txt":
        labels = {"rep": "Rep: ", "customer": "Customer: "} if call.language == "en" else {
            "rep": "销售：", "customer": "客户："}
        return "".join(f"{labels[t.role]}{t.text}\n" for t in call.turns)
    timed = _timed(call.turns, rng)
    if call.fmt == "json":
        doc = {
            "language": call.language,
            "duration_s": round(timed[-1][1] + 1.0, 2),
            "timing_estimated": True,
            "utterances": [
                {"speaker": rep_name if t.role == "rep" else contact, "role": t.role,
                 "start": start, "end": end, "text": t.text}
                for start, end, t in timed
            ],
        }
    else:
        doc = {
            "code": 0,
            "msg": "success",
            "data": {
                "conversation_id": f"mv-{call.occurred_at:%Y%m%d-%H%M%S}",
                "duration": round((timed[-1][1] + 1.0) * 1000),
                "segments": [
                    {"seq": i + 1, "begin_time": round(start * 1000), "end_time": round(end * 1000),
                     "role": "host_salesman" if t.role == "rep" else "customer_contact",
                     "speaker_name": rep_name if t.role == "rep" else contact,
                     "speaker_id": f"u_{1000 + _rep_index(call)}" if t.role == "rep" else f"c_{call.deal_ref[2:]}",
                     "content": t.text}
                    for i, (start, end, t) in enumerate(timed)
                ],
            },
        }
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def _rep_index(call: Call) -> int:
    return [r[0] for r in TEAMS[call.language]["reps"]].index(call.rep[0])


def sidecar(call: Call) -> dict[str, Any]:
    """Only `app.calls.schemas.CallMeta` fields (it forbids extras)."""
    meta = {
        "title": f"{call.account[0]} – {call.kind.title}" if call.language == "en"
        else f"{call.account[0]} {call.kind.title}",
        "rep": call.rep[0],
        "team": TEAMS[call.language]["team"],
        "occurred_at": call.occurred_at.isoformat(),
        "language": call.language,
        "sop_id": call.kind.sop_id,
        "deal_ref": call.deal_ref,
        "account_ref": f"{call.language.upper()}-{call.account[1]}",
        "call_type": call.call_type,
    }
    if call.audio:
        meta["rep_channel"] = "left"
    return meta


def truth(call: Call) -> dict[str, Any]:
    record: dict[str, Any] = {
        "file": call.filename,
        "deal_ref": call.deal_ref,
        "deal_call_index": call.deal_call_index,
        "deal_outcome": call.deal_outcome,
        "account": call.account[0],
        "rep": call.rep[0],
        "team": TEAMS[call.language]["team"],
        "language": call.language,
        "call_type": call.call_type,
        "sop_id": call.kind.sop_id,
        "occurred_at": call.occurred_at.isoformat(),
        "scenario": call.scenario,
        "noise": call.noise,
        "objection": call.objection,
        "outcome": call.outcome,
        "format": call.fmt,
        "turns": [{"role": t.role, "steps": t.steps} for t in call.turns],
    }
    if call.audio:  # the audio is the call; keep the script it speaks for checking ASR later
        record["turns"] = [{"role": t.role, "steps": t.steps, "text": t.text} for t in call.turns]
        record["audio_truncated"] = True
    return record


def truncate_for_audio(turns: list[Turn]) -> list[Turn]:
    """The first turns that fit 32–46 s of espeak speech (plus pauses)."""
    kept: list[Turn] = []
    total = 0.0
    for turn in turns:
        words, _ = _units(turn.text)
        dur = words / ESPEAK_WPS + 0.45
        if kept and total + dur > AUDIO_MAX_S:
            if total >= AUDIO_MIN_S:
                break
            continue  # skip a long turn, a shorter one may still fit
        kept.append(turn)
        total += dur
        if total >= AUDIO_MIN_S:
            break
    return kept


def render_audio(call: Call, path: Path, seed: int) -> None:
    """espeak-ng per turn (rep en-us, customer en-us+f3), stereo mix with crosstalk, Opus 24k."""
    import numpy as np
    import soundfile as sf

    rng = random.Random(f"{seed}:audio:{call.filename}")
    with tempfile.TemporaryDirectory() as tmp:
        rate, chunks = 0, []
        for i, turn in enumerate(call.turns):
            wav = Path(tmp) / f"t{i}.wav"
            voice = "en-us" if turn.role == "rep" else "en-us+f3"
            subprocess.run(["espeak-ng", "-v", voice, "-s", "165", "-w", str(wav), turn.text],
                           check=True, capture_output=True)
            mono, rate = sf.read(wav, dtype="float32")
            main, leak = mono, mono * CROSSTALK
            pair = (main, leak) if turn.role == "rep" else (leak, main)
            chunks.append(np.stack(pair, axis=1))
            gap = np.zeros((int(rate * rng.uniform(0.3, 0.6)), 2), dtype="float32")
            chunks.append(gap)
        stereo = np.concatenate([np.zeros((int(rate * 0.3), 2), dtype="float32"), *chunks])
        mixed = Path(tmp) / "mix.wav"
        sf.write(mixed, stereo, rate, subtype="PCM_16")
        subprocess.run(
            ["ffmpeg", "-loglevel", "error", "-y", "-i", str(mixed), "-ac", "2", "-ar", "48000",
             "-c:a", "libopus", "-b:a", "24k", "-map_metadata", "-1", "-fflags", "+bitexact",
             "-flags:a", "+bitexact", str(path)],
            check=True,
        )


# ---------------------------------------------------------------- main


def build(seed: int) -> list[Call]:
    calls = plan_corpus(seed)
    pick_formats(calls, seed)
    for call in calls:
        rng = random.Random(f"{seed}:dialog:{call.deal_ref}:{call.deal_call_index}")
        seq, call.noise = step_sequence(call.kind, call.scenario, rng)
        call.turns = build_dialog(call, seq, rng)
        if call.audio:
            call.turns = truncate_for_audio(call.turns)
    return sorted(calls, key=lambda c: c.filename)


def write_corpus(calls: list[Call], out: Path, *, seed: int, audio: bool) -> list[str]:
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, bytes] = {}
    for call in calls:
        rng = random.Random(f"{seed}:timing:{call.filename}")
        if not call.audio:
            written[call.filename] = render_transcript(call, rng).encode("utf-8")
        meta = json.dumps(sidecar(call), ensure_ascii=False, indent=2) + "\n"
        written[call.filename + ".meta.json"] = meta.encode("utf-8")
    written[TRUTH_FILE] = "".join(
        json.dumps(truth(c), ensure_ascii=False, sort_keys=True) + "\n" for c in calls
    ).encode("utf-8")
    audio_names = {c.filename for c in calls if c.audio}
    for old in sorted(out.iterdir()):
        if old.is_file() and old.name not in written and old.name not in audio_names | {SUMS_FILE}:
            old.unlink()  # stale output of an earlier run
    for name, data in sorted(written.items()):
        (out / name).write_bytes(data)
    if audio:
        if not (shutil.which("espeak-ng") and shutil.which("ffmpeg")):
            raise SystemExit("--audio needs espeak-ng and ffmpeg (with libopus) on PATH.")
        for call in calls:
            if call.audio:
                render_audio(call, out / call.filename, seed)
    names = sorted(p.name for p in out.iterdir() if p.is_file() and p.name != SUMS_FILE)
    sums = "".join(f"{hashlib.sha256((out / n).read_bytes()).hexdigest()}  {n}\n" for n in names)
    (out / SUMS_FILE).write_text(sums, encoding="utf-8")
    return names


def summary(calls: list[Call]) -> str:
    def count(attr: str) -> str:
        values: dict[str, int] = {}
        for c in calls:
            values[str(getattr(c, attr))] = values.get(str(getattr(c, attr)), 0) + 1
        return ", ".join(f"{k} {v}" for k, v in sorted(values.items()))

    reps = sorted({c.rep[0] for c in calls})
    return "\n".join([
        f"calls: {len(calls)} ({count('language')}); audio {sum(c.audio for c in calls)}",
        f"reps: {len(reps)}; deals: {len({c.deal_ref for c in calls})}",
        f"call types: {count('call_type')}",
        f"scenarios: {count('scenario')}",
        f"outcomes: {count('outcome')}",
        f"formats: {count('fmt')}",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--audio", action="store_true", help="also render the stereo audio calls")
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args(argv)
    calls = build(args.seed)
    names = write_corpus(calls, args.out, seed=args.seed, audio=args.audio)
    print(summary(calls))
    print(f"wrote {len(names)} files + {SUMS_FILE} to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

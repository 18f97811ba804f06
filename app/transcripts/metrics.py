"""Conversation metrics with published formulas (each result carries its formula and evidence)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.transcripts.formats import Utterance, count_units, detect_language

_EN_INTERROGATIVES = frozenset(
    [
        "what",
        "how",
        "why",
        "when",
        "where",
        "who",
        "whom",
        "whose",
        "which",
        "do",
        "does",
        "did",
        "is",
        "are",
        "was",
        "were",
        "can",
        "could",
        "would",
        "will",
        "should",
        "shall",
        "have",
        "has",
        "may",
        "might",
        "am",
    ]
)
_ZH_QUESTION_WORDS = ("什么", "怎么", "哪", "多少", "是否", "有没有")
_ZH_QUESTION_ENDINGS = ("吗", "呢", "吧")
_SENTENCE_RE = re.compile(r"[^.!?。！？]+[.!?。！？]*")
_EN_FILLER_RE = re.compile(r"\b(?:u+m+|u+h+|you know|sort of|like)\b", re.IGNORECASE)
_ZH_FILLER_RE = re.compile(r"嗯+|那个|就是|然后")
# "you know" after do/did/if is a real question or clause, not a filler; "like" counts only
# when set off by a comma or opening a sentence ("it was, like, huge"), not in "a deal like this".
_NOT_FILLER_BEFORE = frozenset(["do", "did", "don't", "if", "as"])


@dataclass(frozen=True)
class Metric:
    """One metric: value (None when undefined), unit, the formula, and the utterances behind it."""

    name: str
    value: float | None
    unit: str
    formula: str
    evidence: tuple[int, ...] = ()
    detail: str = ""
    estimated: bool = False


@dataclass(frozen=True)
class ConversationMetrics:
    """The eight conversation metrics of one call."""

    talk_ratio: Metric
    longest_monologue: Metric
    longest_customer_story: Metric
    interactivity: Metric
    patience: Metric
    question_rate: Metric
    filler_rate: Metric
    speaking_pace: Metric

    def as_list(self) -> list[Metric]:
        """The metrics in display order."""
        return [
            self.talk_ratio,
            self.longest_monologue,
            self.longest_customer_story,
            self.interactivity,
            self.patience,
            self.question_rate,
            self.filler_rate,
            self.speaking_pace,
        ]


def compute_metrics(
    utterances: Sequence[Utterance],
    *,
    language: str | None = None,
    timing_estimated: bool = False,
) -> ConversationMetrics:
    """All metrics for a call; time-based values are flagged when the times were estimated."""
    utts = sorted(utterances, key=lambda u: u.start)
    lang = language or detect_language(" ".join(u.text for u in utts if u.role == "rep")) or "en"
    found = ConversationMetrics(
        talk_ratio=talk_ratio(utts),
        longest_monologue=longest_run(utts, role="rep"),
        longest_customer_story=longest_run(utts, role="customer"),
        interactivity=interactivity(utts),
        patience=patience(utts),
        question_rate=question_rate(utts),
        filler_rate=filler_rate(utts),
        speaking_pace=speaking_pace(utts, language=lang),
    )
    if not timing_estimated:
        return found
    return ConversationMetrics(*(_estimated(m) for m in found.as_list()))


def talk_ratio(utts: Sequence[Utterance]) -> Metric:
    """Rep share of rep + customer speaking time, in percent."""
    rep, customer = _speaking_s(utts, "rep"), _speaking_s(utts, "customer")
    formula = (
        "talk ratio = rep speaking time ÷ (rep + customer speaking time) × 100; "
        "speaking time = Σ (end − start) of that party's utterances"
    )
    if rep + customer == 0:
        return Metric("talk_ratio", None, "%", formula, detail="no rep or customer speech")
    return Metric(
        "talk_ratio",
        100 * rep / (rep + customer),
        "%",
        formula,
        detail=f"rep {rep:.1f} s, customer {customer:.1f} s",
    )


def longest_run(utts: Sequence[Utterance], *, role: str) -> Metric:
    """Longest stretch of consecutive utterances by `role` (rep: monologue, customer: story)."""
    name = "longest_monologue" if role == "rep" else "longest_customer_story"
    formula = (
        f"longest {role} run = max over runs of consecutive {role} utterances of "
        "(end of last − start of first); any other speaker ends a run"
    )
    best: tuple[int, int] | None = None  # (first, last) positions in utts
    first: int | None = None
    for i, u in enumerate(utts):
        if u.role != role:
            first = None
            continue
        first = i if first is None else first
        if best is None or _span(utts, first, i) > _span(utts, *best):
            best = (first, i)
    if best is None:
        return Metric(name, None, "s", formula, detail=f"no {role} utterances")
    evidence = tuple(u.index for u in utts[best[0] : best[1] + 1])
    return Metric(name, _span(utts, *best), "s", formula, evidence=evidence)


def interactivity(utts: Sequence[Utterance]) -> Metric:
    """Speaker switches per minute of call."""
    formula = (
        "interactivity = number of speaker changes between consecutive utterances ÷ call "
        "minutes; call minutes = (last end − first start) ÷ 60"
    )
    minutes = _call_minutes(utts)
    switches = [b.index for a, b in itertools.pairwise(utts) if a.speaker != b.speaker]
    if minutes == 0:
        return Metric("interactivity", None, "switches/min", formula, detail="call has no duration")
    return Metric(
        "interactivity",
        len(switches) / minutes,
        "switches/min",
        formula,
        evidence=tuple(switches),
        detail=f"{len(switches)} switches in {minutes:.2f} min",
    )


def patience(utts: Sequence[Utterance]) -> Metric:
    """Average pause before the rep speaks after a customer utterance."""
    formula = (
        "patience = mean over rep utterances that directly follow a customer utterance of "
        "max(0, rep start − customer end); overlaps count as 0 s"
    )
    pauses = [
        (b.index, max(0.0, b.start - a.end))
        for a, b in itertools.pairwise(utts)
        if a.role == "customer" and b.role == "rep"
    ]
    if not pauses:
        return Metric(
            "patience", None, "s", formula, detail="the rep never answers a customer turn"
        )
    return Metric(
        "patience",
        sum(p for _, p in pauses) / len(pauses),
        "s",
        formula,
        evidence=tuple(i for i, _ in pauses),
        detail=f"{len(pauses)} customer→rep turns",
    )


def question_rate(utts: Sequence[Utterance]) -> Metric:
    """Rep questions per minute of call."""
    formula = (
        "question rate = rep question sentences ÷ call minutes; a sentence is a question when "
        "it ends in ? or ？, or, when it has no end mark, starts with an English interrogative "
        "(what, how, do, can …) or, in Chinese, ends in 吗/呢/吧 or contains "
        "什么/怎么/哪/多少/是否/有没有"
    )
    return _rate_metric("question_rate", "questions/min", formula, utts, count_questions)


def filler_rate(utts: Sequence[Utterance]) -> Metric:
    """Rep filler words per minute of rep speaking time."""
    formula = (
        "filler rate = rep filler words ÷ rep speaking minutes; fillers: um, uh, like (only when "
        "set off by a comma or opening a sentence), you know (not after do/did/if/as), sort of; "
        "嗯, 那个, 就是, 然后"
    )
    minutes = _speaking_s(utts, "rep") / 60
    hits = [(u.index, count_fillers(u.text)) for u in utts if u.role == "rep"]
    total = sum(n for _, n in hits)
    if minutes == 0:
        return Metric("filler_rate", None, "fillers/min", formula, detail="no rep speech")
    return Metric(
        "filler_rate",
        total / minutes,
        "fillers/min",
        formula,
        evidence=tuple(i for i, n in hits if n),
        detail=f"{total} fillers",
    )


def speaking_pace(utts: Sequence[Utterance], *, language: str) -> Metric:
    """Rep words (English) or characters (Chinese) per minute of rep speaking time."""
    unit = "characters/min" if language == "zh" else "words/min"
    formula = (
        f"speaking pace = rep {unit.split('/')[0]} ÷ rep speaking minutes; Chinese counts each "
        "character, English each word (mixed text counts both)"
    )
    minutes = _speaking_s(utts, "rep") / 60
    units = sum(sum(count_units(u.text)) for u in utts if u.role == "rep")
    if minutes == 0:
        return Metric("speaking_pace", None, unit, formula, detail="no rep speech")
    return Metric("speaking_pace", units / minutes, unit, formula, detail=f"{units} units")


def count_questions(text: str) -> int:
    """Question sentences in `text` (see the question_rate formula)."""
    return sum(1 for s in _SENTENCE_RE.findall(text) if _is_question(s.strip()))


def is_question(text: str) -> bool:
    """True when `text` contains at least one question sentence."""
    return count_questions(text) > 0


def count_fillers(text: str) -> int:
    """Filler words in `text` (English and Chinese lists)."""
    english = sum(1 for m in _EN_FILLER_RE.finditer(text) if _is_filler(text, m))
    return english + len(_ZH_FILLER_RE.findall(text))


def _is_question(sentence: str) -> bool:
    if not sentence:
        return False
    if sentence[-1] in "?？":
        return True
    if sentence[-1] in ".!。！":
        return False
    first = sentence.split(maxsplit=1)[0].lower().strip(",")
    return (
        first in _EN_INTERROGATIVES
        or sentence.endswith(_ZH_QUESTION_ENDINGS)
        or any(w in sentence for w in _ZH_QUESTION_WORDS)
    )


def _is_filler(text: str, match: re.Match[str]) -> bool:
    word = match.group(0).lower()
    before = text[: match.start()].rstrip()
    if word == "you know":
        previous = before.split()[-1].lower() if before.split() else ""
        return previous not in _NOT_FILLER_BEFORE
    if word != "like":
        return True
    after = text[match.end() :].lstrip()
    return not before or before.endswith((",", ".", "?", "!")) or after.startswith(",")


def _rate_metric(
    name: str,
    unit: str,
    formula: str,
    utts: Sequence[Utterance],
    counter: Callable[[str], int],
) -> Metric:
    minutes = _call_minutes(utts)
    hits = [(u.index, counter(u.text)) for u in utts if u.role == "rep"]
    total = sum(n for _, n in hits)
    if minutes == 0:
        return Metric(name, None, unit, formula, detail="call has no duration")
    return Metric(
        name,
        total / minutes,
        unit,
        formula,
        evidence=tuple(i for i, n in hits if n),
        detail=f"{total} in {minutes:.2f} min",
    )


def _speaking_s(utts: Sequence[Utterance], role: str) -> float:
    return sum(u.end - u.start for u in utts if u.role == role)


def _call_minutes(utts: Sequence[Utterance]) -> float:
    if not utts:
        return 0.0
    return (max(u.end for u in utts) - min(u.start for u in utts)) / 60


def _span(utts: Sequence[Utterance], first: int, last: int) -> float:
    return utts[last].end - utts[first].start


def _estimated(metric: Metric) -> Metric:
    # Times estimated from the speaking rate make every time-based number an estimate.
    note = "times estimated from speaking rate (150 words/min, 4 characters/s)"
    detail = f"{metric.detail}; {note}" if metric.detail else note
    return Metric(
        metric.name, metric.value, metric.unit, metric.formula, metric.evidence, detail, True
    )

"""Decide which speaker is the rep from what they say (no channel mapping, no voiceprint)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from app.transcripts.formats import Utterance, Word
from app.transcripts.metrics import count_questions
from app.transcripts.turns import build_utterances


@dataclass(frozen=True)
class Cue:
    """A phrase pattern (regex, case-insensitive) that points to one party, with its weight."""

    name: str
    pattern: str
    weight: float


@dataclass(frozen=True)
class Lexicon:
    """Cues for one language: what reps say and what customers say."""

    rep: tuple[Cue, ...]
    customer: tuple[Cue, ...]


@dataclass(frozen=True)
class RoleDecision:
    """Which speaker is the rep, how sure (0–1), how it was decided, and why."""

    rep_speaker: str | None
    confidence: float
    method: str
    evidence: list[str] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)


EN_LEXICON = Lexicon(
    rep=(
        Cue(
            "introduces self and company",
            r"\b(?:this is|my name is|i'm|i am)\s+[\w'’-]+(?:\s+[\w'’-]+)?\s+(?:from|with|here at)\b",
            3.0,
        ),
        Cue(
            "talks about our product",
            r"\b(?:our (?:product|platform|solution|software|tool|service|customers|clients|pricing|"
            r"list price|pilot)|we offer|we provide|we help|we've helped|we can help|we connect)\b",
            2.0,
        ),
        Cue(
            "thanks for the time",
            r"\bthank(?:s| you)(?: so much)? for (?:your time|taking the time|making the time)\b",
            2.0,
        ),
        Cue(
            "proposes a next step",
            r"\b(?:next step|send (?:you |over )?(?:the |a |an )?(?:calendar )?(?:invite|proposal|quote|"
            r"deck|contract|questionnaire)|(?:set up|schedule) (?:a|the) (?:demo|call|follow-up))\b",
            1.5,
        ),
        Cue(
            "probes the customer's situation",
            r"\b(?:walk me through|tell me (?:about|more)|can i ask|how (?:do|does) your (?:team|company)|"
            r"who else (?:would|will) be involved|what(?:'s| is) your timeline)\b",
            1.5,
        ),
    ),
    customer=(
        Cue(
            "describes current tools",
            r"\b(?:we (?:currently|already) (?:use|have)|right now we (?:use|have)|"
            r"we(?:'re| are) (?:currently )?using)\b",
            2.0,
        ),
        Cue(
            "talks about own budget",
            r"\b(?:our budget|we have (?:some |a |no )?budget|budget is (?:tight|limited))\b",
            2.0,
        ),
        Cue(
            "refers to own decision makers",
            r"\b(?:(?:my|our) (?:boss|manager|cfo|ceo|cro|vp|director|leadership|board) (?:would|will|"
            r"needs|has to|signs)|i(?:'d| would| will|'ll) (?:need|have) to (?:check|ask|talk|run it by|"
            r"show))\b",
            2.0,
        ),
        Cue(
            "raises an objection",
            r"\b(?:too expensive|the price worries|not interested|we tried|we already have|"
            r"send me (?:some |more )?information|not a priority)\b",
            1.5,
        ),
        Cue("asks the price", r"\bhow much (?:does|is|would) (?:it|this|that)\b", 1.0),
    ),
)

ZH_LEXICON = Lexicon(
    rep=(
        Cue(
            "自我介绍（公司）",
            r"我是.{0,15}(?:公司|科技|集团|平台)|我这边是.{0,15}(?:公司|科技|集团)|"
            r"我是.{0,10}的(?:小.|销售|顾问|客户经理)",
            3.0,
        ),
        Cue(
            "介绍我们的产品",
            r"我们(?:的)?(?:产品|系统|方案|平台|服务)|我们(?:可以|能)(?:帮|为)您|我们是做",
            2.0,
        ),
        Cue("感谢/打扰客户时间", r"感谢您?(?:的)?(?:时间|抽空|接听)|耽误您|打扰您", 2.0),
        Cue(
            "约下一步",
            r"(?:给您|帮您)(?:发|安排)|加(?:您|个|一下)?微信|(?:上门|过去)(?:给您)?演示|约您",
            1.5,
        ),
        Cue("称呼“您”", r"您", 0.5),
    ),
    customer=(
        Cue("描述现状", r"我们(?:公司|这边)?现在|目前(?:我们)?(?:在)?用", 2.0),
        Cue("谈自己的预算", r"我们.{0,6}预算|预算(?:的话|不多|有限|还没|紧|没有)", 2.0),
        Cue(
            "提到自己的决策人",
            r"(?:领导|老板|.总)(?:决定|拍板|批|同意|说了算)|得(?:我们)?.{0,4}(?:拍板|批准|同意)|"
            r"我(?:得|要)(?:跟|和|问问).{0,6}(?:领导|老板|同事)",
            2.0,
        ),
        Cue("提出异议", r"太贵|不需要|没兴趣|考虑一下|再说吧|已经有了|在忙|试过|不愿意用", 1.5),
        Cue("问对方身份", r"哪位|你是哪|什么事", 1.0),
    ),
)

LEXICONS: dict[str, Lexicon] = {"en": EN_LEXICON, "zh": ZH_LEXICON}
QUESTION_WEIGHT = 3.0  # added × (speaker's share of all questions − 1/number of speakers)
MAX_HITS_PER_CUE = 3  # a phrase repeated all call long counts at most this often
CONFIDENCE_SCALE = 3.0  # confidence = 1 − exp(−margin / scale): margin 3 → 0.63, 6 → 0.86


def decide_rep(
    utterances: Sequence[Utterance],
    *,
    language: str | None = None,
    lexicons: Mapping[str, Lexicon] = LEXICONS,
) -> RoleDecision:
    """Score each speaker on rep and customer cues and questions; the top scorer is the rep."""
    cues = _select(lexicons, language)
    speakers = sorted({u.speaker for u in utterances})
    if not speakers:
        return RoleDecision(None, 0.0, "content", ["no utterances"])
    total_questions = sum(count_questions(u.text) for u in utterances)
    scores: dict[str, float] = {}
    evidence: list[str] = []
    for speaker in speakers:
        own = [u for u in utterances if u.speaker == speaker]
        score, found = _cue_score(speaker, own, cues)
        asked = sum(count_questions(u.text) for u in own)
        if total_questions:
            score += QUESTION_WEIGHT * (asked / total_questions - 1 / len(speakers))
            found.append(f"{speaker}: asked {asked} of {total_questions} questions")
        scores[speaker], evidence = score, evidence + found
    return _decide(scores, evidence)


def assign_roles(utterances: Sequence[Utterance], *, rep_speaker: str) -> list[Utterance]:
    """Copies of `utterances` with `rep_speaker` as rep and every other speaker as customer."""
    return [
        Utterance(
            u.index,
            u.speaker,
            "rep" if u.speaker == rep_speaker else "customer",
            u.start,
            u.end,
            u.text,
            u.words,
        )
        for u in utterances
    ]


def decide_roles_for_words(
    words: Sequence[Word],
    labels: Sequence[str],
    *,
    language: str | None = None,
) -> RoleDecision:
    """decide_rep for diarized ASR words (`labels[i]` is the speaker label of `words[i]`)."""
    turns = build_utterances(list(zip(words, labels, strict=True)), roles={})
    return decide_rep(turns, language=language)


def assign_roles_by_content(
    utterances: Sequence[Utterance],
    *,
    language: str | None = None,
) -> tuple[list[Utterance], str, float]:
    """Fill 'unknown' roles from content: (utterances, "content", confidence); unchanged if unsure."""
    decision = decide_rep(utterances, language=language)
    if decision.rep_speaker is None:
        return list(utterances), "content", 0.0
    rep = decision.rep_speaker
    filled = [
        u
        if u.role != "unknown"
        else Utterance(
            u.index,
            u.speaker,
            "rep" if u.speaker == rep else "customer",
            u.start,
            u.end,
            u.text,
            u.words,
        )
        for u in utterances
    ]
    return filled, "content", decision.confidence


def _select(lexicons: Mapping[str, Lexicon], language: str | None) -> list[tuple[Cue, float]]:
    # An unknown or missing language uses every lexicon: cues of other languages never match.
    chosen = [lexicons[language]] if language and language in lexicons else list(lexicons.values())
    return [
        (cue, sign)
        for lex in chosen
        for cue, sign in [*((c, 1.0) for c in lex.rep), *((c, -1.0) for c in lex.customer)]
    ]


def _cue_score(
    speaker: str,
    own: Sequence[Utterance],
    cues: Sequence[tuple[Cue, float]],
) -> tuple[float, list[str]]:
    score, found = 0.0, []
    for cue, sign in cues:
        pattern = re.compile(cue.pattern, re.IGNORECASE)
        hits = [u for u in own if pattern.search(u.text)]
        if hits:
            score += sign * cue.weight * min(len(hits), MAX_HITS_PER_CUE)
            side = "rep cue" if sign > 0 else "customer cue"
            found.append(
                f"{speaker}: {side} '{cue.name}' ×{len(hits)}, e.g. utterance "
                f"{hits[0].index}: “{hits[0].text[:80]}”"
            )
    return score, found


def _decide(scores: dict[str, float], evidence: list[str]) -> RoleDecision:
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    top, top_score = ranked[0]
    margin = top_score - (ranked[1][1] if len(ranked) > 1 else 0.0)
    if margin <= 0:
        return RoleDecision(None, 0.0, "content", [*evidence, "no speaker stands out"], scores)
    confidence = 1 - math.exp(-margin / CONFIDENCE_SCALE)
    summary = f"{top} scores {top_score:.1f}, ahead by {margin:.1f}"
    return RoleDecision(top, round(confidence, 3), "content", [*evidence, summary], scores)

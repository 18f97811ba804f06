"""Cue lexicons (English and Chinese) and the library's tunable settings.

Defaults live here; a deployment overrides any of them with an optional JSON file at
``<var_dir>/library.json``, e.g.::

    {"weights": {"response": 0.5, "outcome": 0.3, "fit": 0.2},
     "lexicons": {"agreement": {"en": ["sounds good"]}, "pushback": {"zh": ["没兴趣"]}},
     "topics": {"price-objection": {"label": "price objection", "zh_label": "价格太贵",
                                    "cues": ["expensive", "太贵"]}},
     "min_labelled": 20}

Lists given in the file replace the default list of that key and language.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from app.config import get_settings

log = logging.getLogger(__name__)

AGREEMENT = {
    "en": [
        "yes",
        "yeah",
        "sure",
        "sounds good",
        "makes sense",
        "that would help",
        "that helps",
        "great",
        "perfect",
        "absolutely",
        "definitely",
        "exactly",
        "agreed",
        "good idea",
        "let's do",
        "that works",
        "i like",
        "interesting",
        "that matters",
        "okay, that",
        "love to",
        "happy to",
    ],
    "zh": [
        "好的",
        "可以",
        "没问题",
        "对",
        "是的",
        "有道理",
        "不错",
        "挺好",
        "太好了",
        "行",
        "同意",
        "感兴趣",
        "安排",
        "明白",
        "好啊",
        "方便",
    ],
}
PUSHBACK = {
    "en": [
        "no",
        "not sure",
        "too expensive",
        "expensive",
        "can't",
        "cannot",
        "won't",
        "don't think",
        "not interested",
        "worries me",
        "concern",
        "busy",
        "later",
        "next year",
        "already have",
        "not a priority",
        "over budget",
        "hard to justify",
        "no budget",
        "send me an email",
        "maybe",
    ],
    "zh": [
        "不用",
        "不需要",
        "太贵",
        "贵了",
        "没兴趣",
        "再考虑",
        "考虑一下",
        "再说",
        "没时间",
        "在忙",
        "不太",
        "算了",
        "已经有",
        "没预算",
        "不行",
        "担心",
        "发资料",
        "以后再",
    ],
}
QUESTION = {
    "en": [
        "how ",
        "what ",
        "when ",
        "why ",
        "who ",
        "which ",
        "can you",
        "could you",
        "do you",
        "does it",
        "is it",
    ],
    "zh": ["吗", "呢", "怎么", "多少", "什么", "哪", "为什么", "是不是", "能不能", "有没有"],
}
# Recurring customer topics seen in B2B sales; clusters matching a seed take its readable label.
TOPICS: dict[str, dict[str, Any]] = {
    "price-objection": {
        "label": "price objection",
        "zh_label": "价格太贵",
        "cues": [
            "price",
            "expensive",
            "cost",
            "costs",
            "pricing",
            "cheaper",
            "discount",
            "价格",
            "太贵",
            "贵",
            "便宜",
            "报价",
            "折扣",
            "预算不够",
        ],
    },
    "competitor-comparison": {
        "label": "competitor comparison",
        "zh_label": "竞品对比",
        "cues": [
            "competitor",
            "compared",
            "clari",
            "gong",
            "alternative",
            "vendor",
            "other tool",
            "竞品",
            "对比",
            "别家",
            "其他厂商",
            "友商",
        ],
    },
    "security-question": {
        "label": "security question",
        "zh_label": "数据安全",
        "cues": [
            "security",
            "soc 2",
            "gdpr",
            "compliance",
            "privacy",
            "encrypt",
            "it review",
            "安全",
            "数据",
            "合规",
            "加密",
            "私有化",
        ],
    },
    "need-to-think": {
        "label": "need to think it over",
        "zh_label": "需要再考虑",
        "cues": [
            "think about it",
            "think it over",
            "get back to you",
            "not sure",
            "let me check",
            "再考虑",
            "考虑一下",
            "想一想",
            "商量",
            "再说",
        ],
    },
    "timing": {
        "label": "timing / not now",
        "zh_label": "时间不合适",
        "cues": [
            "timing",
            "next quarter",
            "next year",
            "busy",
            "not now",
            "later",
            "没时间",
            "在忙",
            "下个月",
            "明年",
            "以后",
        ],
    },
    "already-have-solution": {
        "label": "already have a solution",
        "zh_label": "已有方案",
        "cues": [
            "already have",
            "already use",
            "built into",
            "in-house",
            "已经有",
            "已经在用",
            "自己开发",
        ],
    },
}
DEFAULT_WEIGHTS = {"response": 0.5, "outcome": 0.3, "fit": 0.2}
RESPONSE_PART_WEIGHTS = {"engagement": 0.4, "questions": 0.25, "sentiment": 0.35}


@dataclass(frozen=True)
class LibrarySettings:
    """Weights, lexicons and thresholds of snippet scoring and the library jobs."""

    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    response_parts: dict[str, float] = field(default_factory=lambda: dict(RESPONSE_PART_WEIGHTS))
    agreement: dict[str, list[str]] = field(
        default_factory=lambda: {k: list(v) for k, v in AGREEMENT.items()}
    )
    pushback: dict[str, list[str]] = field(
        default_factory=lambda: {k: list(v) for k, v in PUSHBACK.items()}
    )
    question: dict[str, list[str]] = field(
        default_factory=lambda: {k: list(v) for k, v in QUESTION.items()}
    )
    topics: dict[str, dict[str, Any]] = field(default_factory=lambda: dict(TOPICS))
    min_labelled: int = (
        20  # labelled snippets (both classes present) before the outcome model is learned
    )
    auto_clips_per_group: int = 3  # auto clips per (step, team, month)
    auto_clip_min_score: float = 0.55
    variant_distance: float = 0.45  # centred cosine distance below which two phrasings are one variant
    topic_distance: float = 0.5


def config_path() -> Path:
    return get_settings().var_dir / "library.json"


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> LibrarySettings:
    base = LibrarySettings()
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8")) if mtime else {}
    except (OSError, ValueError) as exc:
        log.warning("library.config_unreadable path=%s error=%s; using defaults", path, exc)
        return base
    lexicons = data.get("lexicons", {})
    merged = {
        name: {**getattr(base, name), **lexicons.get(name, {})}
        for name in ("agreement", "pushback", "question")
    }
    return LibrarySettings(
        weights={**base.weights, **data.get("weights", {})},
        response_parts={**base.response_parts, **data.get("response_parts", {})},
        topics={**base.topics, **data.get("topics", {})},
        min_labelled=int(data.get("min_labelled", base.min_labelled)),
        auto_clips_per_group=int(data.get("auto_clips_per_group", base.auto_clips_per_group)),
        auto_clip_min_score=float(data.get("auto_clip_min_score", base.auto_clip_min_score)),
        **merged,
    )


def library_settings() -> LibrarySettings:
    """The effective settings: defaults overridden by <var_dir>/library.json when present."""
    path = config_path()
    mtime = path.stat().st_mtime if path.exists() else 0.0
    return _load(str(path), mtime)


_CJK = re.compile(r"[\u3400-\u9fff]")


def language_of(text: str) -> str:
    """'zh' when the text is mostly Chinese characters, else 'en'."""
    cjk = len(_CJK.findall(text))
    return "zh" if cjk and cjk * 2 >= len(re.sub(r"\s", "", text)) * 0.5 else "en"


def find_cues(text: str, cues: dict[str, list[str]]) -> list[str]:
    """Cues of either language present in text (English matched on word boundaries)."""
    lowered = f" {text.lower()} "
    found: list[str] = []
    for lang, words in cues.items():
        for cue in words:
            if lang == "zh" or _CJK.search(cue):
                hit = cue in lowered
            else:
                hit = (
                    re.search(rf"(?<![a-z']){re.escape(cue.strip())}(?![a-z'])", lowered)
                    is not None
                )
            if hit and cue.strip() not in found:
                found.append(cue.strip())
    return found


def word_count(text: str) -> int:
    """English words plus Chinese characters / 2 (about one word per two characters)."""
    cjk = len(_CJK.findall(text))
    latin = len(re.findall(r"[A-Za-z0-9']+", text))
    return latin + (cjk + 1) // 2

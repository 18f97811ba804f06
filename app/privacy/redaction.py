"""PII detection and redaction for call transcripts (English + Chinese, ASR-style text).

Numbers are found in three steps, all linear in the input length:
1. normalise: Chinese numerals (幺/〇/零/一…九), full-width digits and spoken English digit words
   become ASCII digits, with an offset map back to the original text;
2. runs: digit groups joined by short separators (space, dash, dot, comma, brackets) form a run,
   because Whisper splits one spoken number into several tokens;
3. carving: inside a run, the longest group-aligned slice that validates (ID checksum, Luhn,
   phone numbering plan) wins. Validation, not shape, is what keeps dates and order numbers out.
Emails and amounts are bounded regexes (every quantifier has an upper bound, so no backtracking blow-up).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from itertools import pairwise
from typing import Any

from app.errors import Unprocessable


class PiiKind(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    CN_ID = "cn_id"
    BANK_CARD = "bank_card"
    AMOUNT = "amount"


class ReplacementStyle(StrEnum):
    TAG = "tag"  # "[PHONE]"
    MASK_LAST4 = "mask_last4"  # "*** **** 8000"


class RedactionPolicyError(Unprocessable):
    """A team's redaction settings could not be understood."""


DEFAULT_KINDS = frozenset({PiiKind.PHONE, PiiKind.EMAIL, PiiKind.CN_ID, PiiKind.BANK_CARD})
TAGS = {PiiKind.PHONE: "[PHONE]", PiiKind.EMAIL: "[EMAIL]", PiiKind.CN_ID: "[ID]",
        PiiKind.BANK_CARD: "[CARD]", PiiKind.AMOUNT: "[AMOUNT]"}
# When two detections overlap the more specific one wins (an email can contain a phone number).
PRIORITY = {PiiKind.EMAIL: 0, PiiKind.CN_ID: 1, PiiKind.BANK_CARD: 2, PiiKind.PHONE: 3,
            PiiKind.AMOUNT: 4}


@dataclass(frozen=True)
class RedactionPolicy:
    kinds: frozenset[PiiKind] = DEFAULT_KINDS
    style: ReplacementStyle = ReplacementStyle.TAG
    keep_original: bool = False  # the app stores the original text separately when True

    def __post_init__(self) -> None:
        object.__setattr__(self, "kinds", frozenset(_parse_kind(k) for k in self.kinds))
        object.__setattr__(self, "style", _parse_style(self.style))
        if not isinstance(self.keep_original, bool):
            raise RedactionPolicyError("keep_original must be true or false.")

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any]) -> RedactionPolicy:
        """Build a policy from a team's stored settings, e.g. {"kinds": ["phone"], "style": "tag"}."""
        unknown = set(settings) - {"kinds", "style", "keep_original"}
        if unknown:
            raise RedactionPolicyError(
                f"Unknown redaction setting(s) {sorted(unknown)}; use kinds, style, keep_original.")
        kinds = settings.get("kinds", DEFAULT_KINDS)
        if isinstance(kinds, str) or not isinstance(kinds, Iterable):
            raise RedactionPolicyError("kinds must be a list such as [\"phone\", \"email\"].")
        return cls(kinds=frozenset(kinds), style=settings.get("style", ReplacementStyle.TAG),
                   keep_original=settings.get("keep_original", False))


def _parse_kind(value: object) -> PiiKind:
    try:
        return PiiKind(value)
    except ValueError:
        raise RedactionPolicyError(
            f"Unknown PII kind {value!r}; choose from {[k.value for k in PiiKind]}.") from None


def _parse_style(value: object) -> ReplacementStyle:
    try:
        return ReplacementStyle(value)
    except ValueError:
        raise RedactionPolicyError(
            f"Unknown replacement style {value!r}; choose from "
            f"{[s.value for s in ReplacementStyle]}.") from None


@dataclass(frozen=True)
class PiiSpan:
    kind: PiiKind
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class RedactionResult:
    text: str
    spans: tuple[PiiSpan, ...]
    original: str | None = None  # only set when the policy keeps the original


@dataclass(frozen=True)
class WordRedaction:
    word_indexes: tuple[int, ...]  # words touched by any span: mute their audio, mask their text
    words: tuple[tuple[float, float, str], ...]  # the input words with covered text replaced
    audio_ranges: tuple[tuple[float, float], ...]  # merged (start, end) times to replace by a tone
    spans: tuple[PiiSpan, ...] = field(default=())  # offsets into the words joined by joined_text()


# ---------------------------------------------------------------- normalisation

_ZH_DIGITS = {"零": "0", "〇": "0", "幺": "1", "一": "1", "二": "2", "三": "3", "四": "4", "五": "5",
              "六": "6", "七": "7", "八": "8", "九": "9"}
_TRANSLATE = str.maketrans({**_ZH_DIGITS, **{chr(0xFF10 + i): str(i) for i in range(10)}})
_EN_DIGITS = {"zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4",
              "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9"}
_DIGIT_WORD = re.compile(
    r"\b(?:(double|triple)\s{1,3})?(zero|oh|one|two|three|four|five|six|seven|eight|nine)\b",
    re.IGNORECASE)


@dataclass(frozen=True)
class _Normalised:
    text: str
    starts: list[int]  # original start offset of each normalised char
    ends: list[int]  # original end offset of each normalised char


def _normalise(text: str) -> _Normalised:
    parts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    for m in _DIGIT_WORD.finditer(text):
        parts.append(text[pos:m.start()].translate(_TRANSLATE))
        starts.extend(range(pos, m.start()))
        ends.extend(range(pos + 1, m.start() + 1))
        repeat = {"double": 2, "triple": 3}.get((m.group(1) or "").lower(), 1)
        digits = _EN_DIGITS[m.group(2).lower()] * repeat
        parts.append(digits)
        starts.extend([m.start()] * len(digits))
        ends.extend([m.end()] * len(digits))
        pos = m.end()
    parts.append(text[pos:].translate(_TRANSLATE))
    starts.extend(range(pos, len(text)))
    ends.extend(range(pos + 1, len(text) + 1))
    return _Normalised("".join(parts), starts, ends)


# ---------------------------------------------------------------- validators


def id_checksum_ok(value: str) -> bool:
    """ISO 7064 MOD 11-2 check of an 18-character Chinese resident ID."""
    if len(value) != 18 or not value[:17].isdigit():
        return False
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(c) * w for c, w in zip(value[:17], weights))
    return "10X98765432"[total % 11] == value[17].upper()


def luhn_ok(digits: str) -> bool:
    """Luhn (mod 10) check used by payment card numbers."""
    if not digits.isdigit():
        return False
    odd = sum(map(int, digits[-1::-2]))
    even = sum(_LUHN_DOUBLE[int(c)] for c in digits[-2::-2])
    return (odd + even) % 10 == 0


_LUHN_DOUBLE = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def _plausible_birth(yyyymmdd: str) -> bool:
    try:
        born = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return date(1900, 1, 1) <= born <= date.today()


def _is_cn_id(value: str, legacy_context: bool) -> bool:
    if len(value) == 18:
        return value[0] in "12345678" and _plausible_birth(value[6:14]) and id_checksum_ok(value)
    # 15-digit IDs (pre-1999) have no checksum, so only accept them when the speaker said "ID".
    return (len(value) == 15 and value.isdigit() and legacy_context and value[0] in "12345678"
            and _plausible_birth("19" + value[6:12]))


def _is_card(digits: str) -> bool:
    # Issuer prefixes (Visa, Mastercard, Amex, JCB, Diners, Discover, UnionPay, old CN domestic 9xxx)
    # cut random Luhn-valid order numbers by about half again.
    if not 13 <= len(digits) <= 19:
        return False
    if not (digits[0] in "34569" or "2221" <= digits[:4] <= "2720") or not luhn_ok(digits):
        return False
    # Shaped like a resident ID with a bad checksum: a mis-read ID, not a card.
    return not (len(digits) == 18 and digits[0] in "12345678" and _plausible_birth(digits[6:14]))


_CN_MOBILE = re.compile(r"1[3-9]\d{9}")
# 0 + 10 digits covers CN landlines with 2-3 digit area codes and UK national numbers.
_CN_LANDLINE = re.compile(r"0[1-9]\d{9}|0[3-9]\d{2}[2-9]\d{6,7}|[48]00\d{7}")
_NANP = re.compile(r"1?[2-9]\d{2}[2-9]\d{6}")


@dataclass(frozen=True)
class _Lead:
    """What precedes a candidate's first group; computed once per start, not per length."""

    plus: bool
    phone_context: bool
    id_context: bool
    bounded: bool


def _is_phone(d: str, groups: list[_Group], lead: _Lead) -> bool:
    if len(d) > 15 or len(d) < 10 and not lead.plus:
        return False
    if lead.plus:
        if d.startswith("86"):
            return bool(_CN_MOBILE.fullmatch(d[2:]) or _CN_LANDLINE.fullmatch("0" + d[2:]))
        return 8 <= len(d) <= 15 and d[0] != "0"
    if d.startswith("0086"):
        return bool(_CN_MOBILE.fullmatch(d[4:]))
    if _CN_MOBILE.fullmatch(d) or _CN_LANDLINE.fullmatch(d):
        return True
    return bool(_NANP.fullmatch(d)) and _nanp_shape(tuple(len(g.value) for g in groups), lead)


def _nanp_shape(sizes: tuple[int, ...], lead: _Lead) -> bool:
    # A bare 10-digit run is as likely an account number; accept the ways phones are written/spoken.
    return (sizes in ((3, 3, 4), (1, 3, 3, 4)) or all(n <= 2 for n in sizes)
            or (len(sizes) == 1 and lead.phone_context))


# ---------------------------------------------------------------- digit runs

_GROUP = re.compile(r"\d{1,40}(?:[Xx](?![A-Za-z]))?")
_GAP_CHARS = frozenset(" \t-–—.,，、()（）")
_STRONG_GAP = frozenset(",，、")
_PHONE_CONTEXT = re.compile(r"(?i)phone|number|call|cell|mobile|reach|text|line|电话|手机|号码|联系|打")
_ID_CONTEXT = re.compile(r"(?i)身份证|证件|\bID\b|identity")
_EXTENSION = re.compile(r"(?i)\s{0,2}(?:ext\.?|extension|x|转|分机号?)\s{0,2}(\d{1,5})(?!\d)")
MAX_DIGITS = 19  # longest card
MIN_DIGITS = 8  # shortest E.164 number we accept


@dataclass(frozen=True)
class _Group:
    start: int  # offsets in the normalised text
    end: int
    value: str


def _runs(norm: str) -> list[list[_Group]]:
    runs: list[list[_Group]] = []
    current: list[_Group] = []
    for m in _GROUP.finditer(norm):
        before = norm[m.start() - 1] if m.start() else ""
        after = norm[m.end()] if m.end() < len(norm) else ""
        if before.isascii() and before.isalpha() or after.isascii() and after.isalpha():
            current = _close(runs, current)  # "SF123…", "3pm", "120k", "v2": codes, not numbers
            continue
        if current and not _joinable(norm[current[-1].end:m.start()], current[-1].value):
            current = _close(runs, current)
        current.append(_Group(m.start(), m.end(), m.group()))
    _close(runs, current)
    return runs


def _close(runs: list[list[_Group]], current: list[_Group]) -> list[_Group]:
    if current:
        runs.append(current)
    return []


def _joinable(gap: str, previous: str) -> bool:
    return 1 <= len(gap) <= 3 and set(gap) <= _GAP_CHARS and not previous[-1] in "Xx"


@dataclass(frozen=True)
class _Context:
    """Where context words end in the text, found once so each candidate start is a bisect."""

    phone: list[int]
    id: list[int]

    @classmethod
    def of(cls, text: str) -> _Context:
        return cls([m.end() for m in _PHONE_CONTEXT.finditer(text)],
                   [m.end() for m in _ID_CONTEXT.finditer(text)])

    @staticmethod
    def near(ends: list[int], start: int, size: int = 40) -> bool:
        k = bisect.bisect_right(ends, start)
        return k > 0 and ends[k - 1] >= start - size


def _carve(run: list[_Group], norm: _Normalised, text: str, ctx: _Context) -> list[PiiSpan]:
    spans: list[PiiSpan] = []
    strong = [any(ch in _STRONG_GAP for ch in norm.text[a.end:b.start]) for a, b in pairwise(run)]
    i = 0
    while i < len(run):
        found = _longest_at(run, i, norm, ctx, strong)
        if found is None:
            i += 1
            continue
        j, kind = found
        spans.append(_span_for(run, i, j, kind, norm, text))
        i = j + 1
    return spans


def _longest_at(run: list[_Group], i: int, norm: _Normalised, ctx: _Context,
                strong: list[bool]) -> tuple[int, PiiKind] | None:
    """Longest group-aligned slice starting at group i that validates as a kind.

    IDs and cards must be a whole run or cut at commas (`strong` gaps): they are read in one go.
    """
    start = norm.starts[run[i].start]
    lead = _Lead(plus="+" in norm.text[max(0, run[i].start - 2):run[i].start],
                 phone_context=_Context.near(ctx.phone, start),
                 id_context=_Context.near(ctx.id, start),
                 bounded=i == 0 or strong[i - 1])
    digits, best = "", None
    for j in range(i, len(run)):
        digits += run[j].value
        if len(digits) > MAX_DIGITS:
            break
        if len(digits) < MIN_DIGITS:
            continue
        bounded = lead.bounded and (j == len(run) - 1 or strong[j])
        kind = _classify(digits, run[i:j + 1], lead, bounded)
        if kind is not None:
            best = (j, kind)
    return best


def _classify(digits: str, groups: list[_Group], lead: _Lead, bounded: bool) -> PiiKind | None:
    if bounded and len(digits) in (15, 18) and _is_cn_id(digits, legacy_context=lead.id_context):
        return PiiKind.CN_ID
    if not digits.isdigit():
        return None
    if bounded and _is_card(digits):
        return PiiKind.BANK_CARD
    if _is_phone(digits, groups, lead):
        return PiiKind.PHONE
    return None


def _span_for(run: list[_Group], i: int, j: int, kind: PiiKind, norm: _Normalised,
              text: str) -> PiiSpan:
    start, end = norm.starts[run[i].start], norm.ends[run[j].end - 1]
    if kind is PiiKind.PHONE:
        if text[max(0, start - 2):start] == "+ ":
            start -= 2
        elif start and text[start - 1] in "+(（":
            start -= 1
        ext = _EXTENSION.match(text, end)
        end = ext.end() if ext else end
    return PiiSpan(kind, start, end, text[start:end])


def _number_spans(text: str) -> list[PiiSpan]:
    norm = _normalise(text)
    ctx = _Context.of(text)
    return [span for run in _runs(norm.text) for span in _carve(run, norm, text, ctx)]


# ---------------------------------------------------------------- emails

_TOKEN = r"[A-Za-z0-9][A-Za-z0-9_-]{0,40}"
_WRITTEN_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}\s?@\s?"
    r"[A-Za-z0-9][A-Za-z0-9-]{0,62}(?:\.[A-Za-z0-9-]{1,63}){0,4}\.[A-Za-z]{2,24}(?![A-Za-z0-9])")
_TLDS = ("com|cn|net|org|io|co|uk|hk|tw|sg|jp|de|fr|edu|gov|ai|us|biz|info|me|app|dev|au|ca|in")
_LOCAL_SEP = r"(?:\s{0,2}\.\s{0,2}|\s{1,2}(?:dot|underscore|dash|hyphen)\s{1,2}|\s{0,2}点\s{0,2})"
_DOT = r"(?:\s{0,2}\.\s{0,2}|\s{1,2}dot\s{1,2}|\s{0,2}点\s{0,2})"
_SPOKEN_EMAIL = re.compile(
    rf"(?i)(?<![A-Za-z0-9_.'’-])(?P<local>{_TOKEN}(?:{_LOCAL_SEP}{_TOKEN}){{0,3}})"
    rf"(?P<at>\s{{1,2}}at\s{{1,2}}|\s{{0,2}}(?:@|艾特)\s{{0,2}})"
    rf"{_TOKEN}(?:{_DOT}{_TOKEN}){{0,3}}{_DOT}(?:{_TLDS})(?![A-Za-z0-9])")
# "look at google dot com", "I'm at acme.com": the word before a spoken "at" is not a mailbox.
_NOT_LOCAL = frozenset(
    ["i", "im", "we", "were", "was", "is", "are", "am", "be", "been", "look", "looking", "looked", "me", "us", "them", "it", "that", "this", "here", "there", "stay", "staying", "based", "meet", "meeting", "arrive", "arrived", "who", "which", "you", "they", "he", "she", "one", "best", "reach", "anyone", "someone", "people", "team", "guys", "folks"])


def _email_spans(text: str) -> list[PiiSpan]:
    spans = [PiiSpan(PiiKind.EMAIL, m.start(), m.end(), m.group())
             for m in _WRITTEN_EMAIL.finditer(text)]
    for m in _SPOKEN_EMAIL.finditer(text):
        local = m.group("local")
        if m.group("at").strip().lower() == "at" and local.lower() in _NOT_LOCAL:
            continue
        spans.append(PiiSpan(PiiKind.EMAIL, m.start(), m.end(), m.group()))
    return spans


# ---------------------------------------------------------------- amounts

_NUM = r"\d{1,4}(?:,\d{3}){1,5}(?:\.\d{1,4})?|\d{1,12}(?:\.\d{1,4})?"
_MULT = r"(?:\s?(?:k|K|m|M|bn|thousand|million|billion|grand)\b|万|千|百万|亿)"
_PREFIX = r"(?:[¥￥$€£]|(?:RMB|USD|CNY|EUR|HKD|GBP)\s?)"
_SUFFIX = (r"(?:\s?(?:dollars|bucks|euros|yuan|RMB|USD|CNY)\b|元|块钱|块|美元|美金|欧元|港币|人民币"
           r"|万元|万人民币)")
_COUNT_NOUN = (r"(?!\s?(?:个|人|名|位|用户|台|家|条|次|座|套|件|份|户|seats|users|people|reps"
               r"|accounts|customers|licenses|calls|units|downloads))")
_ZH_NUM = r"(?<![零〇一二两三四五六七八九十百千万亿])[一二两三四五六七八九十][零〇一二两三四五六七八九十百千]{0,7}"
_AMOUNT = re.compile(
    rf"(?<![A-Za-z0-9_.]){_PREFIX}(?:{_NUM}){_MULT}?"
    rf"|(?<![A-Za-z0-9_.,])(?:{_NUM}){_MULT}?{_SUFFIX}"
    rf"|(?<![A-Za-z0-9_.,])(?:{_NUM})(?:万|k|K)(?![A-Za-z0-9]){_COUNT_NOUN}"
    rf"|{_ZH_NUM}(?:万|亿)?{_SUFFIX}"
    rf"|{_ZH_NUM}(?:万|亿){_COUNT_NOUN}")


def _amount_spans(text: str) -> list[PiiSpan]:
    return [PiiSpan(PiiKind.AMOUNT, m.start(), m.end(), m.group()) for m in _AMOUNT.finditer(text)]


# ---------------------------------------------------------------- public API


def _resolve(candidates: list[PiiSpan]) -> list[PiiSpan]:
    """Keep non-overlapping spans, most specific kind first, then longest."""
    ordered = sorted(candidates, key=lambda s: (PRIORITY[s.kind], s.start - s.end, s.start))
    starts: list[int] = []
    kept: list[PiiSpan] = []
    for span in ordered:
        k = bisect.bisect_left(starts, span.start)
        if k < len(kept) and kept[k].start < span.end or k and kept[k - 1].end > span.start:
            continue
        starts.insert(k, span.start)
        kept.insert(k, span)
    return kept


def find_pii(text: str, policy: RedactionPolicy = RedactionPolicy()) -> list[PiiSpan]:
    """Spans of PII in `text` that the policy asks to redact, in text order."""
    if not isinstance(text, str):
        raise Unprocessable(f"find_pii needs text as str, got {type(text).__name__}.")
    # Every kind is detected before filtering, so a disabled kind still claims its digits
    # (an ID that happens to pass Luhn must not resurface as a card when IDs are switched off).
    found = _resolve(_email_spans(text) + _number_spans(text) + _amount_spans(text))
    return [s for s in found if s.kind in policy.kinds]


def replacement(span: PiiSpan, style: ReplacementStyle) -> str:
    """The text that stands in for one span under a replacement style."""
    if style is ReplacementStyle.TAG:
        return TAGS[span.kind]
    keep = 0 if span.kind in (PiiKind.EMAIL, PiiKind.AMOUNT) else 4
    maskable = [i for i, ch in enumerate(span.text) if ch.isalnum()]
    hidden = set(maskable[:len(maskable) - keep] if keep else maskable)
    return "".join("*" if i in hidden else ch for i, ch in enumerate(span.text))


def redact(text: str, policy: RedactionPolicy = RedactionPolicy()) -> RedactionResult:
    """Replace every PII span the policy covers; return the new text and what was replaced."""
    spans = find_pii(text, policy)
    out, pos = [], 0
    for span in spans:
        out += [text[pos:span.start], replacement(span, policy.style)]
        pos = span.end
    out.append(text[pos:])
    return RedactionResult("".join(out), tuple(spans), text if policy.keep_original else None)


def _needs_space(left: str, right: str) -> bool:
    if not left or not right or left[-1].isspace() or right[0].isspace():
        return False
    return left[-1].isascii() and right[0].isascii()  # CJK words are written without spaces


def joined_text(words: Sequence[tuple[float, float, str]]) -> tuple[str, list[tuple[int, int]]]:
    """The words as one string (the text find_pii sees) and each word's character range in it."""
    parts: list[str] = []
    ranges: list[tuple[int, int]] = []
    length = 0
    for index, word in enumerate(words):
        if len(word) != 3 or not isinstance(word[2], str) or word[0] > word[1]:
            raise Unprocessable(
                f"Word {index} must be (start_s, end_s, text) with start_s <= end_s, got {word!r}.")
        sep = " " if parts and _needs_space(parts[-1], word[2]) else ""
        parts.append(sep + word[2])
        length += len(sep)
        ranges.append((length, length + len(word[2])))
        length += len(word[2])
    return "".join(parts), ranges


def redact_words(words: Sequence[tuple[float, float, str]],
                 policy: RedactionPolicy = RedactionPolicy()) -> WordRedaction:
    """Which timed words a PII span touches (spans may cross word boundaries), and their masks."""
    text, ranges = joined_text(words)
    spans = find_pii(text, policy)
    covered: dict[int, PiiSpan] = {}
    ends = [r[1] for r in ranges]
    for span in spans:
        k = bisect.bisect_right(ends, span.start)
        while k < len(ranges) and ranges[k][0] < span.end:
            if ranges[k][1] > ranges[k][0]:
                covered.setdefault(k, span)
            k += 1
    masked = [(w[0], w[1], _mask_word(i, w[2], covered, ranges, text, policy))
              for i, w in enumerate(words)]
    indexes = tuple(sorted(covered))
    return WordRedaction(indexes, tuple(masked), _merge([(words[i][0], words[i][1]) for i in indexes]),
                         tuple(spans))


def _mask_word(i: int, word: str, covered: dict[int, PiiSpan], ranges: list[tuple[int, int]],
               text: str, policy: RedactionPolicy) -> str:
    span = covered.get(i)
    if span is None:
        return word
    if policy.style is ReplacementStyle.TAG:
        # The tag goes on the first word of the span; later words of the same span go blank.
        first = ranges[i][0] <= span.start or i == 0 or covered.get(i - 1) is not span
        return TAGS[span.kind] if first else ""
    masked = replacement(span, policy.style)
    lo, hi = ranges[i]
    return "".join(masked[p - span.start] if span.start <= p < span.end else text[p]
                   for p in range(lo, hi))


def _merge(times: list[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    merged: list[tuple[float, float]] = []
    for start, end in sorted(times):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return tuple(merged)

"""Transcript types, format sniffing, parsers (JSON, Megaview JSON, WebVTT, SRT, text) and exporters.

Pure Python: no database, no web framework, no models/. Every rejection is a
`TranscriptFormatError` naming the format, the place and the fix (the API answers 422).
"""

from __future__ import annotations

import html
import json
import math
import re
import statistics
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

Role = Literal["rep", "customer", "unknown"]
ROLES: tuple[Role, ...] = ("rep", "customer", "unknown")

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
MAX_UTTERANCES = 50_000
MAX_UTTERANCE_CHARS = 50_000
MAX_SPEAKER_CHARS = 64  # the width of utterance.speaker in the database
# Speaking rates used to estimate times for untimed text: ~150 words/min English, ~4 characters/s Chinese.
EN_WORDS_PER_S = 150 / 60
ZH_CHARS_PER_S = 4.0
MIN_ESTIMATED_TURN_S = 0.5

# Speaker labels that name a role (compared case-insensitively).
ROLE_WORDS: dict[str, Role] = {
    **dict.fromkeys(
        [
            "rep",
            "sales rep",
            "salesperson",
            "sales",
            "salesman",
            "saleswoman",
            "agent",
            "seller",
            "销售",
            "销售顾问",
            "坐席",
            "host_salesman",
        ],
        "rep",
    ),
    **dict.fromkeys(
        ["customer", "prospect", "client", "buyer", "客户", "顾客", "customer_contact"], "customer"
    ),
}
ROLE_LABELS: dict[str, dict[str, str]] = {
    "en": {"rep": "Rep", "customer": "Customer", "unknown": "Unknown"},
    "zh": {"rep": "销售", "customer": "客户", "unknown": "未知"},
}


@dataclass(frozen=True)
class Word:
    """One recognised word with its times in seconds."""

    start: float
    end: float
    text: str
    probability: float | None = None


@dataclass(frozen=True)
class Utterance:
    """One speaker turn; times in seconds from the start of the call."""

    index: int
    speaker: str
    role: Role
    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()


@dataclass(frozen=True)
class ParsedTranscript:
    """A parsed transcript; `timing_estimated` is true when times come from the speaking rate."""

    utterances: tuple[Utterance, ...]
    language: str | None
    duration_s: float | None
    source_format: str
    timing_estimated: bool = False


class TranscriptFormatError(ValueError):
    """A transcript that cannot be read; the message names format, place, problem and fix."""

    def __init__(self, fmt: str, where: str, problem: str, fix: str) -> None:
        self.format, self.where, self.problem, self.fix = fmt, where, problem, fix
        super().__init__(f"{fmt} transcript, {where}: {problem}. {fix}")


# ---------------------------------------------------------------- text helpers

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af"
_CJK_RE = re.compile(f"[{_CJK}]")
_CJK_PUNCT = "，。！？、；：“”‘’（）《》【】…—"
_LATIN_WORD_RE = re.compile(r"[A-Za-z0-9\u00C0-\u024F]+(?:['’][A-Za-z]+)*")
# C0/C1 controls and bidi overrides: removed from all text (tab becomes a space).
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_WS_RE = re.compile(r"\s+")
_ODD_CATEGORIES = frozenset({"Cc", "Co", "Cn", "Cs"})
_NO_SPACE_BEFORE = set(",.!?;:%)]}…'’\"" + _CJK_PUNCT)


def is_cjk(char: str) -> bool:
    """True for a Chinese/Japanese/Korean character (punctuation excluded)."""
    return bool(_CJK_RE.match(char))


def clean_text(text: str) -> str:
    """Remove control characters and collapse whitespace to single spaces."""
    return _WS_RE.sub(" ", _CONTROL_RE.sub("", text.replace("\t", " "))).strip()


def join_text(parts: Iterable[str]) -> str:
    """Join fragments: no space next to CJK or before closing punctuation, one space otherwise."""
    out = ""
    for raw in parts:
        piece = clean_text(raw)
        if not piece:
            continue
        if out and not (
            is_cjk(out[-1])
            or out[-1] in _CJK_PUNCT
            or is_cjk(piece[0])
            or piece[0] in _NO_SPACE_BEFORE
        ):
            out += " "
        out += piece
    return out


def count_units(text: str) -> tuple[int, int]:
    """(Latin-script words, CJK characters) in `text`."""
    return len(_LATIN_WORD_RE.findall(text)), len(_CJK_RE.findall(text))


def detect_language(text: str) -> str | None:
    """'zh' when CJK characters outnumber Latin words, 'en' when there are words, else None."""
    words, cjk = count_units(text)
    if words == 0 and cjk == 0:
        return None
    return "zh" if cjk > words else "en"


def estimate_duration_s(text: str) -> float:
    """Speaking time from the rate: words / 2.5 per s + CJK characters / 4 per s (min 0.5 s)."""
    words, cjk = count_units(text)
    return max(MIN_ESTIMATED_TURN_S, words / EN_WORDS_PER_S + cjk / ZH_CHARS_PER_S)


def role_for_label(label: str | None) -> Role:
    """The role a speaker label names ('Rep', 'Prospect', '销售' …), else 'unknown'."""
    return ROLE_WORDS.get((label or "").strip().lower(), "unknown")


# ---------------------------------------------------------------- parsing entry point


def parse_transcript(
    data: bytes,
    *,
    filename: str | None = None,
    content_type: str | None = None,
    roles: Mapping[str, str] | None = None,
    language: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ParsedTranscript:
    """Parse a transcript, sniffing its format from the content (not the name or type)."""
    del content_type  # accepted for the upload API; the content decides
    role_map = _check_roles(roles)
    text = _decode(data, max_bytes=max_bytes, filename=filename)
    fmt = sniff_format(text)
    if fmt == "json":
        parsed = _parse_json(text, role_map)
    elif fmt == "webvtt":
        parsed = _parse_cues(text, role_map, fmt="WebVTT", source="webvtt", header=True)
    elif fmt == "srt":
        parsed = _parse_cues(text, role_map, fmt="SRT", source="srt", header=False)
    else:
        parsed = _parse_text(text, role_map)
    return _finish(parsed, language)


def sniff_format(text: str) -> str:
    """'json', 'webvtt', 'srt' or 'text', decided from the first characters and lines."""
    head = text.lstrip()
    if head.startswith("{") or (head.startswith("[") and not _TEXT_STAMP_RE.match(head)):
        return "json"
    if head.startswith("WEBVTT"):
        return "webvtt"
    first_lines = [line for line in head.splitlines()[:12] if line.strip()]
    if any(_TIMING_RE.match(line.strip()) for line in first_lines[:3]):
        return "srt"
    return "text"


def _check_roles(roles: Mapping[str, str] | None) -> dict[str, Role]:
    out: dict[str, Role] = {}
    for speaker, role in (roles or {}).items():
        if role not in ROLES:
            raise TranscriptFormatError(
                "Roles mapping",
                f"speaker {speaker!r}",
                f"role {role!r} is not rep, customer or unknown",
                "Map each speaker name to 'rep', 'customer' or 'unknown'",
            )
        out[speaker.strip().lower()] = cast(Role, role)
    return out


def _decode(data: bytes, *, max_bytes: int, filename: str | None) -> str:
    name = f"file {filename!r}" if filename else "file"
    if len(data) > max_bytes:
        raise TranscriptFormatError(
            "Uploaded",
            name,
            f"it is {len(data):,} bytes, over the {max_bytes:,} byte limit",
            "Split the transcript into smaller files or ask an admin to raise the limit",
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16", errors="replace")
    elif b"\x00" in data:
        raise _binary(name)
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            try:  # Chinese Windows tools still save GBK/GB18030 text.
                text = data.decode("gb18030")
            except UnicodeDecodeError:
                raise TranscriptFormatError(
                    "Uploaded",
                    f"{name}, byte {exc.start}",
                    "the bytes are not UTF-8 (or GB18030) text",
                    "Save the transcript as UTF-8 text (JSON, WebVTT, SRT or plain text)",
                ) from None
    if not text.strip():
        raise TranscriptFormatError(
            "Uploaded",
            name,
            "the file is empty",
            "Upload a transcript with at least one line such as 'Rep: Hello'",
        )
    if _looks_binary(text):
        raise _binary(name)
    return text


def _looks_binary(text: str) -> bool:
    """More than 1% controls, replacement, private-use or unassigned characters (first 200k)."""
    sample = text[:200_000]
    odd = sum(
        1 for ch in sample if ch not in "\t\n\r\f\v" and unicodedata.category(ch) in _ODD_CATEGORIES
    )
    return odd + sample.count("\ufffd") > max(8, len(sample) // 100)


def _binary(name: str) -> TranscriptFormatError:
    return TranscriptFormatError(
        "Uploaded",
        name,
        "the content is binary, not text",
        "Upload the transcript as text (JSON, WebVTT, SRT or plain text); audio goes to the audio upload",
    )


def _finish(parsed: ParsedTranscript, language: str | None) -> ParsedTranscript:
    utterances = sorted(parsed.utterances, key=lambda u: u.start)  # stable: ties keep file order
    if not utterances:
        raise TranscriptFormatError(
            parsed.source_format,
            "file",
            "no utterance with text was found",
            "Check that the file holds the conversation itself",
        )
    reindexed = tuple(_with(u, index=i) for i, u in enumerate(utterances))
    lang = language or parsed.language or detect_language(" ".join(u.text for u in reindexed[:500]))
    duration = parsed.duration_s if parsed.duration_s is not None else max(u.end for u in reindexed)
    return ParsedTranscript(
        reindexed, lang, duration, parsed.source_format, parsed.timing_estimated
    )


def _with(u: Utterance, **changes: Any) -> Utterance:
    fields = {**u.__dict__, **changes}
    return Utterance(**fields)


def _make_utterance(
    *,
    fmt: str,
    where: str,
    speaker: str,
    role: Role,
    start: float,
    end: float,
    text: str,
    words: tuple[Word, ...] = (),
) -> Utterance | None:
    text = clean_text(text)
    speaker = clean_text(speaker) or ROLE_LABELS["en"][role]
    if len(speaker) > MAX_SPEAKER_CHARS:
        raise TranscriptFormatError(
            fmt,
            where,
            f"the speaker name is {len(speaker)} characters, over {MAX_SPEAKER_CHARS}",
            "Shorten the speaker name",
        )
    if len(text) > MAX_UTTERANCE_CHARS:
        raise TranscriptFormatError(
            fmt,
            where,
            f"one utterance is {len(text):,} characters, over {MAX_UTTERANCE_CHARS:,}",
            "Split long turns into several utterances (one per speaker turn)",
        )
    if end < start:
        raise TranscriptFormatError(
            fmt,
            where,
            f"end {end:.3f}s is before start {start:.3f}s",
            "Swap or correct the two times",
        )
    if not text:
        return None
    return Utterance(0, speaker, role, start, end, text, words)


def _resolve_role(speaker: str, hint: str | None, roles: Mapping[str, Role]) -> Role:
    """Caller's mapping first, then a role hint from the file, then a role word as the name."""
    mapped = roles.get(clean_text(speaker).lower())
    if mapped is not None:
        return mapped
    from_hint = role_for_label(hint)
    return from_hint if from_hint != "unknown" else role_for_label(speaker)


def _count_guard(fmt: str, where: str, count: int) -> None:
    if count > MAX_UTTERANCES:
        raise TranscriptFormatError(
            fmt,
            where,
            f"more than {MAX_UTTERANCES:,} utterances",
            "Split the transcript; one call should not need that many turns",
        )


# ---------------------------------------------------------------- JSON (ours and Megaview-style)

_TIME_KEYS = (
    ("begin_time", "end_time"),
    ("start", "end"),
    ("begin", "end"),
    ("start_time", "end_time"),
    ("begin_time_ms", "end_time_ms"),
    ("start_ms", "end_ms"),
)
_TEXT_KEYS = ("text", "content", "sentence")
_SPEAKER_KEYS = ("speaker", "speaker_name", "name", "user_name", "speaker_id")
_ROLE_KEYS = ("role", "speaker_role", "role_type")
_WRAPPER_KEYS = (
    "segments",
    "sentences",
    "utterances",
    "data",
    "result",
    "results",
    "list",
    "items",
    "transcript",
)
# Megaview-style times are milliseconds when a key says so (`*_ms`) or when every time is an
# integer and either the median segment is longer than 60 (no real turn's median is a minute)
# or the last end is past 14,400 (4 hours in seconds). Anything else is seconds.
_MS_MEDIAN_THRESHOLD = 60
_MS_MAX_END_THRESHOLD = 4 * 3600


def _parse_json(text: str, roles: Mapping[str, Role]) -> ParsedTranscript:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TranscriptFormatError(
            "JSON",
            f"line {exc.lineno}, column {exc.colno}",
            f"invalid JSON ({exc.msg})",
            "Fix the JSON syntax; `python -m json.tool FILE` points at the spot",
        ) from None
    except RecursionError:
        raise TranscriptFormatError(
            "JSON", "file", "the JSON is nested too deeply", "Send a flat list of utterances"
        ) from None
    if isinstance(doc, dict) and isinstance(doc.get("utterances"), list):
        return _parse_own_json(doc, roles)
    segments = _find_segments(doc, depth=0)
    if segments is None:
        raise TranscriptFormatError(
            "JSON",
            "top level",
            "found neither an 'utterances' list (Talktrack JSON) nor a list of segments (Megaview-style)",
            'Send {"utterances": [{"speaker", "role", "start", "end", "text"}]} or a list of segments '
            "with role, begin_time, end_time and text",
        )
    return _parse_segments(segments, roles)


def _find_segments(doc: Any, *, depth: int) -> list[Any] | None:
    if isinstance(doc, list):
        return doc
    if not isinstance(doc, dict) or depth > 3:
        return None
    for key in _WRAPPER_KEYS:
        if key in doc:
            found = _find_segments(doc[key], depth=depth + 1)
            if found is not None:
                return found
    return None


def _number(value: Any, *, fmt: str, where: str, field: str) -> float:
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            value = None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TranscriptFormatError(
            fmt,
            where,
            f"'{field}' is {value!r}, not a finite number",
            f"Give '{field}' as a number",
        )
    if value < 0:
        raise TranscriptFormatError(
            fmt, where, f"'{field}' is negative ({value})", "Times start at 0"
        )
    return float(value)


def _require(item: Any, keys: Sequence[str], *, fmt: str, where: str) -> tuple[str, Any]:
    if not isinstance(item, dict):
        raise TranscriptFormatError(
            fmt,
            where,
            f"expected an object, got {type(item).__name__}",
            "Make every entry a JSON object",
        )
    for key in keys:
        if key in item and item[key] is not None:
            return key, item[key]
    raise TranscriptFormatError(
        fmt,
        where,
        f"missing required field '{keys[0]}'",
        f"Add '{keys[0]}'" + (f" (also accepted: {', '.join(keys[1:])})" if len(keys) > 1 else ""),
    )


def _parse_own_json(doc: dict[str, Any], roles: Mapping[str, Role]) -> ParsedTranscript:
    fmt, items = "Talktrack JSON", doc["utterances"]
    _count_guard(fmt, "utterances", len(items))
    out: list[Utterance] = []
    for i, item in enumerate(items):
        where = f"utterance {i}"
        start = _number(
            _require(item, ("start",), fmt=fmt, where=where)[1], fmt=fmt, where=where, field="start"
        )
        end = _number(
            _require(item, ("end",), fmt=fmt, where=where)[1], fmt=fmt, where=where, field="end"
        )
        text = _string(
            _require(item, ("text",), fmt=fmt, where=where)[1], fmt=fmt, where=where, field="text"
        )
        file_role = item.get("role")
        if file_role is not None and file_role not in ROLES:
            raise TranscriptFormatError(
                fmt,
                where,
                f"role {file_role!r} is not rep, customer or unknown",
                "Use one of rep, customer, unknown",
            )
        speaker = _string(item.get("speaker") or "", fmt=fmt, where=where, field="speaker")
        speaker = speaker or ROLE_LABELS["en"][file_role or "unknown"]
        role = roles.get(speaker.lower()) or file_role or role_for_label(speaker)
        words = _parse_words(item.get("words") or [], fmt=fmt, where=where)
        utt = _make_utterance(
            fmt=fmt,
            where=where,
            speaker=speaker,
            role=role,
            start=start,
            end=end,
            text=text,
            words=words,
        )
        if utt is not None:
            out.append(utt)
    duration = doc.get("duration_s")
    duration_s = (
        _number(duration, fmt=fmt, where="duration_s", field="duration_s")
        if duration is not None
        else None
    )
    language = doc.get("language") if isinstance(doc.get("language"), str) else None
    return ParsedTranscript(
        tuple(out), language, duration_s, "talktrack_json", bool(doc.get("timing_estimated", False))
    )


def _string(value: Any, *, fmt: str, where: str, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TranscriptFormatError(
            fmt,
            where,
            f"'{field}' is {type(value).__name__}, not text",
            f"Give '{field}' as a string",
        )
    return str(value)


def _parse_words(items: Any, *, fmt: str, where: str) -> tuple[Word, ...]:
    if not isinstance(items, list):
        raise TranscriptFormatError(
            fmt, where, "'words' is not a list", "Give words as a list of objects"
        )
    words = []
    for j, item in enumerate(items):
        at = f"{where}, word {j}"
        start = _number(
            _require(item, ("start",), fmt=fmt, where=at)[1], fmt=fmt, where=at, field="start"
        )
        end = _number(
            _require(item, ("end",), fmt=fmt, where=at)[1], fmt=fmt, where=at, field="end"
        )
        text = _string(
            _require(item, ("text",), fmt=fmt, where=at)[1], fmt=fmt, where=at, field="text"
        )
        prob = item.get("probability")
        probability = (
            None if prob is None else _number(prob, fmt=fmt, where=at, field="probability")
        )
        words.append(Word(start, end, _CONTROL_RE.sub("", text), probability))
    return tuple(words)


def _parse_segments(segments: list[Any], roles: Mapping[str, Role]) -> ParsedTranscript:
    fmt = "Megaview JSON"
    _count_guard(fmt, "segments", len(segments))
    rows = []
    for i, seg in enumerate(segments):
        where = f"segment {i}"
        start_key = _require(seg, [pair[0] for pair in _TIME_KEYS], fmt=fmt, where=where)[0]
        end_key = dict(_TIME_KEYS).get(start_key, "end")
        _, end_raw = _require(seg, (end_key, "end", "end_time"), fmt=fmt, where=where)
        start = _number(seg[start_key], fmt=fmt, where=where, field=start_key)
        end = _number(end_raw, fmt=fmt, where=where, field=end_key)
        text = _string(
            _require(seg, _TEXT_KEYS, fmt=fmt, where=where)[1], fmt=fmt, where=where, field="text"
        )
        file_role = next((str(seg[k]) for k in _ROLE_KEYS if seg.get(k) is not None), None)
        speaker = next((str(seg[k]) for k in _SPEAKER_KEYS if seg.get(k) not in (None, "")), "")
        rows.append(
            (where, start_key, seg[start_key], end_raw, start, end, text, file_role, speaker)
        )
    scale = 0.001 if _is_milliseconds(rows) else 1.0
    out = []
    for where, _, _, _, start, end, text, file_role, speaker in rows:
        named = role_for_label(file_role)
        label = speaker or (
            ROLE_LABELS["en"][named] if named != "unknown" else file_role or "Unknown"
        )
        role = _resolve_role(label, file_role, roles)
        utt = _make_utterance(
            fmt=fmt,
            where=where,
            speaker=label,
            role=role,
            start=start * scale,
            end=end * scale,
            text=text,
        )
        if utt is not None:
            out.append(utt)
    return ParsedTranscript(tuple(out), None, None, "megaview_json")


def _is_milliseconds(rows: list[tuple[Any, ...]]) -> bool:
    if not rows:
        return False
    if any(str(row[1]).endswith("_ms") for row in rows):
        return True
    raw_times = [value for row in rows for value in (row[2], row[3])]
    if not all(_is_integral(value) for value in raw_times):
        return False
    median = statistics.median(row[5] - row[4] for row in rows)
    return median > _MS_MEDIAN_THRESHOLD or max(row[5] for row in rows) > _MS_MAX_END_THRESHOLD


def _is_integral(value: Any) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return True
    return isinstance(value, str) and value.strip().isdigit()


# ---------------------------------------------------------------- WebVTT and SRT

_STAMP = r"(?:(\d{1,3}):)?(\d{1,2}):(\d{2})[.,](\d{1,3})"
_TIMING_RE = re.compile(rf"^{_STAMP}\s*-->\s*{_STAMP}(?:\s+.*)?$")
_VOICE_RE = re.compile(r"^<v((?:\.[\w-]+)*)(?:\s+([^>]*))?>")
_TAG_RE = re.compile(
    r"</?(?:[biu]|v|c|lang|ruby|rt|font|span)(?:[.\s][^>]*)?>|<\d[\d:.]*>", re.IGNORECASE
)
_SKIP_BLOCKS = ("NOTE", "STYLE", "REGION")


def _parse_cues(
    text: str,
    roles: Mapping[str, Role],
    *,
    fmt: str,
    source: str,
    header: bool,
) -> ParsedTranscript:
    lines = text.splitlines()
    if header and not re.match(r"^\ufeff?WEBVTT(?:[ \t].*)?$", lines[0].strip()):
        raise TranscriptFormatError(
            fmt,
            "line 1",
            "the first line must be 'WEBVTT'",
            "Start the file with a line that says WEBVTT",
        )
    # WebVTT header lines (title, Kind:, Language:) run up to the first blank line.
    body_from = (
        next((i for i, line in enumerate(lines) if not line.strip()), len(lines)) if header else 0
    )
    out: list[Utterance] = []
    last: tuple[str | None, str | None] = (None, None)
    for first, block in _blocks(lines[body_from:], offset=body_from + 1):
        if header and re.split(r"[ \t]", block[0], maxsplit=1)[0] in _SKIP_BLOCKS:
            continue
        timing_at = 0 if "-->" in block[0] else 1
        if timing_at >= len(block) or "-->" not in block[timing_at]:
            raise TranscriptFormatError(
                fmt,
                f"line {first}",
                f"cue {block[0][:40]!r} has no timing line",
                f"Give every cue a line like {_stamp(1, _sep(fmt))} --> {_stamp(4, _sep(fmt))}",
            )
        start, end = _parse_timing(block[timing_at], fmt=fmt, line_no=first + timing_at)
        for who, hint, words, s, e in _cue_turns(
            block[timing_at + 1 :], start, end, last, vtt=header, roles=roles
        ):
            last = (who, hint)
            role = _resolve_role(who, hint, roles) if who else "unknown"
            utt = _make_utterance(
                fmt=fmt,
                where=f"line {first}",
                speaker=who or "Unknown",
                role=role,
                start=s,
                end=e,
                text=words,
            )
            if utt is not None:
                out.append(utt)
                _count_guard(fmt, f"line {first}", len(out))
    return ParsedTranscript(tuple(out), None, None, source)


def _blocks(lines: list[str], *, offset: int) -> Iterable[tuple[int, list[str]]]:
    block: list[str] = []
    first = offset
    for i, raw in enumerate(lines):
        line = _CONTROL_RE.sub("", raw).strip()
        if line:
            if not block:
                first = i + offset
            block.append(line)
        elif block:
            yield first, block
            block = []
    if block:
        yield first, block


def _parse_timing(line: str, *, fmt: str, line_no: int) -> tuple[float, float]:
    match = _TIMING_RE.match(line)
    sep = _sep(fmt)
    if match is None:
        raise TranscriptFormatError(
            fmt,
            f"line {line_no}",
            f"cue timing {line[:60]!r} is not 'HH:MM:SS{sep}mmm --> HH:MM:SS{sep}mmm'",
            f"Write times like 00:01:02{sep}500 --> 00:01:04{sep}000",
        )
    groups = match.groups()
    start, end = _seconds(groups[:4]), _seconds(groups[4:])
    if start is None or end is None:
        raise TranscriptFormatError(
            fmt,
            f"line {line_no}",
            f"minutes or seconds over 59 in {line[:60]!r}",
            "Minutes and seconds run from 00 to 59",
        )
    if end < start:
        raise TranscriptFormatError(
            fmt,
            f"line {line_no}",
            f"cue ends before it starts ({line[:60]!r})",
            "Swap or correct the two times",
        )
    return start, end


def _sep(fmt: str) -> str:
    return "." if fmt == "WebVTT" else ","


def _seconds(parts: Sequence[str | None]) -> float | None:
    hours, minutes, secs, frac = parts
    if int(minutes or 0) > 59 or int(secs or 0) > 59:
        return None
    ms = int((frac or "0").ljust(3, "0"))
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + int(secs or 0) + ms / 1000


def _cue_turns(
    payload: list[str],
    start: float,
    end: float,
    last: tuple[str | None, str | None],
    *,
    vtt: bool,
    roles: Mapping[str, Role],
) -> list[tuple[str | None, str | None, str, float, float]]:
    """Split a cue's lines by speaker; a cue without a speaker continues the last one."""
    turns: list[list[Any]] = []  # [speaker, hint, [texts]]
    for line in payload:
        who, hint, body = _line_speaker(line, vtt=vtt, roles=roles)
        if who is None:
            if turns:
                turns[-1][2].append(body)
                continue
            who, hint = last
        if turns and who == turns[-1][0] and hint == turns[-1][1]:
            turns[-1][2].append(body)
        else:
            turns.append([who, hint, [body]])
    texts = [join_text(t[2]) for t in turns]
    total = sum(len(t) for t in texts) or 1
    result, cursor = [], start
    for (who, hint, _), body in zip(turns, texts, strict=True):
        # Several speakers in one cue share its time in proportion to their text length.
        share_end = end if len(turns) == 1 else cursor + (end - start) * len(body) / total
        result.append((who, hint, body, cursor, share_end))
        cursor = share_end
    return result


def _line_speaker(
    line: str, *, vtt: bool, roles: Mapping[str, Role]
) -> tuple[str | None, str | None, str]:
    voice = _VOICE_RE.match(line)
    if voice:
        classes = [c for c in voice.group(1).split(".") if c]
        hint = next((c for c in classes if role_for_label(c) != "unknown"), None)
        body = _TAG_RE.sub("", line[voice.end() :])
        name = clean_text(html.unescape(voice.group(2) or "")) or None
        return name, hint, html.unescape(body) if vtt else body
    body = _TAG_RE.sub("", line)
    body = html.unescape(body) if vtt else body
    prefix = parse_speaker_prefix(body, roles=roles)
    return prefix if prefix else (None, None, body)


# ---------------------------------------------------------------- plain text

_NAME = r"[A-Za-z\u00C0-\u024F\u3400-\u9fff][\w.'’\- ]{0,38}?"
_PREFIX_RE = re.compile(
    rf"^\s*(?:[-–—]\s*)?(?P<name>{_NAME})\s*(?:[(（](?P<hint>[^()（）]{{1,20}})[)）])?\s*[:：]\s*(?P<text>.*)$",
    re.DOTALL,
)
_TEXT_STAMP_RE = re.compile(r"^\[(?:(\d{1,3}):)?(\d{1,2}):(\d{2})(?:[.,](\d{1,3}))?\]\s*")


def parse_speaker_prefix(
    line: str, *, roles: Mapping[str, Role] | None = None
) -> tuple[str, str | None, str] | None:
    """(speaker, role hint, rest) for 'Rep: …', 'Alice (Rep): …', '客户：…'; None when no prefix."""
    match = _PREFIX_RE.match(line)
    if match is None:
        return None
    name, hint = match.group("name").strip(), match.group("hint")
    if not _plausible_name(name, roles or {}):
        return None
    return name, hint.strip() if hint else None, match.group("text")


def _plausible_name(name: str, roles: Mapping[str, Role]) -> bool:
    # A role word, a mapped name, or a short capitalised name; rejects "so the price is: …".
    if role_for_label(name) != "unknown" or name.lower() in roles:
        return True
    if all(is_cjk(ch) for ch in name):
        return len(name) <= 8
    parts = name.split()
    return len(parts) <= 3 and all(p[0].isupper() or p[0].isdigit() or is_cjk(p[0]) for p in parts)


def _parse_text(text: str, roles: Mapping[str, Role]) -> ParsedTranscript:
    fmt = "Plain text"
    turns: list[list[Any]] = []  # [line_no, speaker, hint, [texts], stamp]
    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = _CONTROL_RE.sub("", raw).strip()
        if not line:
            continue
        stamp_match = _TEXT_STAMP_RE.match(line)
        stamp = _seconds(stamp_match.groups()) if stamp_match else None
        rest = line[stamp_match.end() :] if stamp_match else line
        prefix = parse_speaker_prefix(rest, roles=roles)
        if prefix is not None:
            turns.append([line_no, prefix[0], prefix[1], [prefix[2]], stamp])
            _count_guard(fmt, f"line {line_no}", len(turns))
        elif turns:
            turns[-1][3].append(rest)
        else:
            raise TranscriptFormatError(
                fmt,
                f"line {line_no}",
                f"{line[:40]!r} comes before any speaker prefix",
                "Start each turn with a speaker, e.g. 'Rep: …' / 'Customer: …' or '销售：…' / '客户：…'",
            )
    stamped = all(t[4] is not None for t in turns)
    out, cursor = [], 0.0
    for i, (line_no, who, hint, parts, stamp) in enumerate(turns):
        body = join_text(parts)
        start = stamp if stamped else cursor
        next_stamp = turns[i + 1][4] if stamped and i + 1 < len(turns) else None
        end = (
            next_stamp
            if next_stamp is not None and next_stamp > start
            else start + estimate_duration_s(body)
        )
        start, end = round(start, 3), round(end, 3)  # estimates: millisecond precision is plenty
        cursor = end
        utt = _make_utterance(
            fmt=fmt,
            where=f"line {line_no}",
            speaker=who,
            role=_resolve_role(who, hint, roles),
            start=start,
            end=end,
            text=body,
        )
        if utt is not None:
            out.append(utt)
    return ParsedTranscript(tuple(out), None, None, "text", timing_estimated=not stamped)


# ---------------------------------------------------------------- exporters


def to_json(
    utterances: Sequence[Utterance],
    *,
    language: str | None = None,
    duration_s: float | None = None,
    timing_estimated: bool = False,
) -> str:
    """Talktrack JSON: lossless (parse_transcript reads back the same utterances)."""
    doc = {
        "format": "talktrack.transcript",
        "version": 1,
        "language": language,
        "duration_s": duration_s,
        "timing_estimated": timing_estimated,
        "utterances": [
            {
                "index": u.index,
                "speaker": u.speaker,
                "role": u.role,
                "start": u.start,
                "end": u.end,
                "text": u.text,
                "words": [
                    {"start": w.start, "end": w.end, "text": w.text, "probability": w.probability}
                    for w in u.words
                ],
            }
            for u in utterances
        ],
    }
    return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"


def to_webvtt(utterances: Sequence[Utterance], *, language: str | None = None) -> str:
    """WebVTT with one cue per utterance and a voice tag: <v Rep> or <v.rep Dana Whitfield>."""
    cues = ["WEBVTT", ""]
    for u in utterances:
        label, with_role = _export_label(u, language)
        tag = f"<v.{u.role} {_vtt_escape(u.speaker)}>" if with_role else f"<v {_vtt_escape(label)}>"
        cues += [
            str(u.index + 1),
            f"{_stamp(u.start, '.')} --> {_stamp(u.end, '.')}",
            tag + _vtt_escape(clean_text(u.text)),
            "",
        ]
    return "\n".join(cues)


def to_srt(utterances: Sequence[Utterance], *, language: str | None = None) -> str:
    """SRT with 'Rep: ' (or 'Dana Whitfield (Rep): ') prefixes."""
    blocks = []
    for n, u in enumerate(utterances, start=1):
        blocks.append(
            f"{n}\n{_stamp(u.start, ',')} --> {_stamp(u.end, ',')}\n"
            f"{_text_prefix(u, language)}{clean_text(u.text)}\n"
        )
    return "\n".join(blocks)


def to_text(
    utterances: Sequence[Utterance], *, language: str | None = None, timestamps: bool = False
) -> str:
    """One 'Rep: text' line per utterance ('销售：' in Chinese), optionally with [HH:MM:SS.mmm]."""
    lines = []
    for u in utterances:
        stamp = f"[{_stamp(u.start, '.')}] " if timestamps else ""
        lines.append(f"{stamp}{_text_prefix(u, language)}{clean_text(u.text)}")
    return "\n".join(lines) + "\n"


def export_transcript(
    utterances: Sequence[Utterance], *, fmt: str, language: str | None = None
) -> str:
    """Export to 'json', 'webvtt', 'srt' or 'text'."""
    exporters = {
        "json": to_json,
        "webvtt": to_webvtt,
        "vtt": to_webvtt,
        "srt": to_srt,
        "text": to_text,
    }
    if fmt not in exporters:
        raise ValueError(f"Unknown export format {fmt!r}; use one of json, webvtt, srt, text")
    return exporters[fmt](utterances, language=language)


def _export_label(u: Utterance, language: str | None) -> tuple[str, bool]:
    """(label, needs a role annotation): a role-word speaker or an unknown role needs none."""
    if u.role == "unknown" or role_for_label(u.speaker) == u.role:
        return u.speaker, False
    return u.speaker, True


def _text_prefix(u: Utterance, language: str | None) -> str:
    labels = ROLE_LABELS["zh" if language == "zh" else "en"]
    colon = "：" if language == "zh" else ": "
    label, with_role = _export_label(u, language)
    prefix = f"{label} ({labels[u.role]})" if with_role else label
    if parse_speaker_prefix(f"{prefix}: x") is None:  # a name the parser would not take back
        prefix = labels[u.role]
    return prefix + colon


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _stamp(seconds: float, sep: str) -> str:
    total_ms = round(seconds * 1000)
    hours, rest = divmod(total_ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{sep}{ms:03d}"

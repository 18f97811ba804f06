"""Build utterances (speaker turns) from speaker-labelled ASR words, and cut other tools' long turns alike."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace

from app.transcripts.formats import ROLES, ParsedTranscript, Role, Utterance, Word, join_text

_SENTENCE_END = (".", "?", "!", "。", "？", "！", "…")
# A turn ends at the first sentence end once it is this long (seconds). ASR joins a speaker's
# consecutive sentences into one turn, and a turn that spans two SOP steps can carry only one of
# them. Chosen with scripts/sop_turn_granularity.py (the labelled calls re-segmented as the
# pipeline would): against 30 s, macro-F1 +0.035 (en) and +0.031 (zh) on the eval set, +0.03 and
# +0.09 on the held-out SOPs; 3 to 6 s did about as well, one utterance per sentence worse.
SENTENCE_S = 4.0
# A period that ends a title, an initial or a dotted abbreviation, not a sentence.
_ABBREVIATION = re.compile(
    r"(?i)(?:mr|mrs|ms|dr|prof|sr|jr|st|vs|approx|dept|inc|ltd|corp|fig)\.|[a-z]\.|(?:[a-z]\.){2,}"
)


def build_utterances(
    words: Sequence[tuple[Word, str]],
    *,
    roles: Mapping[str, str],
    max_gap_s: float = 1.5,
    sentence_s: float = SENTENCE_S,
    max_len_s: float = 60.0,
) -> list[Utterance]:
    """Merge consecutive same-speaker words into turns; split on pauses, sentence ends and long turns.

    A new utterance starts when the speaker changes, when the silence before a word is longer
    than `max_gap_s`, when the turn is already `sentence_s` long and the previous word ended a
    sentence, or when it is `max_len_s` long (a hard cut, for speech without sentence ends).
    Roles come from `roles` (speaker label → role).
    """
    _check(roles, max_gap_s=max_gap_s, sentence_s=sentence_s, max_len_s=max_len_s)
    ordered = sorted((pair for pair in words if pair[0].text.strip()), key=lambda p: p[0].start)
    groups: list[tuple[str, list[Word]]] = []
    for word, speaker in ordered:
        if not groups or _starts_new_turn(
            groups[-1], word, speaker, max_gap_s, sentence_s, max_len_s
        ):
            groups.append((speaker, [word]))
        else:
            groups[-1][1].append(word)
    return [_to_utterance(i, speaker, group, roles) for i, (speaker, group) in enumerate(groups)]


def _check(
    roles: Mapping[str, str], *, max_gap_s: float, sentence_s: float, max_len_s: float
) -> None:
    bad = {speaker: role for speaker, role in roles.items() if role not in ROLES}
    if bad:
        raise ValueError(f"Roles must be rep, customer or unknown; got {bad}")
    if max_gap_s <= 0 or max_len_s <= 0 or sentence_s < 0:
        raise ValueError("max_gap_s and max_len_s must be positive, sentence_s not negative")


def _starts_new_turn(
    current: tuple[str, list[Word]],
    word: Word,
    speaker: str,
    max_gap_s: float,
    sentence_s: float,
    max_len_s: float,
) -> bool:
    turn_speaker, turn_words = current
    if speaker != turn_speaker or word.start - turn_words[-1].end > max_gap_s:
        return True
    length = turn_words[-1].end - turn_words[0].start
    if length >= max_len_s:
        return True
    return length >= sentence_s and ends_sentence(turn_words[-1].text)


def ends_sentence(word: str) -> bool:
    """True when an ASR word closes a sentence ("done.", "吗？"), not an abbreviation ("Mr.", "U.S.")."""
    word = word.strip()
    if not word.endswith(_SENTENCE_END):
        return False
    return not (word.endswith(".") and _ABBREVIATION.fullmatch(word))


def _to_utterance(
    index: int, speaker: str, words: list[Word], roles: Mapping[str, str]
) -> Utterance:
    role: Role = roles.get(speaker, "unknown")  # type: ignore[assignment]  # checked in _check
    return Utterance(
        index=index,
        speaker=speaker,
        role=role,
        start=words[0].start,
        end=max(w.end for w in words),
        text=join_text(w.text for w in words),
        words=tuple(words),
    )


# An utterance of another tool's transcript this long (seconds) is a speaker's whole turn, as tools
# that export turns give them. Chosen with `scripts/sop_turn_granularity.py --imported` (the
# labelled calls exported as turns, or as labelled): for calls exported as turns macro-F1 +0.03
# to +0.05 in each language and set, for calls already cut at each step −0.011 to −0.001; at
# 10 s and less step-level lines are split too (−0.04 en).
SPLIT_IMPORTED_S = 15.0
CUE_FORMATS = ("webvtt", "srt")


def normalise_turns(
    parsed: ParsedTranscript, *, min_s: float = SPLIT_IMPORTED_S
) -> ParsedTranscript:
    """Another tool's transcript cut as the matcher reads best (Talktrack's own JSON is kept as is).

    Caption cues (WebVTT, SRT) end where the screen filled up, often mid-sentence: a cue that does
    not end a sentence joins the same speaker's next cue (within build_utterances' pause). Then
    each utterance of at least `min_s` is cut at sentence ends (split_at_sentences). Measured with
    `scripts/sop_turn_granularity.py --imported` and `--cues`.
    """
    if parsed.source_format == "talktrack_json":
        return parsed
    utterances = list(parsed.utterances)
    if parsed.source_format in CUE_FORMATS:
        utterances = _rejoin_cues(utterances)
    pieces = [
        p for u in utterances for p in (split_at_sentences(u) if u.end - u.start >= min_s else (u,))
    ]
    return replace(parsed, utterances=tuple(replace(p, index=i) for i, p in enumerate(pieces)))


def _rejoin_cues(cues: list[Utterance]) -> list[Utterance]:
    """Cues joined across mid-sentence cuts: each cue is one 'word' to build_utterances, which ends
    an utterance at every sentence end (sentence_s 0), a speaker change or a pause."""
    roles: dict[str, str] = {}
    for u in cues:
        roles.setdefault(u.speaker, u.role)
    joined = build_utterances(
        [(Word(u.start, u.end, u.text, 1.0), u.speaker) for u in cues], roles=roles, sentence_s=0.0
    )
    return [replace(u, words=()) for u in joined]


# A CJK character (with the punctuation after it), or a run of anything else up to a space.
TOKEN = re.compile(r"[\u4e00-\u9fff][^\u4e00-\u9fff\w\s]*|[^\u4e00-\u9fff\s]+")


def split_at_sentences(u: Utterance, *, sentence_s: float = SENTENCE_S) -> list[Utterance]:
    """An imported utterance cut as build_utterances cuts a speaker's ASR words: at the first
    sentence end once a piece is `sentence_s` long. Times inside it are shared out by characters;
    each piece keeps its own words (by their middle) and its part of the text as written."""
    text, duration = u.text, u.end - u.start

    def at(i: int) -> float:  # the time of character i
        return u.start + duration * i / max(len(text), 1)

    cuts, begin = [], 0
    for m in TOKEN.finditer(text):
        if (
            ends_sentence(m.group())
            and at(m.end()) - at(begin) >= sentence_s
            and text[m.end() :].strip()
        ):
            cuts.append(m.end())
            begin = m.end()
    if not cuts:
        return [u]
    pieces = []
    for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True):
        start, end = round(at(a), 3), round(at(b), 3)
        last = b == len(text)
        words = tuple(
            w
            for w in u.words
            if start <= (w.start + w.end) / 2 and (last or (w.start + w.end) / 2 < end)
        )
        pieces.append(Utterance(u.index, u.speaker, u.role, start, end, text[a:b].strip(), words))
    return pieces

"""Build utterances (speaker turns) from speaker-labelled ASR words."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from app.transcripts.formats import ROLES, Role, Utterance, Word, join_text

_SENTENCE_END = (".", "?", "!", "。", "？", "！", "…")
# A turn ends at the first sentence end once it is this long (seconds). ASR joins a speaker's
# consecutive sentences into one turn, and a turn that spans two SOP steps can carry only one of
# them. Chosen with scripts/sop_turn_granularity.py (the labelled calls re-segmented as the
# pipeline would): against 30 s, macro-F1 +0.04 (en) and +0.04 (zh) on the eval set, +0.03 and
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

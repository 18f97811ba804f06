"""Content heuristic for which speaker is the rep."""

from __future__ import annotations

from dataclasses import replace

from app.transcripts.formats import Utterance, Word
from app.transcripts.roles import (
    Cue,
    Lexicon,
    assign_roles_by_content,
    decide_rep,
    decide_roles_for_words,
)
from tests.transcripts.helpers import parse_fixture, utt


def _relabel(utterances: tuple[Utterance, ...], names: dict[str, str]) -> list[Utterance]:
    return [replace(u, speaker=names[u.speaker], role="unknown") for u in utterances]


def test_english_call_rep_is_found_with_high_confidence_and_evidence() -> None:
    decision = decide_rep(parse_fixture("en_discovery.vtt").utterances)
    assert (decision.rep_speaker, decision.method) == ("Dana Whitfield", "content")
    assert decision.confidence > 0.9
    assert any("introduces self and company" in e and "utterance 0" in e for e in decision.evidence)
    assert any(
        e.startswith("Marcus Chen: customer cue 'talks about own budget'")
        for e in decision.evidence
    )


def test_chinese_call_rep_is_found() -> None:
    decision = decide_rep(parse_fixture("zh_invite_megaview.json").utterances, language="zh")
    assert decision.rep_speaker == "李明" and decision.confidence > 0.9
    assert any("自我介绍" in e for e in decision.evidence)


def test_swapped_labels_with_customer_speaking_first_still_find_the_rep() -> None:
    call = _relabel(
        parse_fixture("en_discovery.json").utterances,
        {"Dana Whitfield": "SPEAKER_01", "Marcus Chen": "SPEAKER_00"},
    )
    hello = utt(0, "unknown", 0.0, 0.4, "Hello, Marcus speaking.", speaker="SPEAKER_00")
    assert decide_rep([hello, *call]).rep_speaker == "SPEAKER_01"


def test_swapping_chinese_speaker_labels_swaps_the_decision() -> None:
    call = parse_fixture("zh_invite.txt").utterances
    forward = _relabel(call, {"销售": "A", "客户": "B"})
    swapped = _relabel(call, {"销售": "B", "客户": "A"})
    assert (decide_rep(forward).rep_speaker, decide_rep(swapped).rep_speaker) == ("A", "B")
    assert decide_rep(forward).confidence == decide_rep(swapped).confidence


def test_no_cues_gives_no_decision_and_zero_confidence() -> None:
    call = [
        utt(0, "unknown", 0, 1, "Okay.", speaker="A"),
        utt(1, "unknown", 1, 2, "Okay.", speaker="B"),
    ]
    decision = decide_rep(call)
    assert (decision.rep_speaker, decision.confidence) == (None, 0.0)
    assert decision.evidence[-1] == "no speaker stands out"


def test_lexicons_are_configurable() -> None:
    custom = {"en": Lexicon(rep=(Cue("greets like a texan", r"\bhowdy\b", 1.0),), customer=())}
    call = [
        utt(0, "unknown", 0, 1, "Howdy!", speaker="B"),
        utt(1, "unknown", 1, 2, "Hello.", speaker="A"),
    ]
    decision = decide_rep(call, language="en", lexicons=custom)
    assert decision.rep_speaker == "B" and decision.scores == {"A": 0.0, "B": 1.0}


def test_repeated_cue_counts_at_most_three_times() -> None:
    call = [utt(i, "unknown", i, i + 1, "We offer it.", speaker="A") for i in range(6)]
    assert decide_rep(call, language="en").scores == {"A": 6.0}  # 2.0 × min(6, 3)


def test_assign_roles_by_content_fills_only_unknown_roles() -> None:
    call = _relabel(
        parse_fixture("en_discovery.json").utterances, {"Dana Whitfield": "A", "Marcus Chen": "B"}
    )
    call[0] = replace(call[0], role="customer")  # a role the file already knew is kept
    filled, method, confidence = assign_roles_by_content(call)
    assert [u.role for u in filled[:4]] == ["customer", "customer", "rep", "customer"]
    assert method == "content" and confidence > 0.9


def test_decide_roles_for_words_groups_diarized_words_first() -> None:
    text = [
        ("A", "Hi, this is Dana from Northwind."),
        ("B", "Hi."),
        ("A", "Thank you for your time."),
    ]
    words = [Word(float(i), i + 0.9, t) for i, (_, t) in enumerate(text)]
    decision = decide_roles_for_words(words, [s for s, _ in text], language="en")
    assert decision.rep_speaker == "A"

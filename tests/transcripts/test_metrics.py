"""Conversation metrics on a tiny call whose numbers were worked out by hand."""

from __future__ import annotations

import pytest

from app.transcripts.metrics import compute_metrics, count_fillers, count_questions
from tests.transcripts.helpers import parse_fixture, utt

# rep time 4+4+2+4 = 14 s, customer 2+6+0.5 = 8.5 s, call 0–28 s = 28/60 min.
CALL = [
    utt(0, "rep", 0.0, 4.0, "Hi, this is Dana from Northwind. How are you?", speaker="Dana"),
    utt(1, "customer", 5.0, 7.0, "Good, thanks.", speaker="Marcus"),
    utt(2, "rep", 8.0, 12.0, "What tools do you use today", speaker="Dana"),
    utt(3, "rep", 12.0, 14.0, "Um, we help teams like yours.", speaker="Dana"),
    utt(
        4, "customer", 15.0, 21.0, "We use spreadsheets, you know, and it hurts.", speaker="Marcus"
    ),
    utt(5, "rep", 23.0, 27.0, "Got it. Is budget set?", speaker="Dana"),
    utt(6, "customer", 27.5, 28.0, "Yes.", speaker="Marcus"),
]


@pytest.fixture(scope="module")
def metrics():  # type: ignore[no-untyped-def]
    return compute_metrics(CALL, language="en")


def test_talk_ratio_is_rep_share_of_speaking_time(metrics) -> None:  # type: ignore[no-untyped-def]
    assert metrics.talk_ratio.value == pytest.approx(100 * 14 / 22.5)  # 62.22 %
    assert (
        metrics.talk_ratio.unit == "%"
        and "rep speaking time ÷ (rep + customer" in metrics.talk_ratio.formula
    )


def test_longest_monologue_spans_consecutive_rep_utterances(metrics) -> None:  # type: ignore[no-untyped-def]
    assert (metrics.longest_monologue.value, metrics.longest_monologue.evidence) == (6.0, (2, 3))


def test_longest_customer_story(metrics) -> None:  # type: ignore[no-untyped-def]
    assert (metrics.longest_customer_story.value, metrics.longest_customer_story.evidence) == (
        6.0,
        (4,),
    )


def test_interactivity_counts_speaker_switches_per_minute(metrics) -> None:  # type: ignore[no-untyped-def]
    assert metrics.interactivity.value == pytest.approx(5 / (28 / 60))  # 10.71
    assert metrics.interactivity.evidence == (1, 2, 4, 5, 6)


def test_patience_averages_pauses_before_rep_answers(metrics) -> None:  # type: ignore[no-untyped-def]
    assert (metrics.patience.value, metrics.patience.evidence) == (1.5, (2, 5))  # (1 + 2) / 2


def test_question_rate_counts_marked_and_unpunctuated_questions(metrics) -> None:  # type: ignore[no-untyped-def]
    assert metrics.question_rate.value == pytest.approx(3 / (28 / 60))  # 6.43
    assert metrics.question_rate.evidence == (0, 2, 5)


def test_filler_rate_counts_rep_fillers_per_rep_minute(metrics) -> None:  # type: ignore[no-untyped-def]
    assert metrics.filler_rate.value == pytest.approx(
        1 / (14 / 60)
    )  # "Um" only; "like yours" is not
    assert metrics.filler_rate.evidence == (3,)


def test_speaking_pace_counts_rep_words_per_rep_minute(metrics) -> None:  # type: ignore[no-untyped-def]
    assert metrics.speaking_pace.value == pytest.approx(26 / (14 / 60))  # 9 + 6 + 6 + 5 words
    assert metrics.speaking_pace.unit == "words/min"


def test_every_metric_publishes_a_formula(metrics) -> None:  # type: ignore[no-untyped-def]
    assert all(m.formula and "=" in m.formula and not m.estimated for m in metrics.as_list())


def test_chinese_pace_counts_characters() -> None:
    call = [
        utt(0, "rep", 0.0, 3.0, "您好，请问是王经理吗？"),
        utt(1, "customer", 3.0, 4.0, "是我。"),
    ]
    pace = compute_metrics(call).speaking_pace
    assert (pace.value, pace.unit) == (pytest.approx(9 / (3 / 60)), "characters/min")


def test_estimated_timing_flags_every_metric() -> None:
    parsed = parse_fixture("zh_invite.txt")
    found = compute_metrics(parsed.utterances, timing_estimated=parsed.timing_estimated)
    assert all(m.estimated and "estimated from speaking rate" in m.detail for m in found.as_list())


def test_metrics_without_customer_or_duration_are_undefined_not_errors() -> None:
    found = compute_metrics([utt(0, "rep", 1.0, 1.0, "Hello?")])
    assert found.patience.value is None and "never answers" in found.patience.detail
    assert found.question_rate.value is None and found.longest_customer_story.value is None


@pytest.mark.parametrize(
    "text,expected",
    [
        ("您这边预算大概多少", 1),
        ("是这样吗", 1),
        ("我们开始吧。", 0),
        ("好的。那什么时候方便？", 1),
        ("Could you walk me through it? And the budget?", 2),
        ("How we do it is simple.", 0),
        ("when does the pilot start", 1),
    ],
)
def test_question_detection(text: str, expected: int) -> None:
    assert count_questions(text) == expected


@pytest.mark.parametrize(
    "text,expected",
    [
        ("嗯嗯，那个，我们就是想看看", 3),
        ("I'd like to, like, see it, you know", 2),
        ("Do you know the price?", 0),
        ("uh, um, sort of", 3),
        ("a deal like this", 0),
    ],
)
def test_filler_detection(text: str, expected: int) -> None:
    assert count_fillers(text) == expected

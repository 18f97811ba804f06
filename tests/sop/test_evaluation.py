from pathlib import Path

import pytest

from app.sop.evaluation import EvalCall, EvalUtterance, as_pipeline, evaluate, load_eval_set
from app.sop.loader import load_sop_file

ROOT = Path(__file__).resolve().parents[2]


def test_metrics_on_a_hand_computed_case():
    gold = ["a", "a", None, "b"]
    pred = ["a", "b", None, "b"]
    report = evaluate([(gold, pred)], n_boot=50)
    assert report.accuracy.value == 0.75
    # F1(a) = 2·1/(2·1+0+1) = 2/3, F1(b) = 2·1/(2·1+1+0) = 2/3
    assert report.macro_f1.value == pytest.approx(2 / 3, abs=1e-4)
    assert (report.presence_precision.value, report.presence_recall.value) == (1.0, 1.0)


def test_bootstrap_interval_contains_the_point_estimate():
    pairs = [(["a", "b"], ["a", "b"]), (["a", None], ["b", None]), (["b", "b"], ["b", None])]
    r = evaluate(pairs, n_boot=500, seed=1)
    assert (
        r.accuracy.low <= r.accuracy.value <= r.accuracy.high and r.accuracy.low < r.accuracy.high
    )


def test_eval_set_labels_are_steps_of_their_sop_and_split_is_declared():
    calls = load_eval_set(ROOT / "tests" / "data" / "sop_eval")
    assert len(calls) >= 6 and {c.language for c in calls} == {"en", "zh"}
    assert {c.split for c in calls} == {"tune", "test"}
    for call in calls:
        ids = {s.id for _st, s in load_sop_file(str(ROOT / "sop_definitions" / call.sop)).steps()}
        assert {lab for lab in call.gold if lab} <= ids, call.id


def _call(language: str, rows: list[tuple[str, float, float, str, str | None]]) -> EvalCall:
    utts = tuple(EvalUtterance(i, role, role, a, b, text, label) for i, (role, a, b, text, label) in enumerate(rows))
    return EvalCall("c", "x.yaml", "test", language, utts)


def test_as_pipeline_joins_a_speakers_sentences_until_one_ends_a_long_enough_turn():
    call = _call("en", [
        ("rep", 0.0, 1.5, "Great, thanks.", None),  # too short to end a turn: joins the next
        ("rep", 1.9, 7.0, "So the reason I called is your renewal next month.", "reason"),
        ("rep", 7.3, 10.0, "Do you have ten minutes today?", "ask-time"),
        ("customer", 10.4, 11.0, "Sure.", "ask-time"),
    ])
    rebuilt, owner = as_pipeline(call, sentence_s=4.0)
    assert [u.text for u in rebuilt.utterances] == [
        "Great, thanks. So the reason I called is your renewal next month.",
        "Do you have ten minutes today?",
        "Sure.",
    ]
    assert [u.label for u in rebuilt.utterances] == ["reason", "ask-time", "ask-time"]  # most words
    assert owner == [0, 0, 1, 2]
    assert (rebuilt.utterances[0].start, rebuilt.utterances[0].end) == (0.0, 7.0)
    joined, owner = as_pipeline(call, sentence_s=30.0)
    assert len(joined.utterances) == 2 and owner == [0, 0, 0, 1]


def test_as_pipeline_reads_chinese_a_character_at_a_time_with_its_punctuation():
    call = _call("zh", [
        ("rep", 0.0, 5.0, "您好，我是华信的小王。", "greet"),
        ("rep", 5.2, 9.0, "想约您下周二过来看看。", "book"),
    ])
    rebuilt, owner = as_pipeline(call, sentence_s=4.0)
    assert [u.text for u in rebuilt.utterances] == ["您好，我是华信的小王。", "想约您下周二过来看看。"]
    assert owner == [0, 1]
    assert [u.text for u in as_pipeline(call, sentence_s=6.0)[0].utterances] == ["您好，我是华信的小王。想约您下周二过来看看。"]


def test_as_pipeline_keeps_an_interjection_inside_a_turn_apart():
    call = _call("en", [
        ("rep", 0.0, 10.0, "So what we would do first is map your current process and then the gaps.", "reason"),
        ("customer", 4.0, 5.0, "Right.", None),  # said over the rep's sentence
    ])
    rebuilt, owner = as_pipeline(call, sentence_s=4.0)
    assert [u.role for u in rebuilt.utterances] == ["rep", "customer", "rep"]  # the rep's words, cut by it
    assert rebuilt.utterances[1].text == "Right." and rebuilt.utterances[1].label is None
    assert owner[1] == 1 and rebuilt.utterances[owner[0]].role == "rep"
    assert {u.label for u in rebuilt.utterances if u.role == "rep"} == {"reason"}

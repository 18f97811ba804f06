from pathlib import Path

import pytest

from app.sop.evaluation import evaluate, load_eval_set
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

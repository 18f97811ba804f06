"""`talktrack eval sop` on two tiny hand-checked calls (fake embedder), and the labelled set's own consistency."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from app import ml
from app.sop.eval_cli import eval_app
from app.sop.evaluation import evaluate, found_deviations, gold_match, load_eval_set
from app.sop.loader import load_sop_file
from tests.sop.helpers import tiny_sop_yaml

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()
WORDS = ("alpha", "bravo", "charlie", "delta", "echo")  # the tiny SOP's steps a..e


class KeywordEmbedder:
    """Deterministic: a step's keyword → that step's axis; small talk → axis 6; anything else → 7."""

    name = "keyword-fake"

    def embed(self, texts, kind: str = "query") -> np.ndarray:
        out = np.zeros((len(texts), 8), np.float32)
        for i, text in enumerate(texts):
            hits = [j for j, w in enumerate(WORDS) if w in text.lower()]
            small = any(w in text.lower() for w in ("weather", "football"))
            out[i, hits[0] if hits else (6 if small else 7)] = 1.0
        return out


def _call(cid: str, rows: list[tuple[str, str]], missed: list[str], ooo: list[str]) -> dict:
    utts = [
        {"index": i, "speaker": "rep", "role": "rep", "start": 10.0 * i, "end": 10.0 * i + 8,
         "text": text, "label": label}
        for i, (text, label) in enumerate(rows)
    ]  # fmt: skip
    return {"id": cid, "sop": "tiny.en.yaml", "split": "test", "language": "en", "note": "",
            "deviations": {"missed": missed, "out_of_order": ooo}, "utterances": utts}  # fmt: skip


# Call one: the annotator heard utterance 4 as step c and 5 as small talk; the keywords say d.
ONE = [("nice weather today", "off-sop"), ("alpha one", "a"), ("bravo two", "b"),
       ("charlie three", "c"), ("delta four", "c"), ("football again", "off-sop")]  # fmt: skip
# Call two: d before b (b out of order), c never done; the last utterance labelled off-SOP.
TWO = [("alpha one", "a"), ("delta one, delta", "d"), ("delta two", "d"), ("delta three", "d"),
       ("bravo one", "b"), ("bravo two", "b"), ("bravo three", "b"), ("bravo four", "off-sop")]  # fmt: skip


@pytest.fixture
def tiny_set(tmp_path, monkeypatch) -> tuple[Path, Path]:
    monkeypatch.setattr(ml, "get_embedder", lambda name=None: KeywordEmbedder())
    sop = tmp_path / "tiny.en.yaml"
    sop.write_text(tiny_sop_yaml(), encoding="utf-8")
    labels = tmp_path / "labels"
    labels.mkdir()
    for cid, rows, missed, ooo in (("one", ONE, ["d"], []), ("two", TWO, ["c"], ["b"])):
        (labels / f"{cid}.json").write_text(json.dumps(_call(cid, rows, missed, ooo)), "utf-8")
    return sop, labels


def _run_json(sop: Path, labels: Path) -> dict:
    args = [
        "sop",
        "--sop",
        str(sop),
        "--labels",
        str(labels),
        "--format",
        "json",
        "--n-boot",
        "400",
    ]
    result = runner.invoke(eval_app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_eval_sop_json_gives_the_hand_computed_figures(tiny_set):
    doc = _run_json(*tiny_set)
    preds = {c["call_id"]: c["pred"] for c in doc["calls"]}
    # What the matcher labels from the keywords (context: the last small talk stays in step d).
    assert preds == {
        "one": [None, "a", "b", "c", "d", "d"],
        "two": ["a", "d", "d", "d", "b", "b", "b", "b"],
    }
    steps = {s["step_id"]: s for s in doc["steps"]}
    # b: tp 4, fp 1 → P 0.8, R 1, F1 8/9; c: tp 1, fn 1 → F1 2/3; d: tp 3, fp 2 → P 0.6, F1 0.75
    assert (steps["b"]["precision"]["value"], steps["b"]["recall"]["value"]) == (0.8, 1.0)
    assert steps["b"]["f1"]["value"] == pytest.approx(8 / 9, abs=1e-4)
    assert steps["c"]["f1"]["value"] == pytest.approx(2 / 3, abs=1e-4)
    assert (steps["d"]["precision"]["value"], steps["d"]["f1"]["value"]) == (0.6, 0.75)
    assert steps["e"]["f1"]["value"] is None and steps["e"]["support"] == 0
    assert doc["macro_f1"]["value"] == pytest.approx((1 + 8 / 9 + 2 / 3 + 0.75) / 4, abs=1e-4)
    assert doc["accuracy"]["value"] == pytest.approx(11 / 14, abs=1e-4)
    # off-SOP: 3 gold, 1 predicted, 1 right
    assert (doc["off_sop_precision"]["value"], doc["off_sop_recall"]["value"]) == (
        1.0,
        pytest.approx(1 / 3, abs=1e-4),
    )
    # missed: one labelled d in call one was found present (fn); c in call two found (tp)
    m = doc["missed"]
    assert (m["true_positives"], m["false_positives"], m["false_negatives"]) == (1, 0, 1)
    assert (m["precision"]["value"], m["recall"]["value"]) == (1.0, 0.5)
    # resampling two calls: recall is 0 (one, one), 0.5 or 1 (two, two)
    assert (m["recall"]["low"], m["recall"]["high"]) == (0.0, 1.0)
    o = doc["out_of_order"]
    assert (o["true_positives"], o["false_positives"], o["false_negatives"]) == (1, 0, 0)


def test_eval_sop_macro_f1_and_accuracy_agree_with_evaluate(tiny_set):
    doc = _run_json(*tiny_set)
    pairs = [(c["gold"], c["pred"]) for c in doc["calls"]]
    ref = evaluate(pairs, n_boot=0)
    assert doc["macro_f1"]["value"] == pytest.approx(ref.macro_f1.value, abs=1e-4)
    assert doc["accuracy"]["value"] == pytest.approx(ref.accuracy.value, abs=1e-4)


def test_eval_sop_table_keeps_ids_whole_on_a_narrow_terminal(tiny_set):
    sop, labels = tiny_set
    (labels / "two.json").rename(labels / "a-call-with-a-rather-long-identifier.json")
    doc = json.loads((labels / "a-call-with-a-rather-long-identifier.json").read_text("utf-8"))
    doc["id"] = "a-call-with-a-rather-long-identifier"
    (labels / "a-call-with-a-rather-long-identifier.json").write_text(json.dumps(doc), "utf-8")
    result = runner.invoke(
        eval_app, ["sop", "--sop", str(sop), "--labels", str(labels)], env={"COLUMNS": "40"}
    )
    assert result.exit_code == 0, result.output
    assert "a-call-with-a-rather-long-identifier" in result.output
    assert "missed-step precision" in result.output and "macro-F1" in result.output


def test_eval_sop_without_calls_for_that_sop_says_which_sops_the_calls_use(tiny_set, tmp_path):
    _sop, labels = tiny_set
    other = tmp_path / "other.yaml"
    other.write_text(tiny_sop_yaml().replace("id: tiny", "id: other"), encoding="utf-8")
    result = runner.invoke(eval_app, ["sop", "--sop", str(other), "--labels", str(labels)])
    assert result.exit_code == 1
    assert "no call" in result.output and "tiny.en.yaml" in result.output


def test_labelled_set_has_16_calls_per_language_against_all_four_sops():
    calls = load_eval_set()
    assert Counter(c.language for c in calls)["en"] >= 16
    assert Counter(c.language for c in calls)["zh"] >= 16
    assert {c.sop for c in calls} == {p.name for p in (ROOT / "sop_definitions").glob("*.yaml")}
    assert all(c.deviations is not None for c in calls)


TRAIN_DIR = ROOT / "tests" / "data" / "sop_train"
HOLDOUT_DIR = ROOT / "tests" / "data" / "sop_holdout"
LABELLED = (
    [(c, ROOT / "sop_definitions") for c in load_eval_set()]
    + [(c, TRAIN_DIR / "sops") for c in load_eval_set(TRAIN_DIR / "calls")]
    + [(c, HOLDOUT_DIR / "sops") for c in load_eval_set(HOLDOUT_DIR / "calls")]
)  # the evaluation set, the training calls of the training-only SOPs, the held-out SOPs' calls


@pytest.mark.parametrize(("call", "sop_dir"), LABELLED, ids=lambda x: getattr(x, "id", ""))
def test_labelled_deviations_follow_from_the_utterance_labels(call, sop_dir):
    sop = load_sop_file(str(sop_dir / call.sop))
    assert {lab for lab in call.gold if lab} <= {s.id for _st, s in sop.steps()}
    found = found_deviations(gold_match(call, sop), sop, call, labelled_scope=True)
    assert sorted(found.missed) == sorted(call.deviations.missed)
    assert sorted(found.out_of_order) == sorted(call.deviations.out_of_order)


def test_training_sops_are_other_sops_than_the_shipped_ones():
    shipped = {load_sop_file(str(p)).id for p in (ROOT / "sop_definitions").glob("*.yaml")}
    training = {load_sop_file(str(p)).id for p in (TRAIN_DIR / "sops").glob("*.yaml")}
    assert len(training) >= 4 and not training & shipped


def test_held_out_sops_are_neither_shipped_nor_trained_on():
    seen = {load_sop_file(str(p)).id for d in (ROOT / "sop_definitions", TRAIN_DIR / "sops") for p in d.glob("*.yaml")}
    held_out = {load_sop_file(str(p)).id for p in (HOLDOUT_DIR / "sops").glob("*.yaml")}
    assert len(held_out) >= 4 and not held_out & seen
    assert {c.sop for c in load_eval_set(HOLDOUT_DIR / "calls")} == {p.name for p in (HOLDOUT_DIR / "sops").glob("*.yaml")}


def test_eval_sop_as_pipeline_scores_the_utterances_asr_would_have_joined(tiny_set, tmp_path):
    sop, _labels = tiny_set
    labels = tmp_path / "close"
    labels.mkdir()
    # Two sentences 0.3 s apart: the first is too short (2 s) to end a turn, so ASR words join them.
    rows = [("alpha one.", "a", 0.0, 2.0), ("bravo two.", "b", 2.3, 7.0), ("charlie three.", "c", 9.0, 14.0)]
    call = _call("close", [(t, lab) for t, lab, _a, _b in rows], [], [])
    for u, (_t, _lab, a, b) in zip(call["utterances"], rows):
        u["start"], u["end"] = a, b
    (labels / "close.json").write_text(json.dumps(call), "utf-8")
    base = ["sop", "--sop", str(sop), "--labels", str(labels), "--format", "json", "--n-boot", "0"]
    as_labelled = json.loads(runner.invoke(eval_app, base).output)
    result = runner.invoke(eval_app, [*base, "--as-pipeline"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert (as_labelled["as_pipeline"], doc["as_pipeline"]) == (False, True)
    assert as_labelled["calls"][0]["pred"] == ["a", "b", "c"]
    assert doc["calls"][0]["pred"] == ["a", "a", "c"]  # one joined utterance, one label
    assert doc["calls"][0]["gold"] == ["a", "b", "c"]  # scored against the labels as written

"""The second annotator's labels (tests/data/sop_eval/second_annotator) cover the same calls and
utterances as the eval set, with a step of the call's SOP or off-SOP on every one of them."""

from __future__ import annotations

import json

from app.sop.evaluation import EVAL_SET_DIR, OFF_SOP, load_eval_set
from app.sop.loader import load_sop_file

SECOND = EVAL_SET_DIR / "second_annotator"


def test_every_eval_call_is_labelled_again_utterance_for_utterance() -> None:
    calls = load_eval_set()
    assert sorted(p.stem for p in SECOND.glob("*.json")) == [c.id for c in calls]
    for call in calls:
        doc = json.loads((SECOND / f"{call.id}.json").read_text(encoding="utf-8"))
        sop = load_sop_file(str(EVAL_SET_DIR.parents[2] / "sop_definitions" / call.sop))
        allowed = {step.id for _stage, step in sop.steps()} | {OFF_SOP}
        assert doc["sop"] == call.sop
        assert [(u["index"], u["text"]) for u in doc["utterances"]] == [(u.index, u.text) for u in call.utterances]
        bad = [(u["index"], u["label"]) for u in doc["utterances"] if u["label"] not in allowed]
        assert not bad, f"{call.id}: labels outside {call.sop}: {bad}"

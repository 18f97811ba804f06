"""The matcher with a real small embedder (MiniLM, English) on one labelled call."""

from pathlib import Path

import pytest

from app import ml
from app.sop.evaluation import evaluate, load_eval_call
from app.sop.loader import load_sop_file
from app.sop.matcher import MatchParams, build_sop_index, match_call

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.ml
def test_minilm_recovers_the_main_steps_of_a_real_discovery_call():
    call = load_eval_call(ROOT / "tests" / "data" / "sop_eval" / "en-discovery-northwind.json")
    sop = load_sop_file(str(ROOT / "sop_definitions" / call.sop))
    embedder = ml.get_embedder("minilm")
    index = build_sop_index(sop, embedder)
    vectors = embedder.embed([u.text for u in call.utterances], kind="query")
    decoded = match_call(call.utterances, index, utterance_vectors=vectors)
    alone = match_call(
        call.utterances, index, utterance_vectors=vectors, params=MatchParams(decode="argmax")
    )
    seen = {seg.step_id for seg in decoded.path}
    assert {"greeting", "set-agenda", "agree-next-step"} <= seen
    hmm = evaluate([(call.gold, [lab.step_id for lab in decoded.labels])], n_boot=0).accuracy.value
    argmax = evaluate([(call.gold, [lab.step_id for lab in alone.labels])], n_boot=0).accuracy.value
    assert hmm > argmax and hmm >= 0.4

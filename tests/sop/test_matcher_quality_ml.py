"""The classifier + HMM matcher beats nearest-example labelling with a real embedder (USE, fast)."""

import random
from pathlib import Path

import numpy as np
import pytest

from app import ml
from app.sop.evaluation import load_generated_corpus
from app.sop.loader import load_sop_file
from app.sop.matcher import build_sop_index, match_call

ROOT = Path(__file__).resolve().parents[2]
SOP_FILES = {
    "b2b-discovery": "b2b-discovery.en.yaml",
    "product-demo": "product-demo.en.yaml",
    "telesales-invitation": "telesales-invitation.zh.yaml",
}


def _accuracy(calls, predict) -> float:
    ok = total = 0
    for call in calls:
        pred = predict(call)
        ok += sum(g == p for g, p in zip(call.gold_for(pred), pred))
        total += len(pred)
    return ok / total


@pytest.mark.ml
def test_classifier_hmm_beats_nearest_example_on_a_fixed_seed_subset():
    corpus = load_generated_corpus(ROOT / "demo_data" / "generated", SOP_FILES)
    calls = random.Random(0).sample(corpus, 6)
    embedder = ml.get_embedder("use")
    sops = {f: load_sop_file(str(ROOT / "sop_definitions" / f)) for f in {c.sop for c in calls}}
    indexes = {f: build_sop_index(sop, embedder) for f, sop in sops.items()}
    vecs = {c.id: embedder.embed([u.text for u in c.utterances], kind="query") for c in calls}

    def matcher(call):
        res = match_call(call.utterances, indexes[call.sop], utterance_vectors=vecs[call.id])
        return [lab.step_id for lab in res.labels]

    def nearest(call):
        index = indexes[call.sop]
        sims = np.stack([(vecs[call.id] @ v.T).max(axis=1) for v in index.vectors], axis=1)
        return [index.step_ids[i] for i in sims.argmax(axis=1)]

    ours, base = _accuracy(calls, matcher), _accuracy(calls, nearest)
    assert ours >= base + 0.1, (ours, base)

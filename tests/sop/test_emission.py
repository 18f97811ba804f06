"""The learned emission model: its features, its fit, its file, and when the matcher uses it."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from app.sop import emission
from app.sop.matcher import MatchParams, call_features, index_from_vectors, match_call
from tests.sop.helpers import example_vectors, mix, tiny_sop, utterances

A, B, C, D, E = range(5)
E5 = emission.default_model().embedder


def _call():
    sop = tiny_sop()
    texts = ["hello there", "alpha talk", "bravo talk?", "ok", "charlie talk", "delta talk"]
    vecs = np.stack([mix({6: 1}), mix({A: 1}), mix({B: 1}), mix({B: 0.5}), mix({C: 1}), mix({D: 1})])
    return sop, utterances(texts), vecs


def test_features_cover_every_step_and_off_sop_with_the_documented_names():
    sop, utts, vecs = _call()
    index = index_from_vectors(sop, example_vectors(sop))
    f = call_features(utts, vecs, index, MatchParams())
    assert f.shape == (len(utts), len(index.step_ids) + 1, len(emission.FEATURE_NAMES))
    assert np.isfinite(f).all()
    off_cols = [i for i, n in enumerate(emission.FEATURE_NAMES) if n.startswith("off.")]
    # Off-SOP evidence sits only in the off-SOP option; step evidence only in the steps.
    assert not f[:, :-1, off_cols].any()
    assert not np.delete(f[:, -1, :], off_cols, axis=1).any()
    assert f[2, -1, emission.FEATURE_NAMES.index("off.question")] == 1.0


def test_fit_learns_which_evidence_picks_the_right_option():
    rng = np.random.default_rng(0)
    d = len(emission.FEATURE_NAMES)
    col = emission.FEATURE_NAMES.index("step.classifier_logp")
    feats, ys = [], []
    for _ in range(20):
        f = rng.normal(size=(10, 4, d)) * 0.1
        y = rng.integers(0, 4, size=10)
        f[np.arange(10), y, col] += 2.0  # the right option always has the strongest evidence
        feats.append(f)
        ys.append(y)
    w = emission.fit(feats, ys, l2=0.1)
    assert w[col] > 1.0
    test = rng.normal(size=(50, 4, d)) * 0.1
    truth = rng.integers(0, 4, size=50)
    test[np.arange(50), truth, col] += 2.0
    assert (emission.log_probs(w, test).argmax(axis=1) == truth).mean() > 0.95


def test_a_model_file_for_other_features_is_refused_with_how_to_fix(tmp_path):
    doc = json.loads(emission.MODEL_PATH.read_text(encoding="utf-8"))
    doc["feature_version"] = emission.FEATURE_VERSION + 1
    bad = tmp_path / "m.json"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(emission.EmissionModelError, match="train_sop_emission.py"):
        emission.load_model(bad)
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(emission.EmissionModelError, match="cannot read"):
        emission.load_model(tmp_path / "broken.json")


def test_shipped_models_match_the_decoding_defaults_and_record_their_cross_validation():
    models = emission.shipped_models()
    # the default model for e5 (both languages) and the English one for e5 + mpnet
    assert set(models) == {E5, "multilingual-e5-small+all-mpnet-base-v2"}
    p = MatchParams()
    for model in models.values():
        assert model.cv["params"] == {
            "learned_transition_scale": p.learned_transition_scale,
            "learned_back_penalty": p.learned_back_penalty,
            "learned_off_bias": p.learned_off_bias,
        }
    for embedder, langs in ((E5, ("en", "zh")), ("multilingual-e5-small+all-mpnet-base-v2", ("en",))):
        for lang in langs:
            value, low, high = models[embedder].cv[f"hand_{lang}_macro_f1"]
            assert 0.0 < low <= value <= high <= 1.0


def test_matcher_uses_the_learned_model_only_for_the_embedder_it_was_fitted_on():
    sop, utts, vecs = _call()
    ex = example_vectors(sop)
    weights = tuple(float(w) for w in emission.default_model().weights)

    def labels(embedder: str, params: MatchParams) -> list:
        index = index_from_vectors(sop, ex, embedder=embedder, params=params)
        return [(lab.step_id, lab.score) for lab in match_call(utts, index, utterance_vectors=vecs, params=params).labels]

    default = MatchParams()
    assert labels(E5, default) == labels("", replace(default, emission_weights=weights))
    assert labels("some-other-model", default) == labels("some-other-model", replace(default, emission="blend"))
    assert labels(E5, default) != labels(E5, replace(default, emission="blend"))
    # each embedder gets its own model's weights
    mpnet = emission.model_for("multilingual-e5-small+all-mpnet-base-v2")
    assert mpnet is not None and not np.allclose(mpnet.weights, weights)
    assert labels("multilingual-e5-small+all-mpnet-base-v2", default) == labels(
        "", replace(default, emission_weights=tuple(float(w) for w in mpnet.weights))
    )


def test_lexical_classifier_picks_the_step_whose_distinguishing_words_occur():
    lex = emission.LexicalIndex.build(
        [
            ["what is your budget for this", "is there budget set aside"],
            ["who signs off on this", "who else decides"],
        ]
    )
    lp = lex.classifier_log_probs(["how much budget do you have", "and who decides in the end"])
    assert lp.argmax(axis=1).tolist() == [0, 1]
    assert np.allclose(np.exp(lp).sum(axis=1), 1.0)

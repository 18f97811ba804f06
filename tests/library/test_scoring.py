"""Snippet scoring: customer response, outcome and step fit; the learned outcome model."""

from __future__ import annotations

import numpy as np

from app.library import scoring
from app.library.lexicons import LibrarySettings, find_cues

SETTINGS = LibrarySettings()


def _scored(reply: str, outcome: str | None, fit: float = 0.6) -> float:
    features = scoring.response_features(customer_text=reply, fit=fit, settings=SETTINGS)
    value, _ = scoring.score(features=features, outcome=outcome, outcome_evidence="", customer_text=reply,
                             settings=SETTINGS)
    return value


def test_engaged_customer_and_advanced_deal_outrank_a_brush_off_that_stalled() -> None:
    engaged = _scored("Yes, that makes sense. How would the pilot work with our Salesforce data? "
                      "We have twelve managers who would need to use it every week.", "advanced")
    brushed = _scored("No, not interested. Send me an email.", "stalled")
    assert engaged > brushed + 0.3


def test_chinese_cues_count_as_agreement_and_pushback() -> None:
    agree = scoring.response_features(customer_text="好的，没问题，听起来不错。那价格是多少呢？", fit=0.5, settings=SETTINGS)
    push = scoring.response_features(customer_text="不需要，我们已经有了，太贵了。", fit=0.5, settings=SETTINGS)
    assert agree["sentiment"] > 0 and agree["questions_back"] >= 1
    assert push["sentiment"] < 0 and "太贵" in push["pushback_cues"]


def test_not_sure_is_pushback_not_agreement() -> None:
    features = scoring.response_features(customer_text="I'm not sure about that.", fit=0.5, settings=SETTINGS)
    assert features["agreement_cues"] == [] and "not sure" in features["pushback_cues"]


def test_unknown_outcome_uses_the_neutral_fallback() -> None:
    features = scoring.response_features(customer_text="Okay.", fit=0.5, settings=SETTINGS)
    _, explanation = scoring.score(features=features, outcome=None, outcome_evidence="no deal",
                                   customer_text="Okay.", settings=SETTINGS)
    outcome = next(p for p in explanation["parts"] if p["name"] == "outcome")
    assert outcome["value"] == 0.5 and explanation["model"]["kind"].startswith("fallback")


def test_too_few_labelled_outcomes_learn_no_model() -> None:
    features = [scoring.response_features(customer_text="yes", fit=0.5, settings=SETTINGS)] * 5
    assert scoring.train_outcome_model(features, ["advanced"] * 3 + ["stalled"] * 2, min_labelled=20) is None


def test_outcome_model_learns_that_engagement_predicts_advancing() -> None:
    rng = np.random.default_rng(0)
    features, outcomes = [], []
    for _ in range(80):
        engagement = float(rng.uniform(0, 1))
        features.append({"engagement": engagement, "questions": float(rng.uniform(0, 1)),
                         "sentiment": float(rng.uniform(-1, 1)), "fit": float(rng.uniform(0, 1))})
        outcomes.append("advanced" if engagement + rng.normal(0, 0.2) > 0.5 else "stalled")
    model = scoring.train_outcome_model(features, outcomes, min_labelled=20)
    assert model is not None and model.cv_auc is not None and model.cv_auc > 0.8
    low, high = model.predict([{**features[0], "engagement": 0.05}, {**features[0], "engagement": 0.95}])
    assert high > low and 0.0 <= low <= 1.0 and model.coefficients["engagement"] > 0


def test_find_cues_matches_english_on_word_boundaries() -> None:
    assert find_cues("We know the price.", {"en": ["no"]}) == []
    assert find_cues("No, thanks.", {"en": ["no"]}) == ["no"]

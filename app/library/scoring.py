"""Snippet scores with explanations.

score = w_response · R + w_outcome · O + w_fit · F, each part in [0, 1], default weights
0.5 / 0.3 / 0.2 (configurable in <var_dir>/library.json; they are renormalised to sum to 1).

- R, the customer's response. Before an outcome model exists (the documented fallback):
  R = 0.4 · engagement + 0.25 · questions + 0.35 · (sentiment + 1) / 2, where
  engagement = min(1, ln(1 + customer words next) / ln(1 + 60)), questions = min(1, questions back / 2),
  sentiment = (agreement cues − pushback cues) / (agreement + pushback cues), 0 with no cue.
  Once at least `min_labelled` snippets have a known outcome of both kinds, R becomes the
  calibrated probability that the deal advanced given those same features (+ step fit):
  an L2-regularised LogisticRegression, calibrated with CalibratedClassifierCV (sigmoid,
  stratified k-fold), its cross-validated ROC AUC reported beside it — the weights are learned.
- O, what happened next: 1 when the call's deal advanced or was won, 0 when it stalled or was
  lost, and when unknown 0.5 (no information) or, with a model, its predicted probability.
- F, step fit: the mean of the matcher's posterior and similarity for the snippet's utterances.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.library.lexicons import LibrarySettings, find_cues, word_count

POSITIVE = {"advanced", "won"}
NEGATIVE = {"stalled", "lost"}
FEATURES = ("engagement", "questions", "sentiment", "fit")


def response_features(*, customer_text: str, fit: float, settings: LibrarySettings) -> dict[str, Any]:
    """Engagement, questions back and agreement/pushback cues of the customer's reply."""
    words = word_count(customer_text)
    pushback = find_cues(customer_text, settings.pushback)
    # "sure" inside "not sure" is not agreement: drop agreement cues contained in a pushback cue.
    agreement = [c for c in find_cues(customer_text, settings.agreement) if not any(c in p for p in pushback)]
    questions = customer_text.count("?") + customer_text.count("？")
    if questions == 0 and find_cues(customer_text, {"zh": [q for q in settings.question.get("zh", [])]}):
        questions = 1
    cues = len(agreement) + len(pushback)
    return {
        "customer_words": words,
        "engagement": round(min(1.0, math.log1p(words) / math.log1p(60)), 4),
        "questions_back": questions,
        "questions": round(min(1.0, questions / 2), 4),
        "agreement_cues": agreement,
        "pushback_cues": pushback,
        "sentiment": round((len(agreement) - len(pushback)) / cues, 4) if cues else 0.0,
        "fit": round(float(np.clip(fit, 0.0, 1.0)), 4),
    }


def fallback_response(features: dict[str, Any], settings: LibrarySettings) -> float:
    """The configured formula for the customer-response part (no outcome model)."""
    w = settings.response_parts
    total = w["engagement"] + w["questions"] + w["sentiment"]
    value = (w["engagement"] * features["engagement"] + w["questions"] * features["questions"]
             + w["sentiment"] * (features["sentiment"] + 1) / 2)
    return value / total


@dataclass(frozen=True)
class OutcomeModel:
    """A calibrated classifier of deal advancement from snippet features, and how good it is."""

    classifier: Any
    coefficients: dict[str, float]
    n_labelled: int
    n_positive: int
    cv_auc: float | None
    folds: int

    def predict(self, features: Sequence[dict[str, Any]]) -> np.ndarray:
        """P(deal advanced | features) for each snippet."""
        return self.classifier.predict_proba(_matrix(features))[:, 1]

    def summary(self) -> dict[str, Any]:
        return {"kind": "logistic-regression (L2, C=1) + sigmoid calibration", "n_labelled": self.n_labelled,
                "n_positive": self.n_positive, "cv_auc": self.cv_auc, "folds": self.folds,
                "coefficients": self.coefficients}


def _matrix(features: Sequence[dict[str, Any]]) -> np.ndarray:
    return np.array([[f[name] for name in FEATURES] for f in features], dtype=np.float64)


def train_outcome_model(
    features: Sequence[dict[str, Any]], outcomes: Sequence[str | None], *, min_labelled: int
) -> OutcomeModel | None:
    """Learn P(advanced) once enough labelled snippets of both kinds exist; else None."""
    labelled = [(f, o in POSITIVE) for f, o in zip(features, outcomes, strict=True) if o in POSITIVE | NEGATIVE]
    y = np.array([label for _, label in labelled], dtype=int)
    minority = int(min(y.sum(), len(y) - y.sum())) if len(y) else 0
    if len(labelled) < min_labelled or minority < 2:
        return None
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    x = _matrix([f for f, _ in labelled])
    folds = min(5, minority)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    base = LogisticRegression(C=1.0, max_iter=1000)
    auc = float(np.mean(cross_val_score(base, x, y, cv=splitter, scoring="roc_auc")))
    calibrated = CalibratedClassifierCV(LogisticRegression(C=1.0, max_iter=1000), method="sigmoid", cv=splitter)
    calibrated.fit(x, y)
    coef = base.fit(x, y).coef_[0]
    return OutcomeModel(calibrated, {n: round(float(c), 4) for n, c in zip(FEATURES, coef, strict=True)},
                        len(labelled), int(y.sum()), round(auc, 4) if math.isfinite(auc) else None, folds)


def _weights(settings: LibrarySettings) -> dict[str, float]:
    total = sum(settings.weights[k] for k in ("response", "outcome", "fit")) or 1.0
    return {k: settings.weights[k] / total for k in ("response", "outcome", "fit")}


def score(
    *,
    features: dict[str, Any],
    outcome: str | None,
    outcome_evidence: str,
    customer_text: str,
    settings: LibrarySettings,
    predicted: float | None = None,
    model: OutcomeModel | None = None,
) -> tuple[float, dict[str, Any]]:
    """The snippet's score and its explanation; the contributions sum to the score."""
    w = _weights(settings)
    response = predicted if predicted is not None else fallback_response(features, settings)
    if outcome in POSITIVE:
        outcome_value, outcome_note = 1.0, f"the deal {outcome} after this call"
    elif outcome in NEGATIVE:
        outcome_value, outcome_note = 0.0, f"the deal {outcome} after this call"
    elif predicted is not None:
        outcome_value, outcome_note = predicted, "outcome unknown: the model's predicted probability of advancing"
    else:
        outcome_value, outcome_note = 0.5, "outcome unknown (no linked deal yet): neutral 0.5"
    parts = [
        _part("customer_response", w["response"], response, _response_evidence(features, customer_text, model)),
        _part("outcome", w["outcome"], outcome_value, {"outcome": outcome, "note": outcome_note,
                                                       "evidence": outcome_evidence}),
        _part("step_fit", w["fit"], features["fit"], {"label_score": features.get("label_score"),
                                                      "similarity": features.get("similarity")}),
    ]
    total = round(sum(p["contribution"] for p in parts), 4)
    formula = "score = Σ weight × value over customer_response, outcome, step_fit (each value in 0..1)"
    return total, {"score": total, "formula": formula, "parts": parts,
                   "model": model.summary() if model else {"kind": "fallback (configured weights)",
                                                           "min_labelled": settings.min_labelled}}


def _part(name: str, weight: float, value: float, evidence: dict[str, Any]) -> dict[str, Any]:
    value = round(float(value), 4)
    return {"name": name, "weight": round(weight, 4), "value": value,
            "contribution": round(weight * value, 4), "evidence": evidence}


def _response_evidence(features: dict[str, Any], customer_text: str, model: OutcomeModel | None) -> dict[str, Any]:
    how = ("calibrated P(deal advanced | engagement, questions, sentiment, fit)" if model
           else "0.4·engagement + 0.25·questions + 0.35·(sentiment+1)/2")
    keys = ("customer_words", "engagement", "questions_back", "questions", "agreement_cues", "pushback_cues",
            "sentiment")
    return {"customer_reply": customer_text, "formula": how, **{k: features[k] for k in keys}}

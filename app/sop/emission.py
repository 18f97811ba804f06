"""Learned emissions: one SOP-agnostic scoring model over (utterance, step) evidence.

The per-SOP parts of the matcher (calibrated similarity to a step's examples, the step classifier
trained on those examples, speaker, keywords) each say something about an utterance; this model
learns how much each is worth, and when an utterance is off-SOP, from labelled calls of *other*
SOPs. Its features never name a step, so the weights carry over to an SOP nobody labelled:
they describe evidence ("the best-ranked step by similarity", "a customer's reply to a rep step",
"far from where this step sits in the SOP"), not content.

The model is a conditional logit: for utterance t the options are the S steps and off-SOP, each
option o has a feature vector f(t, o), and p(o | t) = softmax_o(w · f(t, o)). It is fitted with
L-BFGS on the negative log-likelihood plus an L2 penalty (scripts/train_sop_emission.py); the
weights live in emission_model.json beside this file. Pure numpy at match time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from app.errors import AppError
from app.sop.schema import SopKind, Speaker

if TYPE_CHECKING:
    from app.sop.matcher import SopIndex, UtteranceLike, _Emissions

MODEL_PATH = Path(__file__).with_name("emission_model.json")
FEATURE_VERSION = 1

# Per (utterance, step) evidence; each is fed twice, once for a speaker-consistent pair and once
# for a customer's reply against a rep step (a reply's own words say little about the step).
STEP_FEATURES = (
    "calibrated_logit",  # (similarity - step midpoint) / step scale, clipped to ±8
    "similarity",  # top-k mean cosine to the step's texts
    "similarity_gap",  # similarity minus the utterance's best similarity to any step
    "best_by_similarity",  # 1 if this step is the utterance's most similar
    "top3_by_similarity",
    "classifier_logp",  # per-SOP classifier log-probability of the step
    "classifier_gap",  # minus the best step's log-probability
    "best_by_classifier",
    "speaker_match",  # the utterance's role is the step's speaker
    "speaker_mismatch",
    "previous_classifier_logp",  # the previous utterance's classifier log-probability of the step
    "previous_calibrated_logit",
    "next_calibrated_logit",
    "keyword",  # one of the step's keywords occurs in the utterance
    "position_distance",  # |utterance position in the call - step position in its SOP / stage|
    "position_distance_sq",
    "question_to_rep_step",  # the utterance is a question and the step is the rep's
    "question_to_customer_step",
    "call_relative_similarity",  # similarity standardised over this call's best similarities
)
OFF_FEATURES = (
    "bias",
    "best_calibrated_logit",
    "best_classifier_logp",
    "filler",  # a short acknowledgement ("ok", "嗯嗯")
    "log_length",
    "question",
    "position",
    "position_sq",
    "is_rep",
    "distance_from_edges",  # min(position, 1 - position)
    "call_relative_best_similarity",
    "call_rank_best_similarity",
    "filler_x_relative_similarity",
)
FEATURE_NAMES = (
    *(f"step.{n}" for n in STEP_FEATURES),
    *(f"reply.{n}" for n in STEP_FEATURES),
    "reply.bias",
    *(f"off.{n}" for n in OFF_FEATURES),
)

_QUESTION = re.compile(r"[?？]|[吗呢][。？?！!]?\s*$")
_CJK = re.compile(r"[\u4e00-\u9fff]")


class EmissionModelError(AppError):
    """The emission model file is missing, unreadable or was trained for other features."""


@dataclass(frozen=True)
class EmissionModel:
    """Weights over FEATURE_NAMES, with what they were trained on."""

    weights: np.ndarray
    feature_version: int
    trained_on: str
    embedder: str
    l2: float
    cv: dict[str, Any]

    def to_json(self) -> str:
        """The file form (weights by feature name, so a reader can see what matters)."""
        return json.dumps(
            {
                "feature_version": self.feature_version,
                "trained_on": self.trained_on,
                "embedder": self.embedder,
                "l2": self.l2,
                "cv": self.cv,
                "weights": {n: round(float(w), 6) for n, w in zip(FEATURE_NAMES, self.weights)},
            },
            ensure_ascii=False,
            indent=1,
        )


def load_model(path: Path = MODEL_PATH) -> EmissionModel:
    """Read a model file; a clear error when it does not fit this code's features."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        weights = doc["weights"]
        version = int(doc["feature_version"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise EmissionModelError(
            f"cannot read the SOP emission model {path}: {exc}; "
            "regenerate it with scripts/train_sop_emission.py"
        ) from exc
    if version != FEATURE_VERSION or set(weights) != set(FEATURE_NAMES):
        raise EmissionModelError(
            f"{path} was trained for other features (version {version}); "
            "regenerate it with scripts/train_sop_emission.py"
        )
    return EmissionModel(
        weights=np.array([float(weights[n]) for n in FEATURE_NAMES]),
        feature_version=version,
        trained_on=str(doc.get("trained_on", "")),
        embedder=str(doc.get("embedder", "")),
        l2=float(doc.get("l2", 0.0)),
        cv=dict(doc.get("cv", {})),
    )


@lru_cache(maxsize=1)
def default_model() -> EmissionModel:
    """The shipped model (read once per process)."""
    return load_model()


def _step_positions(index: SopIndex) -> np.ndarray:
    """Where each step sits, 0..1: in the SOP for a call SOP, inside its stage for a process."""
    if index.sop.kind == SopKind.PROCESS:
        out: list[float] = []
        for stage in index.sop.stages:
            n = len(stage.steps)
            out += [i / max(n - 1, 1) for i in range(n)]
        return np.asarray(out)
    S = len(index.step_ids)
    return np.arange(S) / max(S - 1, 1)


def _length(text: str) -> float:
    """Words, or characters / 1.8 for Chinese (about one word per 1.8 characters)."""
    return len(text) / 1.8 if _CJK.search(text) else float(len(text.split()))


def features(
    utterances: Sequence[UtteranceLike],
    index: SopIndex,
    em: _Emissions,
    roles: Sequence[Speaker | None],
) -> np.ndarray:
    """(T, S + 1, len(FEATURE_NAMES)): the evidence for each step and for off-SOP, per utterance."""
    T, S = em.sims.shape
    steps = [step for _stage, step in index.sop.steps()]
    sims = em.sims
    logit = np.clip((sims - index.mid[None, :]) / index.scale[None, :], -8.0, 8.0)
    z = ((em.vectors - index.clf_mu) / index.clf_sd) @ index.clf_w.T + index.clf_b
    clf = _log_softmax(z)
    is_rep = np.array([r == Speaker.REP for r in roles], float)
    is_cust = np.array([r == Speaker.CUSTOMER for r in roles], float)
    step_rep = np.array([s.speaker == Speaker.REP for s in steps], float)
    step_cust = np.array([s.speaker == Speaker.CUSTOMER for s in steps], float)
    match = is_rep[:, None] * step_rep[None] + is_cust[:, None] * step_cust[None]
    mismatch = is_rep[:, None] * step_cust[None] + is_cust[:, None] * step_rep[None]
    reply = is_cust[:, None] * step_rep[None]
    keyword = np.zeros((T, S))
    for t, s in em.keyword_hits:
        keyword[t, s] = 1.0
    position = np.arange(T) / max(T - 1, 1)
    distance = np.abs(position[:, None] - _step_positions(index)[None, :])
    sim_rank = (-sims).argsort(axis=1).argsort(axis=1)
    clf_rank = (-clf).argsort(axis=1).argsort(axis=1)
    previous_clf = np.vstack([np.full((1, S), -np.log(S)), clf[:-1]])
    previous_logit = np.vstack([np.zeros((1, S)), logit[:-1]])
    next_logit = np.vstack([logit[1:], np.zeros((1, S))])
    question = np.array([1.0 if _QUESTION.search(u.text) else 0.0 for u in utterances])
    best = sims.max(axis=1)
    spread = best.std() + 1e-3
    relative = np.clip((sims - np.median(best)) / spread, -5.0, 5.0)
    step_f = np.stack(
        [
            logit, sims, sims - best[:, None], sim_rank == 0, sim_rank < 3,
            clf, clf - clf.max(axis=1, keepdims=True), clf_rank == 0,
            match, mismatch, previous_clf, previous_logit, next_logit, keyword,
            distance, distance**2,
            question[:, None] * step_rep[None], question[:, None] * step_cust[None],
            relative,
        ],
        axis=2,
    ).astype(float)  # fmt: skip
    filler = em.filler.astype(float)
    rel_best = (best - np.median(best)) / spread
    off_f = np.stack(
        [
            np.ones(T), logit.max(axis=1), clf.max(axis=1), filler,
            np.log1p([_length(u.text) for u in utterances]), question, position, position**2,
            is_rep, np.minimum(position, 1 - position), rel_best,
            best.argsort().argsort() / max(T - 1, 1), filler * rel_best,
        ],
        axis=1,
    )  # fmt: skip
    n = len(STEP_FEATURES)
    out = np.zeros((T, S + 1, len(FEATURE_NAMES)))
    out[:, :S, :n] = step_f * (1.0 - reply)[:, :, None]
    out[:, :S, n : 2 * n] = step_f * reply[:, :, None]
    out[:, :S, 2 * n] = reply
    out[:, S, 2 * n + 1 :] = off_f
    return out


def _log_softmax(z: np.ndarray) -> np.ndarray:
    m = z.max(axis=1, keepdims=True)
    return z - (m + np.log(np.exp(z - m).sum(axis=1, keepdims=True)))


def log_probs(weights: np.ndarray, feats: np.ndarray) -> np.ndarray:
    """(T, S + 1) log p(option | utterance) under the conditional logit."""
    return _log_softmax(feats @ weights)


def fit(feats: Sequence[np.ndarray], targets: Sequence[np.ndarray], *, l2: float = 1.0) -> np.ndarray:
    """Maximum-likelihood weights with an L2 penalty; targets hold option indexes (S = off-SOP)."""
    from scipy.optimize import minimize

    d = feats[0].shape[2]

    def objective(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = l2 * float(w @ w), 2.0 * l2 * w
        for f, y in zip(feats, targets):
            lp = log_probs(w, f)
            rows = np.arange(len(y))
            total -= float(lp[rows, y].sum())
            grad = grad + np.einsum("to,tod->d", np.exp(lp), f) - f[rows, y].sum(axis=0)
        return total, grad

    result = minimize(objective, np.zeros(d), jac=True, method="L-BFGS-B")
    return np.asarray(result.x)

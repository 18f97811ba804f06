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
FEATURE_VERSION = 3

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
    "lexical_similarity",  # TF-IDF cosine (words + word pairs) to the step's closest text
    "best_by_lexical",
    "lexical_gap",  # minus the utterance's best lexical similarity to any step
    # The same evidence for the utterance read with the one before it (a reply, a follow-up).
    "context_calibrated_logit",
    "context_classifier_logp",
    "context_classifier_gap",
    "context_best_by_classifier",
    # A per-SOP classifier over those words and word pairs (which words tell this SOP's steps apart).
    "lexical_classifier_logp",
    "lexical_classifier_gap",
    "best_by_lexical_classifier",
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
_TOKEN = r"(?u)[\u4e00-\u9fff]|\b\w+\b"  # a Chinese character, or a word


# Inverse L2 strength of the lexical classifier: weak, since a step has only a handful of texts and
# one distinctive word pair should count (chosen with scripts/train_sop_emission.py: 10 and 100 did
# about as well, 3 worse).
LEXICAL_CLASSIFIER_C = 30.0


@dataclass(frozen=True)
class LexicalIndex:
    """TF-IDF of an SOP's step texts over words and word pairs: word overlap without a segmenter.

    Also a multinomial logistic regression from those TF-IDF vectors to the step, fitted on the
    same texts: where cosine counts every shared word, it weighs the words that separate steps.
    """

    vectorizer: Any
    matrix: Any  # (n_texts, vocabulary) sparse
    edges: tuple[int, ...]  # text rows of step s: edges[s]:edges[s + 1]
    clf_w: np.ndarray  # (S, vocabulary): step s scores matrix_row @ clf_w[s] + clf_b[s]
    clf_b: np.ndarray  # (S,)

    @classmethod
    def build(cls, texts: Sequence[Sequence[str]]) -> LexicalIndex:
        """Fit on the SOP's texts (rows per step, in step order)."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        flat = [t for group in texts for t in group]
        # Words and word pairs; a Chinese character is a word, so Chinese gets character pairs.
        vectorizer = TfidfVectorizer(token_pattern=_TOKEN, ngram_range=(1, 2), sublinear_tf=True)
        matrix = vectorizer.fit_transform(flat)
        edges = tuple(int(x) for x in np.cumsum([0] + [len(g) for g in texts]))
        steps = np.concatenate([np.full(len(g), s) for s, g in enumerate(texts)])
        return cls(vectorizer, matrix, edges, *_fit_lexical_classifier(matrix, steps, len(texts)))

    def similarities(self, texts: Sequence[str]) -> np.ndarray:
        """(T, S): cosine of each text to each step's closest text."""
        return self.both(texts)[0]

    def classifier_log_probs(self, texts: Sequence[str]) -> np.ndarray:
        """(T, S): log p(step | text) under the lexical classifier."""
        return self.both(texts)[1]

    def both(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """similarities() and classifier_log_probs() from one pass of the vectorizer (match time)."""
        x = self.vectorizer.transform(list(texts))
        sims = (x @ self.matrix.T).toarray()
        closest = np.stack([sims[:, a:b].max(axis=1) for a, b in zip(self.edges[:-1], self.edges[1:])], axis=1)
        return closest, _log_softmax(np.asarray(x @ self.clf_w.T) + self.clf_b)


def _fit_lexical_classifier(
    matrix: Any, steps: np.ndarray, n_steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """Weights of a balanced multinomial logistic regression (one step: all zero, it says nothing)."""
    from sklearn.linear_model import LogisticRegression

    w = np.zeros((n_steps, matrix.shape[1]))
    b = np.zeros(n_steps)
    if n_steps < 2:
        return w, b
    model = LogisticRegression(C=LEXICAL_CLASSIFIER_C, max_iter=3000, class_weight="balanced")
    model.fit(matrix, steps)
    if n_steps == 2:  # binary: sklearn keeps one row (step 1 vs step 0)
        w[1], b[1] = model.coef_[0], model.intercept_[0]
    else:
        w[model.classes_], b[model.classes_] = model.coef_, model.intercept_
    return w, b


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
    """The shipped model for the default embedder, multilingual-e5-small (read once per process)."""
    return load_model()


@lru_cache(maxsize=1)
def shipped_models() -> dict[str, EmissionModel]:
    """Every shipped model (app/sop/emission_model*.json) by the embedder it was fitted on."""
    models = (load_model(path) for path in sorted(MODEL_PATH.parent.glob("emission_model*.json")))
    return {m.embedder: m for m in models}


def model_for(embedder: str) -> EmissionModel | None:
    """The shipped model fitted on this embedder's vectors, or None (the matcher then blends)."""
    return shipped_models().get(embedder)


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


@dataclass(frozen=True)
class Evidence:
    """The evidence of one call: per STEP_FEATURES a (T, S) matrix, per OFF_FEATURES a (T,) column."""

    step: list[np.ndarray]
    off: list[np.ndarray]
    reply: np.ndarray  # (T, S) 1 where a customer utterance meets a rep step


def evidence(
    utterances: Sequence[UtteranceLike],
    index: SopIndex,
    em: _Emissions,
    roles: Sequence[Speaker | None],
) -> Evidence:
    # the matcher imports this module
    from app.sop.matcher import example_products, step_similarities

    T, S = em.sims.shape
    steps = [step for _stage, step in index.sop.steps()]
    sims = em.sims
    projection = (em.vectors / index.clf_sd) @ index.clf_w.T  # the classifier's linear part, reused below
    logit, clf = _logit_and_classifier(em.vectors, index, sims, projection)
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
    previous_clf = np.vstack([np.full((1, S), -np.log(S)), clf[:-1]])
    previous_logit = np.vstack([np.zeros((1, S)), logit[:-1]])
    next_logit = np.vstack([logit[1:], np.zeros((1, S))])
    question = np.array([1.0 if _QUESTION.search(u.text) else 0.0 for u in utterances])
    best = sims.max(axis=1)
    spread = best.std() + 1e-3
    relative = np.clip((sims - np.median(best)) / spread, -5.0, 5.0)
    texts = [u.text for u in utterances]
    lexical, lexical_clf = index.lexical.both(texts)
    # The utterance with half the previous one, renormalised. Cosines and the classifier are linear
    # in the vector, so the context's come from the utterances' own products, not new ones.
    def previous(x: np.ndarray) -> np.ndarray:
        return np.vstack([x[:1], x[:-1]])

    context = em.vectors + 0.5 * previous(em.vectors)
    norm = np.maximum(np.linalg.norm(context, axis=1, keepdims=True), 1e-12)
    context /= norm
    products = em.products if em.products is not None else example_products(em.vectors, index)
    ctx_sims = step_similarities(context, index, (products + 0.5 * previous(products)) / norm)
    ctx_logit, ctx_clf = _logit_and_classifier(context, index, ctx_sims, (projection + 0.5 * previous(projection)) / norm)
    step_f = [
        logit, sims, sims - best[:, None], _is_best(sims), _in_top(sims, 3),
        clf, clf - clf.max(axis=1, keepdims=True), _is_best(clf),
        match, mismatch, previous_clf, previous_logit, next_logit, keyword,
        distance, distance**2,
        question[:, None] * step_rep[None], question[:, None] * step_cust[None],
        relative, lexical, _is_best(lexical), lexical - lexical.max(axis=1, keepdims=True),
        ctx_logit, ctx_clf, ctx_clf - ctx_clf.max(axis=1, keepdims=True), _is_best(ctx_clf),
        lexical_clf, lexical_clf - lexical_clf.max(axis=1, keepdims=True), _is_best(lexical_clf),
    ]  # fmt: skip
    filler = em.filler.astype(float)
    rel_best = (best - np.median(best)) / spread
    off_f = [
        np.ones(T), logit.max(axis=1), clf.max(axis=1), filler,
        np.log1p([_length(u.text) for u in utterances]), question, position, position**2,
        is_rep, np.minimum(position, 1 - position), rel_best,
        best.argsort().argsort() / max(T - 1, 1), filler * rel_best,
    ]  # fmt: skip
    return Evidence(
        [np.asarray(f, dtype=float) for f in step_f],
        [np.asarray(f, dtype=float) for f in off_f],
        reply,
    )


def features(parts: Evidence) -> np.ndarray:
    """(T, S + 1, len(FEATURE_NAMES)): the evidence for each step and for off-SOP (for training)."""
    T, S = parts.reply.shape
    step_f = np.stack(parts.step, axis=2)
    reply = parts.reply
    n = len(STEP_FEATURES)
    out = np.zeros((T, S + 1, len(FEATURE_NAMES)))
    out[:, :S, :n] = step_f * (1.0 - reply)[:, :, None]
    out[:, :S, n : 2 * n] = step_f * reply[:, :, None]
    out[:, :S, 2 * n] = reply
    out[:, S, 2 * n + 1 :] = np.stack(parts.off, axis=1)
    return out


def call_log_probs(weights: np.ndarray, parts: Evidence) -> np.ndarray:
    """log_probs(weights, features(parts)) without building the feature tensor (match time)."""
    n = len(STEP_FEATURES)
    reply = parts.reply
    z_step = weights[2 * n] * reply
    for k, f in enumerate(parts.step):
        z_step = z_step + f * (weights[k] + (weights[n + k] - weights[k]) * reply)
    z_off = sum(w * f for w, f in zip(weights[2 * n + 1 :], parts.off))
    return _log_softmax(np.concatenate([z_step, np.asarray(z_off)[:, None]], axis=1))


def _log_softmax(z: np.ndarray) -> np.ndarray:
    m = z.max(axis=1, keepdims=True)
    return z - (m + np.log(np.exp(z - m).sum(axis=1, keepdims=True)))


def _is_best(x: np.ndarray) -> np.ndarray:
    """1 where a column holds its row's maximum (ties: every tied column)."""
    return x >= x.max(axis=1, keepdims=True)


def _in_top(x: np.ndarray, k: int) -> np.ndarray:
    """1 where a column is among its row's k largest (ties included)."""
    if x.shape[1] <= k:
        return np.ones_like(x, dtype=bool)
    return x >= np.partition(x, -k, axis=1)[:, -k][:, None]


def _logit_and_classifier(
    vectors: np.ndarray, index: SopIndex, sims: np.ndarray | None = None, projection: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated similarity logits (clipped) and classifier log-probabilities, both (T, S).

    ``projection``: (vectors / sd) @ W^T when the caller has it (the classifier is affine in it)."""
    from app.sop.matcher import step_similarities  # the matcher imports this module

    if sims is None:
        sims = step_similarities(vectors, index)
    logit = np.clip((sims - index.mid[None, :]) / index.scale[None, :], -8.0, 8.0)
    if projection is None:
        projection = (vectors / index.clf_sd) @ index.clf_w.T
    z = projection - (index.clf_mu / index.clf_sd) @ index.clf_w.T + index.clf_b
    return logit, _log_softmax(z)


def log_probs(weights: np.ndarray, feats: np.ndarray) -> np.ndarray:
    """(T, S + 1) log p(option | utterance) under the conditional logit."""
    return _log_softmax(feats @ weights)


def fit(
    feats: Sequence[np.ndarray], targets: Sequence[np.ndarray], *, l2: float = 1.0
) -> np.ndarray:
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

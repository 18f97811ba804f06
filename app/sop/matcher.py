"""Match a call's utterances to SOP steps: classifier + similarity emissions, Viterbi over the SOP order.

Emissions per utterance and step: the step's calibrated similarity (is this on-SOP at all, and
near which step) plus the log-probability of a per-SOP multinomial logistic regression trained
on the steps' own examples and name/description (which step: it finds the few directions that
separate this SOP's steps when raw cosines all sit near 0.85), with speaker and keyword evidence.
Pure numpy at match time (scikit-learn only fits the classifier when the index is built), no database. Each utterance gets a step or off-SOP; consecutive labels collapse into the
actual path. States are the SOP steps in prescribed order plus one off-SOP state per position
("off-SOP, last step was i"), so a digression does not forget where the call was in the SOP.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from itertools import pairwise
from typing import Any, Literal, Protocol

import numpy as np

from app.errors import Unprocessable
from app.sop import emission
from app.sop.schema import SopDefinition, SopKind, Speaker, Step

NEG = -1e9  # log-score of a forbidden transition (finite, so argmax stays well defined)


class Embedder(Protocol):
    """Anything with models.embedder's `embed` (rows L2-normalised float32)."""

    def embed(self, texts: Sequence[str], kind: str = "query") -> np.ndarray: ...


class UtteranceLike(Protocol):
    """The fields of app.transcripts.formats.Utterance the matcher reads."""

    index: int
    role: Any
    start: float
    end: float
    text: str


class MatchInputError(Unprocessable):
    """Vectors and utterances/steps do not line up."""


@dataclass(frozen=True)
class MatchParams:
    """Matcher settings; defaults chosen on the generated tuning corpus by bench/bench_match.py (e5)."""

    # similarity(u, step) = mean of the top_k cosines between u and the step's texts (examples + name)
    top_k: int = 2
    # Calibration per step: the logistic midpoint sits this far from the step's typical similarity to
    # other steps' examples (0) towards its examples' similarity to each other (1).
    calibration_alpha: float = 0.45
    # Logit units between those two reference points (higher = sharper probabilities).
    calibration_sharpness: float = 4.0
    # An utterance is off-SOP unless some step's calibrated probability beats this (before context).
    off_sop_prob: float = 0.3
    # Logit penalty when the utterance's role contradicts the step's speaker (rep vs customer).
    speaker_mismatch_penalty: float = 5.0
    # A customer's reply (answering the rep's budget question) may stay in the rep's step: the
    # speaker mismatch never scores that step below off-SOP, so context decides.
    replies_inherit: bool = True
    # Logit bonus when one of the step's keywords occurs in the utterance.
    keyword_bonus: float = 0.75
    # Transition log-penalties: next step, each further step skipped, going back, leaving the SOP.
    forward_penalty: float = 0.5
    skip_penalty: float = 1.0
    max_skip_penalty: float = 3.0
    back_penalty: float = 5.0
    off_enter_penalty: float = 1.0
    # True: a call may open at any step at no cost (start_penalty ignored). False: see start_scores()
    # (a process SOP's call may still open any stage; a late step of a call SOP costs more).
    start_anywhere: bool = False
    # Short acknowledgements ("ok", "嗯", "yeah") carry no emission and inherit the context label.
    filler_max_tokens: int = 3
    # "viterbi" decodes the whole call; "argmax" labels each utterance alone (the ablation baseline).
    decode: Literal["viterbi", "argmax"] = "viterbi"
    # Emissions. "similarity": per-step calibrated similarity only (the old model). "classifier":
    # whether the utterance is on-SOP comes from its best calibrated similarity, which step from a
    # per-SOP logistic-regression classifier trained on the steps' own texts. "blend": the step's
    # own calibrated similarity plus the classifier term.
    # "learned" (the default): app/sop/emission.py's SOP-agnostic model weighs all of that evidence
    # (and decides off-SOP), with weights fitted on labelled calls of other SOPs.
    emission: Literal["similarity", "classifier", "blend", "learned"] = "learned"
    # Weights for "learned" (None = the shipped app/sop/emission_model.json); for training scripts.
    emission_weights: tuple[float, ...] | None = None
    # Weight of the classifier's log(S · p(step | utterance)) in the step score.
    classifier_weight: float = 1.0
    # Inverse L2 strength of the classifier (features standardised on the SOP's texts).
    classifier_c: float = 1.0
    # Start of the call: log-penalty per step position before the state, capped at max_start_penalty
    # (a process SOP counts positions inside each stage: a call may open any stage of a deal).
    start_penalty: float = 1.0
    max_start_penalty: float = 6.0
    # With learned emissions (log-probabilities, on another scale than the blend scores) every
    # transition and start penalty above is multiplied by this, and going back costs
    # learned_back_penalty before that scaling. Chosen by scripts/train_sop_emission.py.
    learned_transition_scale: float = 1.0
    learned_back_penalty: float = 2.0
    # Added to the learned off-SOP log-probability before decoding (negative: a step needs less
    # evidence to win). The model is fitted per utterance; decoding with it alone left too many
    # in-step utterances off-SOP. Chosen by scripts/train_sop_emission.py.
    learned_off_bias: float = -0.5
    # Given stages (the deal's stage when the call happened, or the upload's) are what the call is
    # held to, unless they hold less than this share of its on-SOP utterances: then the hint is
    # stale or wrong and the stages are inferred instead. On the labelled process calls the right
    # stages held 0.71-1.0 of them, every wrong stage at most 0.16.
    stage_hint_min_share: float = 0.3


@dataclass(frozen=True)
class UtteranceLabel:
    """The step (or None = off-SOP) chosen for one utterance, with confidence and evidence."""

    index: int
    step_id: str | None
    score: float  # posterior probability of this label given the whole call
    similarity: float  # top-k mean cosine to the chosen step (to the best step when off-SOP)
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class PathSegment:
    """One visit to a step: its utterances (off-SOP interruptions inside a visit are not included)."""

    step_id: str
    stage_id: str
    start: float
    end: float
    utterance_indexes: tuple[int, ...]


@dataclass(frozen=True)
class MatchResult:
    """Per-utterance labels and the collapsed actual path of one call."""

    sop_id: str
    sop_version: int
    labels: tuple[UtteranceLabel, ...]
    path: tuple[PathSegment, ...]
    params: MatchParams = field(default_factory=MatchParams)
    # Per step: its highest posterior over the call and that utterance's index. A step can be
    # probable somewhere without winning the single best path (a neighbour's label wins a close
    # call); the comparison does not report such a step as missed. Empty: not computed.
    presence: dict[str, tuple[float, int]] = field(default_factory=dict)
    # Stages the call was said to work on, those it is held to (empty: none given, or a hint that
    # did not fit; compare_path then infers them), and the share of its on-SOP utterances the given
    # stages held.
    stages_given: tuple[str, ...] = ()
    stages_used: tuple[str, ...] = ()
    stage_share: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> MatchResult:
        """The inverse of to_dict (a stored result read back)."""
        params = dict(doc.get("params") or {})
        if params.get("emission_weights") is not None:
            params["emission_weights"] = tuple(params["emission_weights"])
        known = set(MatchParams.__dataclass_fields__)
        return cls(
            sop_id=doc["sop_id"],
            sop_version=int(doc["sop_version"]),
            labels=tuple(
                UtteranceLabel(
                    int(lab["index"]), lab["step_id"], float(lab["score"]), float(lab["similarity"]),
                    tuple(lab.get("evidence") or ()),
                )
                for lab in doc["labels"]
            ),
            path=tuple(
                PathSegment(seg["step_id"], seg["stage_id"], float(seg["start"]), float(seg["end"]),
                            tuple(int(i) for i in seg["utterance_indexes"]))
                for seg in doc["path"]
            ),
            params=MatchParams(**{k: v for k, v in params.items() if k in known}),
            presence={k: (float(v[0]), int(v[1])) for k, v in (doc.get("presence") or {}).items()},
            stages_given=tuple(doc.get("stages_given") or ()),
            stages_used=tuple(doc.get("stages_used") or ()),
            stage_share=doc.get("stage_share"),
        )


# ---------------------------------------------------------------------------------------------
# SOP index: example vectors + calibration, built once per SOP version


@dataclass(frozen=True)
class SopIndex:
    """Everything per SOP version the matcher needs: step order, vectors, calibration, keywords."""

    sop: SopDefinition
    step_ids: tuple[str, ...]
    stage_ids: tuple[str, ...]
    vectors: tuple[np.ndarray, ...]  # per step: (n_texts, dim), rows as in step_texts()
    texts: tuple[tuple[str, ...], ...]
    mid: np.ndarray  # per step logistic midpoint (cosine units)
    scale: np.ndarray  # per step logistic scale (cosine units per logit)
    calib_in: np.ndarray
    calib_out: np.ndarray
    top_k: int
    # Per-SOP step classifier (multinomial logistic regression), applied as softmax(((x - mu) / sd) W^T + b).
    clf_w: np.ndarray | None = None  # (S, dim)
    clf_b: np.ndarray | None = None  # (S,)
    clf_mu: np.ndarray | None = None  # (dim,)
    clf_sd: np.ndarray | None = None  # (dim,)
    clf_c: float | None = None
    embedder: str = ""  # the model that embedded the texts ("learned" emissions are fit per model)
    # TF-IDF over the step texts (learned emissions: word overlap, any language).
    lexical: Any = None


def step_texts(step: Step) -> list[str]:
    """Texts embedded for a step, in the row order example_vectors must follow: examples, then name."""
    label = step.name if not step.description else f"{step.name}: {step.description}"
    return [*step.examples, label]


def build_sop_index(
    sop: SopDefinition,
    embedder: Embedder | Callable[[list[str]], np.ndarray],
    *,
    params: MatchParams = MatchParams(),
) -> SopIndex:
    """Embed every step's texts once and calibrate; reuse the index for all calls of this SOP version."""
    texts = [step_texts(step) for _stage, step in sop.steps()]
    flat = [t for group in texts for t in group]
    # Utterance-to-example matching is symmetric (sentence vs sentence), so both sides use "query".
    vecs = embedder.embed(flat, kind="query") if hasattr(embedder, "embed") else embedder(flat)
    vecs = np.asarray(vecs, dtype=np.float32)
    out, at = {}, 0
    for (_stage, step), group in zip(sop.steps(), texts):
        out[step.id] = vecs[at : at + len(group)]
        at += len(group)
    return index_from_vectors(sop, out, params=params, embedder=str(getattr(embedder, "name", "")))


def index_from_vectors(
    sop: SopDefinition,
    example_vectors: dict[str, np.ndarray],
    *,
    params: MatchParams = MatchParams(),
    embedder: str = "",
) -> SopIndex:
    """Build a SopIndex from stored vectors (rows per step as in step_texts(), or examples only).

    `embedder` names the model that made the vectors; the learned emissions need the one they
    were fitted on (other models fall back to the "blend" emissions).
    """
    steps = sop.steps()
    missing = [s.id for _st, s in steps if s.id not in example_vectors]
    if missing:
        raise MatchInputError(f"example_vectors lacks steps {missing}; embed every step of the SOP")
    vectors = tuple(
        _normalise(np.asarray(example_vectors[s.id], dtype=np.float32)) for _st, s in steps
    )
    texts = tuple(tuple(step_texts(s))[: len(v)] for (_st, s), v in zip(steps, vectors))
    calib_in, calib_out = _calibration_points(vectors, params.top_k)
    spread = np.maximum(calib_in - calib_out, 0.02)
    mid = calib_out + params.calibration_alpha * spread
    scale = spread / params.calibration_sharpness
    clf = _train_classifier(vectors, params.classifier_c) if params.emission != "similarity" else {}
    return SopIndex(
        sop=sop,
        step_ids=tuple(s.id for _st, s in steps),
        stage_ids=tuple(st.id for st, _s in steps),
        vectors=vectors,
        texts=texts,
        mid=mid,
        scale=scale,
        calib_in=calib_in,
        calib_out=calib_out,
        top_k=params.top_k,
        embedder=embedder,
        lexical=emission.LexicalIndex.build(texts),
        **clf,
    )


def _train_classifier(vectors: Sequence[np.ndarray], c: float) -> dict[str, Any]:
    """Multinomial logistic regression from text vector to step, on the SOP's own texts.

    Cosine to the nearest example cannot tell steps apart when every text sits at ~0.85 to every
    other (e5); a linear model finds the few directions that do separate this SOP's steps.
    """
    from sklearn.linear_model import LogisticRegression

    x = np.vstack(vectors).astype(np.float64)
    y = np.concatenate([np.full(len(v), s) for s, v in enumerate(vectors)])
    mu = x.mean(axis=0)
    sd = x.std(axis=0) + 1e-6
    w = np.zeros((len(vectors), x.shape[1]))
    b = np.zeros(len(vectors))
    # One step: nothing to tell apart, similarity decides on/off.
    if len(vectors) > 1:
        model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
        model.fit((x - mu) / sd, y)
        if len(vectors) == 2:  # binary: sklearn keeps one row (class 1 vs 0)
            w[1], b[1] = model.coef_[0], model.intercept_[0]
        else:
            w[model.classes_], b[model.classes_] = model.coef_, model.intercept_
    return {
        "clf_w": w.astype(np.float32),
        "clf_b": b.astype(np.float32),
        "clf_mu": mu.astype(np.float32),
        "clf_sd": sd.astype(np.float32),
        "clf_c": c,
    }


def _normalise(m: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(m, axis=-1, keepdims=True)
    return m / np.maximum(norms, 1e-12)


def _topk_mean(sims: np.ndarray, k: int) -> np.ndarray:
    """Mean of the k largest values along the last axis (all of them when fewer than k)."""
    k = max(1, min(k, sims.shape[-1]))
    return np.sort(sims, axis=-1)[..., -k:].mean(axis=-1)


def _calibration_points(vectors: Sequence[np.ndarray], k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per step: leave-one-out similarity of its own examples (in) vs other steps' examples (out).

    Raw cosines differ a lot between embedders (e5 sits near 0.8 for anything, MiniLM near 0.2),
    so each step is calibrated against its own examples instead of a global threshold.
    """
    n = len(vectors)
    calib_in, calib_out = np.zeros(n), np.zeros(n)
    for s, vs in enumerate(vectors):
        own = vs @ vs.T
        np.fill_diagonal(own, -np.inf)
        calib_in[s] = float(np.mean(_topk_mean(own, k)))
        others = [v for o, v in enumerate(vectors) if o != s]
        if others:
            calib_out[s] = float(np.mean(_topk_mean(np.vstack(others) @ vs.T, k)))
        else:
            calib_out[s] = calib_in[s] - 0.2
    return calib_in, calib_out


# ---------------------------------------------------------------------------------------------
# emissions

_EN_FILLERS = {
    "ok", "okay", "yeah", "yes", "yep", "yup", "right", "sure", "mhm", "mm", "hmm", "uh", "um",
    "huh", "uh-huh", "got", "it", "i", "see", "great", "cool", "alright", "perfect", "totally",
    "absolutely", "exactly", "nice", "oh", "ah", "wow", "sounds", "good", "makes", "sense", "gotcha",
    "fine", "true", "and", "so", "well",
}  # fmt: skip
_ZH_FILLER_CHARS = set("嗯啊哦噢对好的是行呃哈喔唔呀吧嘛没错可以")
_PUNCT = re.compile(r"[\s\.,!?;:…\-–—'\"“”‘’()（）。，！？；：、~]+")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def is_filler(text: str, *, max_tokens: int = 3) -> bool:
    """True for short acknowledgements that carry no step content ("ok", "yeah sure", "嗯嗯", "好的")."""
    norm = _PUNCT.sub(" ", text.lower()).strip()
    if not norm:
        return True
    if _CJK.search(norm):
        chars = norm.replace(" ", "")
        return len(chars) <= 2 * max_tokens and set(chars) <= _ZH_FILLER_CHARS
    tokens = norm.split()
    return len(tokens) <= max_tokens and all(t in _EN_FILLERS for t in tokens)


_ROLE_ALIASES = {
    "rep": Speaker.REP, "sales": Speaker.REP, "salesperson": Speaker.REP, "agent": Speaker.REP,
    "host_salesman": Speaker.REP, "seller": Speaker.REP, "销售": Speaker.REP,
    "customer": Speaker.CUSTOMER, "client": Speaker.CUSTOMER, "prospect": Speaker.CUSTOMER,
    "customer_contact": Speaker.CUSTOMER, "buyer": Speaker.CUSTOMER, "客户": Speaker.CUSTOMER,
}  # fmt: skip


def normalise_role(role: Any) -> Speaker | None:
    """Map a transcript role (enum or string, any of the formats' spellings) to rep/customer/None."""
    value = getattr(role, "value", role)
    return _ROLE_ALIASES.get(str(value).strip().lower()) if value is not None else None


@dataclass(frozen=True)
class _Emissions:
    vectors: np.ndarray  # (T, dim) normalised utterance vectors
    sims: np.ndarray  # (T, S) top-k mean cosine
    logits: np.ndarray  # (T, S) calibrated logits incl. speaker and keyword terms
    filler: np.ndarray  # (T,) bool
    keyword_hits: dict[tuple[int, int], list[str]]  # (t, s) -> keywords found (only where any)
    customer_reply: np.ndarray  # (T, S) bool: a customer utterance against a rep step
    clf_logp: np.ndarray | None = (
        None  # (T, S) classifier log-probabilities (with speaker/keywords)
    )
    learned_logp: np.ndarray | None = None  # (T, S + 1) "learned" log p(step or off-SOP | utterance)
    products: np.ndarray | None = None  # (T, texts) cosine to every text of every step (example_products)


def example_products(vectors: np.ndarray, index: SopIndex) -> np.ndarray:
    """(T, texts): one matrix product of the utterances against every text of every step."""
    return vectors @ np.concatenate(index.vectors, axis=0).T


def step_similarities(vectors: np.ndarray, index: SopIndex, products: np.ndarray | None = None) -> np.ndarray:
    """(T, S): per utterance and step, the mean of the top-k cosines to the step's texts.

    One matrix product against every example of every step (or ``products``, when the caller has
    it), then the top-k mean per step (a loop of per-step products cost ~250 ms on a 600 x 60 call;
    this is a few ms).
    """
    every = example_products(vectors, index) if products is None else products
    edges = np.cumsum([0] + [len(v) for v in index.vectors])
    return np.stack([_topk_mean(every[:, a:b], index.top_k) for a, b in pairwise(edges)], axis=1)


def _emissions(
    utterances: Sequence[UtteranceLike], vectors: np.ndarray, index: SopIndex, params: MatchParams
) -> _Emissions:
    steps = [step for _st, step in index.sop.steps()]
    products = example_products(vectors, index)
    sims = step_similarities(vectors, index, products)
    logits = (sims - index.mid[None, :]) / index.scale[None, :]
    # Speaker constraint, vectorised: a rep utterance in a customer step (or vice versa) is penalised.
    roles = [normalise_role(u.role) for u in utterances]
    is_rep = np.array([r == Speaker.REP for r in roles])[:, None]
    is_customer = np.array([r == Speaker.CUSTOMER for r in roles])[:, None]
    step_rep = np.array([st.speaker == Speaker.REP for st in steps])[None, :]
    step_customer = np.array([st.speaker == Speaker.CUSTOMER for st in steps])[None, :]
    mismatch = (is_rep & step_customer) | (is_customer & step_rep)
    logits = logits - params.speaker_mismatch_penalty * mismatch
    # Only the customer's replies inside a rep step inherit it; a rep utterance never continues a
    # customer step (the rep's answer to an objection is its own step).
    customer_reply = is_customer & step_rep
    hits: dict[tuple[int, int], list[str]] = {}
    keyword_steps = [(s, [kw.lower() for kw in step.keywords]) for s, step in enumerate(steps) if step.keywords]
    for t, utt in enumerate(utterances):
        text = utt.text.lower()
        for s, keywords in keyword_steps:
            found = [kw for kw in keywords if kw in text]
            if found:
                hits[(t, s)] = found
                logits[t, s] += params.keyword_bonus
    filler = np.array(
        [is_filler(u.text, max_tokens=params.filler_max_tokens) for u in utterances], dtype=bool
    )
    weights = _learned_weights(index, params)
    clf_logp = None
    if params.emission != "similarity" and (index.clf_w is None or index.clf_c != params.classifier_c):
        raise MatchInputError(
            f"emission '{params.emission}' needs an index built with the same params "
            "(build_sop_index(..., params=params)); this one has no matching classifier"
        )
    if params.emission in ("classifier", "blend") or (params.emission == "learned" and weights is None):
        z = ((vectors - index.clf_mu) / index.clf_sd) @ index.clf_w.T + index.clf_b
        # Same speaker and keyword evidence as the similarity side (the difference is already in logits).
        z = z + (logits - (sims - index.mid[None, :]) / index.scale[None, :])
        clf_logp = z - _logsumexp(z, axis=1)[:, None]
    em = _Emissions(
        vectors=vectors,
        sims=sims,
        logits=logits,
        filler=filler,
        keyword_hits=hits,
        customer_reply=customer_reply,
        clf_logp=clf_logp,
        products=products,
    )
    if weights is None:
        return em
    parts = emission.evidence(utterances, index, em, roles)
    return replace(em, learned_logp=emission.call_log_probs(weights, parts))


def _learned_weights(index: SopIndex, params: MatchParams) -> np.ndarray | None:
    """The learned model's weights for this match, or None for the blend emissions.

    Explicit weights (training) always apply; the shipped model only to vectors of the embedder
    it was fitted on — another model's vectors get the blend emissions.
    """
    if params.emission_weights is not None:
        return np.asarray(params.emission_weights)
    if params.emission != "learned":
        return None  # not read at all: the training script must run while the file is stale
    model = emission.model_for(index.embedder)
    return None if model is None else model.weights


def call_features(
    utterances: Sequence[UtteranceLike], vectors: np.ndarray, index: SopIndex, params: MatchParams
) -> np.ndarray:
    """The learned model's input for one call, (T, S + 1, features): for training it elsewhere."""
    vectors = _normalise(np.asarray(vectors, dtype=np.float32).reshape(len(utterances), -1))
    em = _emissions(utterances, vectors, index, replace(params, emission="blend"))
    roles = [normalise_role(u.role) for u in utterances]
    return emission.features(emission.evidence(utterances, index, em, roles))


def _log_sigmoid(x: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0.0, -x)


# ---------------------------------------------------------------------------------------------
# decoding


def transition_matrix(n_steps: int, params: MatchParams) -> np.ndarray:
    """Log-scores between the 2S+1 states: steps 0..S-1, then off-SOP after position -1..S-1.

    Cached per (size, params): the same SOP is decoded for every call (a copy is returned)."""
    return _transition_matrix(n_steps, params).copy()


@lru_cache(maxsize=64)
def _transition_matrix(n_steps: int, params: MatchParams) -> np.ndarray:
    S = n_steps
    N = 2 * S + 1
    pos = np.concatenate([np.arange(S), np.arange(-1, S)])
    is_off = np.arange(N) >= S
    T = np.full((N, N), NEG)
    for a in range(N):
        for j in range(S):
            d = j - pos[a]
            if d == 0:
                T[a, j] = 0.0  # stay on the step, or resume it after a digression
            elif d >= 1:
                T[a, j] = -params.forward_penalty - min(
                    params.skip_penalty * (d - 1), params.max_skip_penalty
                )
            else:
                T[a, j] = -params.back_penalty
        off_target = S + int(pos[a]) + 1
        T[a, off_target] = 0.0 if is_off[a] else -params.off_enter_penalty
    return T


def start_scores(index: SopIndex, params: MatchParams) -> np.ndarray:
    """Log-scores of the first state: early steps are likelier openings than late ones.

    A call SOP counts a step's position from the first step; a process SOP from the first step of
    its stage (one call of a deal may cover any stage). Off-SOP before any step costs nothing.
    """
    S = len(index.step_ids)
    if params.start_anywhere:
        steps = np.zeros(S)
    else:
        if index.sop.kind == SopKind.PROCESS:
            pos = [i for st in index.sop.stages for i in range(len(st.steps))]
        else:
            pos = list(range(S))
        steps = -np.minimum(params.start_penalty * np.asarray(pos, float), params.max_start_penalty)
    # A call cannot open "off-SOP after step i" without having been in step i.
    return np.concatenate([steps, [0.0], np.full(S, NEG)])


def _state_scores(em: _Emissions, params: MatchParams) -> np.ndarray:
    """(T, N) emission log-scores; filler rows are flat so they take their label from context."""
    T_, S = em.logits.shape
    if em.learned_logp is not None:
        # Already a distribution over steps and off-SOP; the off-SOP states share its last column.
        learned = em.learned_logp
        off = learned[:, S:] + params.learned_off_bias
        return np.concatenate([learned[:, :S], np.repeat(off, S + 1, axis=1)], axis=1)
    step_part = _log_sigmoid(em.logits)
    if em.clf_logp is not None:
        which = params.classifier_weight * (em.clf_logp + np.log(S))
        if params.emission == "classifier":
            # on-SOP evidence: the best calibrated similarity to any step; which step: the classifier
            step_part = np.max(step_part, axis=1, keepdims=True) + which
        else:
            step_part = step_part + which
    if params.replies_inherit:
        floor = np.log(params.off_sop_prob)
        step_part = np.where(em.customer_reply, np.maximum(step_part, floor), step_part)
    off_part = np.full((T_, S + 1), np.log(params.off_sop_prob))
    scores = np.concatenate([step_part, off_part], axis=1)
    scores[em.filler] = 0.0
    return scores


def _viterbi(scores: np.ndarray, trans: np.ndarray, start: np.ndarray) -> np.ndarray:
    T_, N = scores.shape
    delta = start + scores[0]
    back = np.zeros((T_, N), dtype=np.int64)
    for t in range(1, T_):
        cand = delta[:, None] + trans
        back[t] = np.argmax(cand, axis=0)
        delta = cand[back[t], np.arange(N)] + scores[t]
    states = np.zeros(T_, dtype=np.int64)
    states[-1] = int(np.argmax(delta))
    for t in range(T_ - 1, 0, -1):
        states[t - 1] = back[t, states[t]]
    return states


def _posteriors(scores: np.ndarray, trans: np.ndarray, start: np.ndarray) -> np.ndarray:
    """State marginals under the same log-potentials (forward-backward, CRF-style).

    Scaled forward-backward in the probability domain: each step is one small matrix-vector
    product with exp(trans), renormalised, instead of a log-sum-exp over the whole matrix
    (~30x faster on a 600-utterance call, same result up to float rounding).
    """
    T_, N = scores.shape
    emit = np.exp(scores - scores.max(axis=1, keepdims=True))
    step = np.exp(trans - trans.max())
    alpha = np.zeros((T_, N))
    beta = np.ones((T_, N))
    a = np.exp(start - start.max()) * emit[0]
    alpha[0] = a / max(a.sum(), 1e-300)
    for t in range(1, T_):
        a = (alpha[t - 1] @ step) * emit[t]
        alpha[t] = a / max(a.sum(), 1e-300)
    for t in range(T_ - 2, -1, -1):
        b = step @ (emit[t + 1] * beta[t + 1])
        beta[t] = b / max(b.sum(), 1e-300)
    post = alpha * beta
    return post / np.maximum(post.sum(axis=1, keepdims=True), 1e-300)


def _logsumexp(x: np.ndarray, axis: int) -> np.ndarray:
    m = np.max(x, axis=axis, keepdims=True)
    return (m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))).squeeze(axis)


def match_call(
    utterances: Sequence[UtteranceLike],
    sop: SopDefinition | SopIndex,
    *,
    utterance_vectors: np.ndarray,
    example_vectors: dict[str, np.ndarray] | None = None,
    stage_ids: Sequence[str] | None = None,
    params: MatchParams = MatchParams(),
) -> MatchResult:
    """Label every utterance with a step or off-SOP and collapse the labels into the actual path.

    `stage_ids`: the stages the call is known to work on (a process SOP's call: its deal's stage).
    The result carries them as the stages it is held to (`stages_used`, compare_path's scope) when
    they fit the call (`params.stage_hint_min_share`).
    """
    index = _resolve_index(sop, example_vectors, params)
    given = _known_stages(index, stage_ids)
    result = _match(utterances, index, utterance_vectors, params)
    if not given:
        return result
    # The labels stay the whole SOP's: restricting the decoding to the given stages (a sub-index,
    # or a penalty on the other stages' steps) was +0.03 macro-F1 on the labelled process calls
    # with the shipped model but -0.02 leave-one-SOP-out (it pulls small talk into steps). The
    # stages decide what the call is held to (compare_path's scope), where they do help.
    share = _stage_share(result, given)
    used = given if share >= params.stage_hint_min_share else ()
    return replace(result, stages_given=given, stages_used=used, stage_share=share)


def _known_stages(index: SopIndex, stage_ids: Sequence[str] | None) -> tuple[str, ...]:
    """The given stage ids in the SOP's order; MatchInputError naming any the SOP lacks."""
    known, unknown = index.sop.split_stage_ids(stage_ids or ())
    if unknown:
        raise MatchInputError(
            f"unknown stage ids {unknown} for SOP {index.sop.id!r}; "
            f"its stages are: {', '.join(st.id for st in index.sop.stages)}"
        )
    return tuple(known)


def _stage_share(result: MatchResult, stage_ids: Sequence[str]) -> float:
    """Share of the on-SOP utterances of `result` that sit in these stages (0 when none is on-SOP)."""
    wanted = set(stage_ids)
    total = sum(len(seg.utterance_indexes) for seg in result.path)
    inside = sum(len(seg.utterance_indexes) for seg in result.path if seg.stage_id in wanted)
    return round(inside / total, 4) if total else 0.0


def _match(
    utterances: Sequence[UtteranceLike], index: SopIndex, utterance_vectors: np.ndarray, params: MatchParams
) -> MatchResult:
    """match_call over every stage of the SOP: emissions, decoding, labels, path and presence."""
    vectors = (
        _normalise(np.asarray(utterance_vectors, dtype=np.float32).reshape(len(utterances), -1))
        if len(utterances)
        else None
    )
    if vectors is None or not len(utterances):
        return MatchResult(index.sop.id, index.sop.version, (), (), params)
    if vectors.shape[1] != index.vectors[0].shape[1]:
        raise MatchInputError(
            f"utterance vectors have dimension {vectors.shape[1]} but the SOP index has "
            f"{index.vectors[0].shape[1]}; embed both with the same model"
        )
    em = _emissions(utterances, vectors, index, params)
    S = len(index.step_ids)
    scores = _state_scores(em, params)
    if params.decode == "argmax":
        states = _argmax_states(em, params)
        post = np.exp(scores - _logsumexp(scores, axis=1)[:, None])
    else:
        decoding = _decoding_params(params) if em.learned_logp is not None else params
        trans = transition_matrix(S, decoding)
        start = start_scores(index, decoding)
        states = _viterbi(scores, trans, start)
        post = _posteriors(scores, trans, start)
    states, post, answered = _customer_replies(states, post, utterances, index)
    labels = tuple(
        _reply_label(t, answered[t], int(states[t]), utterances, em, post, index)
        if t in answered
        else _label(t, int(states[t]), utterances, em, post, index)
        for t in range(len(utterances))
    )
    # Where each step most probably happened, among the utterances of its own speaker (a customer's
    # answer inside a rep step is not the rep doing the step).
    own = np.where(_speaker_fits(utterances, index), post[:, :S], 0.0)
    best = np.argmax(own, axis=0)
    presence = {
        step_id: (round(float(own[best[s], s]), 4), int(utterances[int(best[s])].index))
        for s, step_id in enumerate(index.step_ids)
    }
    return MatchResult(
        index.sop.id, index.sop.version, labels, collapse_path(labels, utterances, index), params, presence
    )


def performs(role: Speaker | None, step_speaker: Speaker) -> bool:
    """Whether a speaker in this role can perform a step of this speaker (an unknown role can,
    anyone can do an `any` step): a customer's answer inside a rep step is not the rep doing it."""
    return role is None or step_speaker == Speaker.ANY or role == step_speaker


def _speaker_fits(utterances: Sequence[UtteranceLike], index: SopIndex) -> np.ndarray:
    """(T, S): performs() for every utterance and step (one row per distinct role, then looked up)."""
    roles = [normalise_role(u.role) for u in utterances]
    speakers = [step.speaker for _stage, step in index.sop.steps()]
    rows = {role: [performs(role, sp) for sp in speakers] for role in set(roles)}
    return np.array([rows[role] for role in roles], dtype=bool).reshape(len(roles), len(speakers))


def _customer_replies(
    states: np.ndarray, post: np.ndarray, utterances: Sequence[UtteranceLike], index: SopIndex
) -> tuple[np.ndarray, np.ndarray, dict[int, int]]:
    """Where the SOP gives a rep step a customer reply step (`reply_to`), the customer's turns in
    that exchange are the reply step: on customer utterances the rep step's label and posterior
    mass move to it. Decoding cannot learn this from the evidence alone — elsewhere a customer's
    answer carries the rep's step, and the reply's own words ("Thursday works") say little.
    Returns the new states and posteriors, and {t: rep state} for the utterances relabelled."""
    position = {step_id: s for s, step_id in enumerate(index.step_ids)}
    replies = {position[step.reply_to]: position[step.id] for _stage, step in index.sop.steps() if step.reply_to}
    if not replies:
        return states, post, {}
    states, post, answered = states.copy(), post.copy(), {}
    for t, utterance in enumerate(utterances):
        if normalise_role(utterance.role) != Speaker.CUSTOMER:
            continue
        for rep_state, reply_state in replies.items():
            post[t, reply_state] += post[t, rep_state]
            post[t, rep_state] = 0.0
            if states[t] == rep_state:
                states[t] = reply_state
                answered[t] = rep_state
    return states, post, answered


def _reply_label(
    t: int,
    rep_state: int,
    reply_state: int,
    utterances: Sequence[UtteranceLike],
    em: _Emissions,
    post: np.ndarray,
    index: SopIndex,
) -> UtteranceLabel:
    """A customer's answer relabelled to the reply step: the evidence is the rep step's, said so."""
    rep = _label(t, rep_state, utterances, em, post, index)
    note = f"reply: the customer's answer to '{index.step_ids[rep_state]}' (the SOP's reply_to)"
    return replace(
        rep, step_id=index.step_ids[reply_state], score=round(float(post[t, reply_state]), 4),
        evidence=(*rep.evidence, note),
    )


def _decoding_params(params: MatchParams) -> MatchParams:
    """The transition and start penalties used with learned emissions (see MatchParams)."""
    k = params.learned_transition_scale
    return replace(
        params,
        forward_penalty=params.forward_penalty * k,
        skip_penalty=params.skip_penalty * k,
        max_skip_penalty=params.max_skip_penalty * k,
        back_penalty=params.learned_back_penalty * k,
        off_enter_penalty=params.off_enter_penalty * k,
        start_penalty=params.start_penalty * k,
        max_start_penalty=params.max_start_penalty * k,
    )


def _resolve_index(
    sop: SopDefinition | SopIndex,
    example_vectors: dict[str, np.ndarray] | None,
    params: MatchParams,
) -> SopIndex:
    if isinstance(sop, SopIndex):
        return sop
    if example_vectors is None:
        raise MatchInputError("pass example_vectors or a SopIndex from build_sop_index()")
    return index_from_vectors(sop, example_vectors, params=params)


def _argmax_states(em: _Emissions, params: MatchParams) -> np.ndarray:
    """Each utterance alone: its best-scoring step if that beats off-SOP, else off-SOP."""
    S = em.logits.shape[1]
    scores = _state_scores(replace(em, filler=np.zeros_like(em.filler)), params)
    best = np.argmax(scores[:, :S], axis=1)
    return np.where(scores[np.arange(len(best)), best] > scores[:, S], best, S)


def _label(
    t: int,
    state: int,
    utterances: Sequence[UtteranceLike],
    em: _Emissions,
    post: np.ndarray,
    index: SopIndex,
) -> UtteranceLabel:
    S = len(index.step_ids)
    utt = utterances[t]
    if state < S:
        s, step_id, score = state, index.step_ids[state], float(post[t, state])
    else:
        s, step_id, score = int(np.argmax(em.sims[t])), None, float(post[t, S:].sum())
    evidence = _evidence(t, s, step_id, utt, em, index)
    return UtteranceLabel(
        int(utt.index), step_id, round(score, 4), round(float(em.sims[t, s]), 4), evidence
    )


def _evidence(
    t: int, s: int, step_id: str | None, utt: UtteranceLike, em: _Emissions, index: SopIndex
) -> tuple[str, ...]:
    out: list[str] = []
    if em.filler[t]:
        out.append("filler: label taken from the surrounding utterances")
    alone = em.learned_logp[:, : em.logits.shape[1]] if em.learned_logp is not None else em.logits
    best_step = int(np.argmax(alone[t]))
    if step_id is None:
        out.append(f"off-SOP: closest step '{index.step_ids[s]}' at similarity {em.sims[t, s]:.2f}")
        return tuple(out)
    cos = index.vectors[s] @ em.vectors[t]
    j = int(np.argmax(cos))
    out.append(f'example: "{index.texts[s][j]}" ({cos[j]:.2f})')
    if em.keyword_hits.get((t, s)):
        out.append("keywords: " + ", ".join(em.keyword_hits[(t, s)]))
    if best_step != s and not em.filler[t]:
        out.append(f"context: chosen over '{index.step_ids[best_step]}', which scored higher alone")
    return tuple(out)


def collapse_path(
    labels: Sequence[UtteranceLabel], utterances: Sequence[UtteranceLike], index: SopIndex
) -> tuple[PathSegment, ...]:
    """Consecutive labels of one step form a visit; off-SOP utterances inside a visit do not split it."""
    return collapse_labels(labels, utterances, dict(zip(index.step_ids, index.stage_ids)))


def collapse_labels(
    labels: Sequence[UtteranceLabel], utterances: Sequence[UtteranceLike], stage_of: dict[str, str]
) -> tuple[PathSegment, ...]:
    """collapse_path with the step -> stage map given (no index needed: reviewed labels)."""
    segs: list[tuple[str, list[int]]] = []
    for t, label in enumerate(labels):
        if label.step_id is None:
            continue
        if segs and segs[-1][0] == label.step_id:
            segs[-1][1].append(t)
        else:
            segs.append((label.step_id, [t]))
    return tuple(
        PathSegment(
            step_id=sid,
            stage_id=stage_of[sid],
            start=float(utterances[ts[0]].start),
            end=float(utterances[ts[-1]].end),
            utterance_indexes=tuple(int(utterances[t].index) for t in ts),
        )
        for sid, ts in segs
    )

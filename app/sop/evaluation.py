"""Evaluate the matcher on labelled calls: accuracy, macro-F1, step presence, bootstrap 95% CIs.

Evaluation protocol (bench/bench_match.py prints it with every run):

- TUNE set: the seeded generated corpus `demo_data/generated/` (`truth.jsonl` gives, per turn, the
  SOP step(s) behind it; `~…` = off-SOP). Every parameter, model choice and threshold is picked on
  it, never on the report set. A generated turn that spans several steps (two `say` lines of one
  speaker merged) counts a prediction of any of them as right (`EvalUtterance.accept`). The corpus
  is template-based, so its figures are in-sample and optimistic; they are printed labelled so.
- REPORT set: the hand-written calls of `tests/data/sop_eval/` (all of them, whatever their
  legacy `split` field says; format in that folder's README). Nothing is tuned on them from
  2026-11 on; figures carry 95% intervals from a bootstrap over calls (the unit that varies),
  per language, next to the baselines measured in the same run on the same vectors.
"""

from __future__ import annotations

import json
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from app.sop.matcher import MatchResult
    from app.sop.schema import SopDefinition

OFF_SOP = "off-sop"  # the label fixtures use for utterances outside every step
EVAL_SET_DIR = Path(__file__).resolve().parents[2] / "tests" / "data" / "sop_eval"


@dataclass(frozen=True)
class EvalUtterance:
    """One labelled utterance (the UtteranceLike fields plus the gold label)."""

    index: int
    speaker: str
    role: str
    start: float
    end: float
    text: str
    label: str | None  # None = off-SOP
    # Other labels also counted right: a generated turn that joins several steps' lines.
    accept: tuple[str | None, ...] = ()


@dataclass(frozen=True)
class LabelledDeviations:
    """The deviations an annotator derived from the utterance labels (step ids)."""

    missed: tuple[str, ...] = ()  # required steps in scope that no utterance was labelled with
    out_of_order: tuple[str, ...] = ()  # steps first reached after a later-prescribed step


@dataclass(frozen=True)
class EvalCall:
    """A labelled call from tests/data/sop_eval/."""

    id: str
    sop: str  # file name under sop_definitions/
    split: str  # "tune" (parameters chosen on it) or "test" (reported)
    language: str
    utterances: tuple[EvalUtterance, ...]
    # Process SOPs: the stages this call is meant to cover (the scope of `missed`); () = all / inferred.
    stages: tuple[str, ...] = ()
    deviations: LabelledDeviations | None = None  # None: not labelled (e.g. the generated corpus)

    @property
    def gold(self) -> list[str | None]:
        """Gold step id per utterance, None for off-SOP."""
        return [u.label for u in self.utterances]

    def gold_for(self, pred: Sequence[str | None]) -> list[str | None]:
        """Gold labels as scored against `pred`: an accepted alternative counts as the gold label."""
        return [
            p if (p != u.label and p in u.accept) else u.label
            for u, p in zip(self.utterances, pred)
        ]


def load_eval_call(path: Path) -> EvalCall:
    """Read one labelled call JSON file."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    utts = tuple(
        EvalUtterance(
            index=int(u["index"]),
            speaker=str(u["speaker"]),
            role=str(u["role"]),
            start=float(u["start"]),
            end=float(u["end"]),
            text=str(u["text"]),
            label=None if u["label"] == OFF_SOP else str(u["label"]),
        )
        for u in doc["utterances"]
    )
    dev = doc.get("deviations")
    deviations = (
        None
        if dev is None
        else LabelledDeviations(
            tuple(map(str, dev.get("missed", ()))), tuple(map(str, dev.get("out_of_order", ())))
        )
    )
    return EvalCall(
        doc["id"],
        doc["sop"],
        doc["split"],
        doc["language"],
        utts,
        stages=tuple(map(str, doc.get("stages", ()))),
        deviations=deviations,
    )


def load_eval_set(folder: Path = EVAL_SET_DIR) -> list[EvalCall]:
    """All labelled calls in a folder (default: the hand-written set), sorted by id."""
    return sorted((load_eval_call(p) for p in folder.glob("*.json")), key=lambda c: c.id)


def _step_label(step: str) -> str | None:
    return None if step.startswith("~") else step


def load_generated_corpus(folder: Path, sop_files: dict[str, str]) -> list[EvalCall]:
    """The generated corpus as labelled calls (tuning set); `sop_files` maps sop_id → file name.

    One parsed utterance per truth turn (checked); calls without an SOP are left out. Audio calls
    use the script the audio speaks (kept in truth.jsonl), so ASR errors play no part here.
    """
    from app.transcripts.formats import parse_transcript

    calls = []
    for line in (folder / "truth.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if not row.get("sop_id") or row["sop_id"] not in sop_files:
            continue
        turns = row["turns"]
        if all("text" in t for t in turns):
            texts, at = [], 0.0
            for t in turns:  # the script has no times: ~2.5 words/s, 4 characters/s
                dur = max(1.0, len(t["text"]) / (4.0 if row["language"] == "zh" else 15.0))
                texts.append((t["role"], t["text"], at, at + dur))
                at += dur + 0.5
        else:
            parsed = parse_transcript((folder / row["file"]).read_bytes(), filename=row["file"])
            texts = [(str(u.role), u.text, u.start, u.end) for u in parsed.utterances]
        if [x[0] for x in texts] != [t["role"] for t in turns]:
            raise ValueError(f"{row['file']}: parsed utterances do not line up with truth turns")
        utts = []
        for i, ((role, text, start, end), turn) in enumerate(zip(texts, turns)):
            labels = [_step_label(s) for s in turn["steps"]]
            primary = next((lab for lab in labels if lab is not None), None)
            accept = tuple(dict.fromkeys(labels))
            utts.append(EvalUtterance(i, role, role, start, end, text, primary, accept))
        calls.append(
            EvalCall(
                Path(row["file"]).stem,
                sop_files[row["sop_id"]],
                "generated",
                row["language"],
                tuple(utts),
            )
        )
    return sorted(calls, key=lambda c: c.id)


@dataclass(frozen=True)
class Metric:
    """A point estimate with a bootstrap 95% interval (resampling whole calls)."""

    value: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}]"


@dataclass(frozen=True)
class EvalReport:
    """Figures over a set of calls; intervals come from resampling calls, not utterances."""

    n_calls: int
    n_utterances: int
    accuracy: Metric
    macro_f1: Metric
    presence_precision: Metric
    presence_recall: Metric
    n_boot: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


Labels = Sequence[str | None]


def _counts(pairs: Sequence[tuple[Labels, Labels]]) -> dict[str, Any]:
    """Sufficient statistics of all metrics, summed over calls (so a bootstrap just re-sums)."""
    correct = total = 0
    tp: dict[str, int] = {}
    fp: dict[str, int] = {}
    fn: dict[str, int] = {}
    p_tp = p_fp = p_fn = 0
    for gold, pred in pairs:
        if len(gold) != len(pred):
            raise ValueError(f"gold has {len(gold)} labels but prediction has {len(pred)}")
        for g, p in zip(gold, pred):
            total += 1
            correct += g == p
            if g == p and g is not None:
                tp[g] = tp.get(g, 0) + 1
            else:
                if p is not None:
                    fp[p] = fp.get(p, 0) + 1
                if g is not None:
                    fn[g] = fn.get(g, 0) + 1
        gs, ps = {g for g in gold if g}, {p for p in pred if p}
        p_tp, p_fp, p_fn = p_tp + len(gs & ps), p_fp + len(ps - gs), p_fn + len(gs - ps)
    return {
        "correct": correct,
        "total": total,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "p": (p_tp, p_fp, p_fn),
    }


def _metrics(c: dict[str, Any]) -> tuple[float, float, float, float]:
    acc = c["correct"] / c["total"] if c["total"] else 0.0
    classes = set(c["tp"]) | set(c["fp"]) | set(c["fn"])
    f1s = []
    for k in classes:
        tp, fp, fn = c["tp"].get(k, 0), c["fp"].get(k, 0), c["fn"].get(k, 0)
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    macro = float(np.mean(f1s)) if f1s else 0.0
    ptp, pfp, pfn = c["p"]
    prec = ptp / (ptp + pfp) if ptp + pfp else 0.0
    rec = ptp / (ptp + pfn) if ptp + pfn else 0.0
    return acc, macro, prec, rec


def evaluate(
    pairs: Sequence[tuple[Labels, Labels]], *, n_boot: int = 2000, seed: int = 0
) -> EvalReport:
    """Per-utterance accuracy, macro-F1 over steps, step-presence P/R per call; 95% CIs by call bootstrap.

    Each pair is (gold, predicted) labels of one call, None meaning off-SOP. Macro-F1 averages F1
    over every step that occurs in the gold or predicted labels (off-SOP is not a class there but
    counts in accuracy). Step presence compares, per call, the set of steps labelled at least once.
    """
    point = _metrics(_counts(pairs))
    rng = np.random.default_rng(seed)
    samples = np.array(
        [
            _metrics(_counts([pairs[i] for i in rng.integers(0, len(pairs), len(pairs))]))
            for _ in range(n_boot)
        ]
    )
    lo, hi = np.percentile(samples, [2.5, 97.5], axis=0) if n_boot else (point, point)
    metrics = [
        Metric(round(point[i], 4), round(float(lo[i]), 4), round(float(hi[i]), 4)) for i in range(4)
    ]
    return EvalReport(len(pairs), sum(len(g) for g, _p in pairs), *metrics, n_boot=n_boot)


# ---------------------------------------------------------------------------------------------
# Deviations: what compare_path finds on a call's labels, as step-id sets


def gold_match(call: EvalCall, sop: SopDefinition) -> MatchResult:
    """The match a perfect matcher would return for `call`: its gold labels, each with certainty 1."""
    from app.sop.matcher import MatchResult, PathSegment, UtteranceLabel

    stage_of = {step.id: stage.id for stage, step in sop.steps()}
    labels = tuple(UtteranceLabel(u.index, u.label, 1.0, 1.0) for u in call.utterances)
    runs: list[tuple[str, list[EvalUtterance]]] = []
    for u in call.utterances:  # consecutive labels of one step form a visit (as collapse_path)
        if u.label is None:
            continue
        if runs and runs[-1][0] == u.label:
            runs[-1][1].append(u)
        else:
            runs.append((u.label, [u]))
    path = tuple(
        PathSegment(sid, stage_of[sid], us[0].start, us[-1].end, tuple(u.index for u in us))
        for sid, us in runs
    )
    return MatchResult(sop.id, sop.version, labels, path)


def found_deviations(
    result: MatchResult, sop: SopDefinition, call: EvalCall, *, labelled_scope: bool
) -> LabelledDeviations:
    """Missed and out-of-order step ids that compare_path reports for `result` on `call`.

    `labelled_scope`: pass the call's labelled stages as the scope (as an upload naming the stages
    would); otherwise compare_path infers it, as the pipeline does for a call without stages.
    """
    from app.sop.compare import compare_path

    stages = call.stages if (labelled_scope and call.stages) else None
    cmp = compare_path(result, sop, call.utterances, stage_ids=stages)
    return LabelledDeviations(
        tuple(m.step_id for m in cmp.missed), tuple(o.step_id for o in cmp.out_of_order)
    )


# ---------------------------------------------------------------------------------------------
# Full-call evaluation (`talktrack eval sop`): per-step P/R/F1, off-SOP, deviations, bootstrap CIs


@dataclass(frozen=True)
class CallOutcome:
    """Gold and predicted labels (step ids, None = off-SOP) and deviations of one call."""

    call_id: str
    sop_id: str
    gold: tuple[str | None, ...]
    pred: tuple[str | None, ...]
    gold_deviations: LabelledDeviations
    found_deviations: LabelledDeviations


@dataclass(frozen=True)
class Estimate:
    """A point value with a 95% bootstrap interval over calls; None where undefined (0/0)."""

    value: float | None
    low: float | None
    high: float | None

    def __str__(self) -> str:
        if self.value is None:
            return "n/a"
        return f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}]"


@dataclass(frozen=True)
class StepScore:
    """Precision/recall/F1 of one step's utterance labels; support = gold utterances."""

    step_id: str
    support: int
    predicted: int
    precision: Estimate
    recall: Estimate
    f1: Estimate


@dataclass(frozen=True)
class DetectionScore:
    """Precision/recall of one kind of deviation (step ids per call), with summed counts."""

    precision: Estimate
    recall: Estimate
    true_positives: int
    false_positives: int
    false_negatives: int


@dataclass(frozen=True)
class SopEvalReport:
    """Everything `talktrack eval sop` reports for a set of calls."""

    sop_ids: tuple[str, ...]
    n_calls: int
    n_utterances: int
    n_boot: int
    accuracy: Estimate
    macro_f1: Estimate
    off_sop_precision: Estimate
    off_sop_recall: Estimate
    steps: tuple[StepScore, ...]
    missed: DetectionScore
    out_of_order: DetectionScore
    calls: tuple[CallOutcome, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def match_outcomes(
    calls: Sequence[EvalCall],
    sop: SopDefinition,
    embedder: Any,
    *,
    labelled_scope: bool = False,
    pipeline_sentence_s: float | None = None,
) -> list[CallOutcome]:
    """Match every call against `sop` with `embedder` and pair the result with the labels.

    `pipeline_sentence_s`: match the call as the pipeline would segment it (`as_pipeline`), each
    labelled utterance taking the label of the utterance that holds most of its words.
    """
    from app.sop.matcher import build_sop_index, match_call

    index = build_sop_index(sop, embedder)
    out = []
    for call in calls:
        if call.deviations is None:
            raise ValueError(f"{call.id}: no labelled deviations; add a `deviations` field")
        matched, owner = call, list(range(len(call.utterances)))
        if pipeline_sentence_s is not None:
            matched, owner = as_pipeline(call, pipeline_sentence_s)
        vectors = embedder.embed([u.text for u in matched.utterances], kind="query")
        result = match_call(matched.utterances, index, utterance_vectors=vectors)
        labels = [lab.step_id for lab in result.labels]
        out.append(
            CallOutcome(
                call.id,
                sop.id,
                tuple(call.gold),
                tuple(labels[o] for o in owner),
                call.deviations,
                found_deviations(result, sop, matched, labelled_scope=labelled_scope),
            )
        )
    return out


def as_pipeline(call: EvalCall, sentence_s: float) -> tuple[EvalCall, list[int]]:
    """The call with its utterances rebuilt as the pipeline builds them from ASR words.

    Hand-labelled calls split a speaker's words wherever the step changes; ASR gives words, and
    app.transcripts.turns.build_utterances joins a speaker's words until a long pause, or a sentence
    end once the turn is `sentence_s` long. Each utterance becomes words spread evenly over its
    time (a Chinese character each, punctuation attached as Whisper attaches it); the rebuilt
    utterances carry the label most of their words had. Returns the rebuilt call and, for each
    labelled utterance, the rebuilt one that holds most of its words.
    """
    from app.transcripts.formats import Word
    from app.transcripts.turns import TOKEN, build_utterances

    words: list[tuple[Word, str, int]] = []
    for t, u in enumerate(call.utterances):
        tokens = TOKEN.findall(u.text)
        step = (u.end - u.start) / max(len(tokens), 1)
        for k, tok in enumerate(tokens):
            words.append((Word(u.start + k * step, u.start + (k + 1) * step, tok, 1.0), u.speaker, t))
    roles = {u.speaker: u.role for u in call.utterances}
    turns = build_utterances([(w, sp) for w, sp, _t in words], roles=roles, sentence_s=sentence_s)
    labelled_of = {id(w): t for w, _sp, t in words}  # build_utterances keeps the Word objects
    by_labelled: list[Counter[int]] = [Counter() for _ in call.utterances]
    by_rebuilt: list[Counter[str | None]] = [Counter() for _ in turns]
    for i, turn in enumerate(turns):
        for w in turn.words:
            t = labelled_of[id(w)]
            by_labelled[t][i] += 1
            by_rebuilt[i][call.utterances[t].label] += 1
    rebuilt = tuple(
        EvalUtterance(i, u.speaker, u.role, u.start, u.end, u.text, by_rebuilt[i].most_common(1)[0][0])
        for i, u in enumerate(turns)
    )
    owner, last = [], 0
    for c in by_labelled:  # an utterance without words goes with the one before it
        last = c.most_common(1)[0][0] if c else last
        owner.append(last)
    return replace(call, utterances=rebuilt), owner


def _call_counts(o: CallOutcome, classes: dict[str, int], prefix: str) -> np.ndarray:
    """One row of sufficient statistics: per class (tp, fp, fn), then correct, total, deviations."""
    k = len(classes)
    row = np.zeros(3 * k + 8)
    key = lambda s: OFF_SOP if s is None else prefix + s
    for g, p in zip(o.gold, o.pred, strict=True):
        if g == p:
            row[3 * classes[key(g)]] += 1
            row[3 * k] += 1
        else:
            row[3 * classes[key(p)] + 1] += 1
            row[3 * classes[key(g)] + 2] += 1
    row[3 * k + 1] = len(o.gold)
    for j, name in enumerate(("missed", "out_of_order")):
        gold, found = set(getattr(o.gold_deviations, name)), set(getattr(o.found_deviations, name))
        row[3 * k + 2 + 3 * j : 3 * k + 5 + 3 * j] = (
            len(gold & found),
            len(found - gold),
            len(gold - found),
        )
    return row


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def _stats(s: np.ndarray, k: int, step_cols: np.ndarray) -> dict[str, np.ndarray]:
    """All metrics from summed counts `s` (shape (..., 3k+8)); NaN where undefined."""
    tp, fp, fn = s[..., 0 : 3 * k : 3], s[..., 1 : 3 * k : 3], s[..., 2 : 3 * k : 3]
    prec, rec = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = _ratio(2 * tp, 2 * tp + fp + fn)
    steps_f1 = f1[..., step_cols]
    with warnings.catch_warnings():  # a bootstrap sample may hold no step at all: NaN, not a warning
        warnings.simplefilter("ignore", RuntimeWarning)
        macro = np.nanmean(steps_f1, axis=-1)  # steps seen in gold or prediction (as evaluate())
    d = s[..., 3 * k + 2 :]
    return {
        "precision": prec,
        "recall": rec,
        "f1": f1,
        "accuracy": _ratio(s[..., 3 * k], s[..., 3 * k + 1]),
        "macro_f1": macro,
        "missed_precision": _ratio(d[..., 0], d[..., 0] + d[..., 1]),
        "missed_recall": _ratio(d[..., 0], d[..., 0] + d[..., 2]),
        "ooo_precision": _ratio(d[..., 3], d[..., 3] + d[..., 4]),
        "ooo_recall": _ratio(d[..., 3], d[..., 3] + d[..., 5]),
    }


def _estimate(point: float, samples: np.ndarray) -> Estimate:
    if np.isnan(point):
        return Estimate(None, None, None)
    ok = samples[~np.isnan(samples)]
    lo, hi = np.percentile(ok, [2.5, 97.5]) if ok.size else (point, point)
    return Estimate(round(float(point), 4), round(float(lo), 4), round(float(hi), 4))


def sop_eval_report(
    outcomes: Sequence[CallOutcome],
    step_ids: Sequence[str],
    *,
    n_boot: int = 2000,
    seed: int = 0,
) -> SopEvalReport:
    """Per-step P/R/F1, macro-F1, accuracy, off-SOP P/R and deviation detection P/R, with CIs.

    `step_ids`: the SOP's steps in order (`sop-id/step` when several SOPs are pooled). Metrics are
    computed from counts summed over calls; the 95% interval resamples whole calls `n_boot`
    times. Macro-F1 averages F1 over the steps that occur in the gold or predicted labels (the
    definition of `evaluate`); off-SOP is scored on its own. Deviations compare, per call, the
    sets of step ids reported missed / out of order with the labelled ones.
    """
    if not outcomes:
        raise ValueError("no calls to evaluate")
    pooled = len({o.sop_id for o in outcomes}) > 1
    classes = {s: i for i, s in enumerate([*step_ids, OFF_SOP])}
    k = len(classes)
    rows = np.stack(
        [_call_counts(o, classes, f"{o.sop_id}/" if pooled else "") for o in outcomes]
    )
    total = rows.sum(axis=0)
    step_cols = np.arange(k - 1)
    point = _stats(total, k, step_cols)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(outcomes), size=(n_boot, len(outcomes)))
    weights = np.stack(
        [np.bincount(p, minlength=len(outcomes)) for p in picks] or [np.zeros(len(outcomes))]
    )[:n_boot]  # n_boot=0: no resamples, intervals collapse to the point
    boot = _stats(weights @ rows, k, step_cols)

    def est(name: str, col: int | None = None) -> Estimate:
        if col is None:
            return _estimate(float(point[name]), boot[name])
        return _estimate(float(point[name][col]), boot[name][:, col])

    steps = tuple(
        StepScore(
            sid,
            int(total[3 * i] + total[3 * i + 2]),
            int(total[3 * i] + total[3 * i + 1]),
            est("precision", i),
            est("recall", i),
            est("f1", i),
        )
        for sid, i in list(classes.items())[:-1]
    )
    off = k - 1
    d = total[3 * k + 2 :].astype(int)
    return SopEvalReport(
        sop_ids=tuple(dict.fromkeys(o.sop_id for o in outcomes)),
        n_calls=len(outcomes),
        n_utterances=int(total[3 * k + 1]),
        n_boot=n_boot,
        accuracy=est("accuracy"),
        macro_f1=est("macro_f1"),
        off_sop_precision=est("precision", off),
        off_sop_recall=est("recall", off),
        steps=steps,
        missed=DetectionScore(est("missed_precision"), est("missed_recall"), *map(int, d[0:3])),
        out_of_order=DetectionScore(est("ooo_precision"), est("ooo_recall"), *map(int, d[3:6])),
        calls=tuple(outcomes),
    )

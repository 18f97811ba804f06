"""Regression guard: the matcher's figures on a fixed half of the hand-labelled set must not fall.

Each language with its shipped matching embedder (models.embedder.match_embedder_name): English
e5 + all-mpnet-base-v2, Chinese e5; named here, so settings of other tests cannot leak in.

Half, not all: embedding the whole set and the four SOPs without a cache took ~2 minutes on the
shared 2-core machine; every second call per SOP (sorted by id: 16 calls, 4 per SOP) keeps the
test near half that on a quiet machine. Floors are the figures this subset gave on 2026-11-26
with those embedders and the shipped matcher (per language, missed-step scope inferred as
the pipeline does) minus 0.05. The shipped emission weights (app/sop/emission.py) were fitted on
these calls among others, so these figures are in-sample: the honest estimate for other SOPs is
the leave-one-SOP-out figure of scripts/train_sop_emission.py, stored in the model file
(macro-F1 en 0.83, zh 0.79). Both are below the issue's targets (macro-F1 0.85 en / 0.80 zh,
missed-step P/R 0.9), which are therefore not asserted.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app import ml
from app.sop.evaluation import EVAL_SET_DIR, load_eval_set, match_outcomes, sop_eval_report
from app.sop.loader import load_sop_file
from app.transcripts.turns import SENTENCE_S

MARGIN = 0.05
SHIPPED = EVAL_SET_DIR.parents[2] / "sop_definitions"
HOLDOUT_DIR = EVAL_SET_DIR.parent / "sop_holdout"
# Seven SOPs and 36 calls the shipped model never saw (tests/data/sop_holdout), all of them,
# measured 2026-11-26 with the shipped model: out-of-sample, unlike MEASURED. (Chinese: the
# process SOP building-materials-distribution joined in stop 16; the 15 calls before it gave
# macro-F1 0.818, the 21 now 0.800 with the e5 model refitted on two more process SOPs.)
HOLDOUT_MEASURED = {
    "en": {"macro_f1": 0.799, "accuracy": 0.82, "missed_precision": 0.667, "missed_recall": 0.857},
    # Missed-step precision was 0.8 before a rep step carried only by the customer's words stopped
    # counting as done (stop 15): one call's mislabelled rep line makes one more false report here,
    # while the eval set gained two true ones (app/sop/compare.py, _missed).
    "zh": {"macro_f1": 0.800, "accuracy": 0.822, "missed_precision": 0.75, "missed_recall": 0.75},
}
# The same calls with their utterances rebuilt from words as the pipeline builds them (sentence
# ends cut a turn once 4 s long; `talktrack eval sop --as-pipeline`), measured 2026-11-27: what
# a recorded call gets, since ASR joins a speaker's sentences where the labels split them.
HOLDOUT_PIPELINE_MEASURED = {
    "en": {"macro_f1": 0.757, "accuracy": 0.787, "missed_precision": 0.857, "missed_recall": 0.857},
    "zh": {"macro_f1": 0.773, "accuracy": 0.795, "missed_precision": 0.667, "missed_recall": 0.75},
}
EMBEDDERS = {"en": "e5+mpnet", "zh": "e5"}
MEASURED = {
    "en": {"macro_f1": 0.814, "accuracy": 0.788, "missed_precision": 0.917, "missed_recall": 0.786},
    "zh": {"macro_f1": 0.719, "accuracy": 0.713, "missed_precision": 1.0, "missed_recall": 0.455},
}


def subset(language: str) -> list:
    """Every second call per SOP, by id (the fixed half this guard runs on)."""
    calls = [c for c in load_eval_set() if c.language == language]
    return [
        c for f in sorted({c.sop for c in calls}) for c in [c for c in calls if c.sop == f][::2]
    ]


def figures(
    language: str,
    embedder,
    calls: list | None = None,
    sop_dir: Path = SHIPPED,
    *,
    labelled_scope: bool = False,
    pipeline_sentence_s: float | None = None,
) -> dict[str, float]:
    """Pooled figures over the calls (default: the language's subset), every SOP they use (step
    ids prefixed with the SOP id); `labelled_scope`: the calls' stages given, as a deal gives them;
    `pipeline_sentence_s`: utterances rebuilt as the pipeline builds them (evaluation.as_pipeline)."""
    calls = subset(language) if calls is None else calls
    outcomes, step_ids = [], []
    for sop_file in sorted({c.sop for c in calls}):
        sop = load_sop_file(str(sop_dir / sop_file))
        outcomes += match_outcomes([c for c in calls if c.sop == sop_file], sop, embedder,
                                   labelled_scope=labelled_scope, pipeline_sentence_s=pipeline_sentence_s)
        step_ids += [f"{sop.id}/{s.id}" for _st, s in sop.steps()]
    r = sop_eval_report(outcomes, step_ids, n_boot=0)
    return {
        "macro_f1": r.macro_f1.value,
        "accuracy": r.accuracy.value,
        "missed_precision": r.missed.precision.value,
        "missed_recall": r.missed.recall.value,
    }


@pytest.mark.ml
def test_matching_figures_on_the_labelled_set_stay_above_the_measured_floor():
    for language, measured in MEASURED.items():
        got = figures(language, ml.get_embedder(EMBEDDERS[language]))
        low = {k: v for k, v in got.items() if v is None or v < measured[k] - MARGIN}
        assert not low, f"{language}: fell below measured − {MARGIN}: {low} (measured {measured})"


@pytest.mark.ml
def test_matching_figures_on_sops_the_model_never_saw_stay_above_the_measured_floor():
    held_out = load_eval_set(HOLDOUT_DIR / "calls")
    for language, measured in HOLDOUT_MEASURED.items():
        got = figures(language, ml.get_embedder(EMBEDDERS[language]), [c for c in held_out if c.language == language], HOLDOUT_DIR / "sops")
        low = {k: got[k] for k in measured if got[k] is None or got[k] < measured[k] - MARGIN}
        assert not low, f"{language}: fell below measured − {MARGIN}: {low} (measured {measured})"


@pytest.mark.ml
def test_a_deals_known_stages_find_more_missed_steps_of_process_calls():
    """Given the stages each call worked on (as a linked deal gives them), a process call is held to
    those stages: on this subset missed-step recall 0.455 → 0.636 (2026-11-26), precision 1.0 both."""
    embedder = ml.get_embedder(EMBEDDERS["zh"])
    inferred, given = figures("zh", embedder), figures("zh", embedder, labelled_scope=True)
    assert given["macro_f1"] == inferred["macro_f1"]  # the labels do not change, only the scope
    assert given["missed_recall"] > inferred["missed_recall"]
    assert given["missed_precision"] >= 0.95 and given["missed_recall"] >= 0.636 - MARGIN


@pytest.mark.ml
def test_utterances_rebuilt_as_the_pipeline_builds_them_stay_above_the_measured_floor():
    """Recorded calls reach the matcher as build_utterances makes them from ASR words. Ending a turn
    at a sentence end once it is SENTENCE_S (4 s) long, rather than 30 s, keeps two steps said in
    one breath apart: on the held-out Chinese calls macro-F1 0.689 → 0.773 (2026-11-27)."""
    held_out = load_eval_set(HOLDOUT_DIR / "calls")
    for language, measured in HOLDOUT_PIPELINE_MEASURED.items():
        calls = [c for c in held_out if c.language == language]
        got = figures(language, ml.get_embedder(EMBEDDERS[language]), calls, HOLDOUT_DIR / "sops",
                      pipeline_sentence_s=SENTENCE_S)
        low = {k: got[k] for k in measured if got[k] is None or got[k] < measured[k] - MARGIN}
        assert not low, f"{language}: fell below measured − {MARGIN}: {low} (measured {measured})"
        if language == "zh":
            long_turns = figures(language, ml.get_embedder(EMBEDDERS[language]), calls, HOLDOUT_DIR / "sops",
                                 pipeline_sentence_s=30.0)
            assert got["macro_f1"] > long_turns["macro_f1"] + 0.03

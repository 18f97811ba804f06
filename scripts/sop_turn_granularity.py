"""How the pipeline's turn segmentation changes SOP matching (app/transcripts/turns.py: SENTENCE_S).

The labelled calls are segmented by hand: a speaker who moves from one step to the next in one
breath is written as two utterances. The pipeline builds utterances from ASR words instead
(build_utterances): consecutive words of a speaker join until a pause longer than 1.5 s, or until
the turn is `sentence_s` long and a sentence ends. This script replays that on the labelled calls:
each utterance becomes words (spread evenly over its time span, punctuation attached as Whisper
attaches it), the words go through build_utterances, the resulting utterances are matched (vectors
embedded for their text), and each labelled utterance takes the label of the utterance that holds
most of its words. Macro-F1 against the hand labels, paired with the calls as labelled, per
language, on both sets (eval set with leave-one-SOP-out weights, held-out SOPs with the shipped
weights; each language as shipped).

Run:  HF_HUB_OFFLINE=1 .venv/bin/python scripts/sop_turn_granularity.py [--sentence-s 30 8 4 2 0]
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_match import cached_embedder
from sop_review_learning import SHIPPED, Corpus, macro, paired

from app.sop.evaluation import EvalCall
from app.sop.matcher import MatchParams, match_call
from app.transcripts.formats import Word
from app.transcripts.turns import build_utterances

_ZH_TOKEN = re.compile(r"[\u4e00-\u9fff][^\u4e00-\u9fff\w\s]*|[^\u4e00-\u9fff\s]+")


def words_of(call: EvalCall) -> list[tuple[Word, str, int]]:
    """(word, speaker, labelled utterance) for every word, timed evenly within its utterance."""
    out = []
    for t, u in enumerate(call.utterances):
        tokens = _ZH_TOKEN.findall(u.text) if call.language == "zh" else u.text.split()
        step = (u.end - u.start) / max(len(tokens), 1)
        for k, tok in enumerate(tokens):
            text = tok if call.language == "zh" else f" {tok}"
            out.append((Word(u.start + k * step, u.start + (k + 1) * step, text, 0.9), u.role, t))
    return out


def resegment(call: EvalCall, sentence_s: float):
    """The call's utterances as the pipeline would build them, and which one holds each labelled one."""
    words = words_of(call)
    roles = {r: r for r in {u.role for u in call.utterances}}
    turns = build_utterances([(w, s) for w, s, _ in words], roles=roles, sentence_s=sentence_s)
    unit_of_word = [i for i, u in enumerate(turns) for _ in u.words]
    votes: list[Counter] = [Counter() for _ in call.utterances]
    for (_w, _s, t), i in zip(words, unit_of_word):
        votes[t][i] += 1
    return turns, [v.most_common(1)[0][0] if v else 0 for v in votes]


def predict(corpus: Corpus, calls: list[EvalCall], weights_for, sentence_s: float | None, embedders) -> dict:
    out = {}
    for c in calls:
        prep = corpus.prep(c)
        params = MatchParams(emission_weights=tuple(float(w) for w in weights_for(c)))
        index = prep.index_for(c.sop, MatchParams())
        if sentence_s is None:  # as labelled
            res = match_call(c.utterances, index, utterance_vectors=prep.vectors[c.id], params=params)
            out[c.id] = [lab.step_id for lab in res.labels]
            continue
        turns, owner = resegment(c, sentence_s)
        vectors = embedders[c.language].embed([u.text for u in turns], kind="query")
        labels = [lab.step_id for lab in match_call(turns, index, utterance_vectors=vectors, params=params).labels]
        out[c.id] = [labels[o] for o in owner]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentence-s", type=float, nargs="+", default=[30.0, 8.0, 4.0, 2.0, 0.0])
    parser.add_argument("--reference", type=float, default=30.0, help="the setting each is paired against too")
    args = parser.parse_args()
    corpus = Corpus.load()
    embedders = {lang: cached_embedder(spec) for lang, (spec, _) in SHIPPED.items()}
    loso_cache: dict[tuple, np.ndarray] = {}

    def loso(c: EvalCall) -> np.ndarray:
        key = (c.language, c.sop)
        if key not in loso_cache:
            loso_cache[key] = corpus.loso(c)
        return loso_cache[key]

    sets = (("eval set, leave-one-SOP-out", corpus.hand, loso), ("held-out SOPs, shipped", corpus.held, corpus.shipped))
    for title, calls, weights_for in sets:
        labelled = predict(corpus, calls, weights_for, None, embedders)
        reference = predict(corpus, calls, weights_for, args.reference, embedders)
        for s in args.sentence_s:
            pred = predict(corpus, calls, weights_for, s, embedders)
            n_units = sum(len(resegment(c, s)[0]) for c in calls)
            for lang in ("en", "zh"):
                cs = [c for c in calls if c.language == lang]
                d, lo, hi = paired(cs, labelled, pred, n=500)
                dr, lor, hir = paired(cs, reference, pred, n=500)
                print(f"{title}, sentence_s {s:>4}: {lang} macro-F1 {macro(cs, labelled):.3f} as labelled → "
                      f"{macro(cs, pred):.3f} re-segmented, {d:+.3f} [{lo:+.3f}, {hi:+.3f}]; "
                      f"against sentence_s {args.reference:g}: {dr:+.3f} [{lor:+.3f}, {hir:+.3f}]"
                      f"  ({n_units} utterances for {sum(len(c.utterances) for c in calls)} labelled)", flush=True)


if __name__ == "__main__":
    main()

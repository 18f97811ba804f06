"""How the pipeline's turn segmentation changes SOP matching (app/transcripts/turns.py: SENTENCE_S).

The labelled calls are segmented by hand: a speaker who moves from one step to the next in one
breath is written as two utterances. The pipeline builds utterances from ASR words instead
(build_utterances): consecutive words of a speaker join until a pause longer than 1.5 s, or until
the turn is `sentence_s` long and a sentence ends. This script replays that on the labelled calls:
each utterance becomes words (spread evenly over its time span, punctuation attached as Whisper
attaches it), the words go through build_utterances, the resulting utterances are matched (vectors
embedded for their text), and each labelled utterance takes the label of the utterance that holds
most of its words (app/sop/evaluation.py: as_pipeline; `talktrack eval sop --as-pipeline`). Macro-F1 against the hand labels, paired with the calls as labelled, per
language, on both sets (eval set with leave-one-SOP-out weights, held-out SOPs with the shipped
weights; each language as shipped).

With --imported, the transcripts of other tools instead (turns.normalise_turns): each call as a
tool that exports whole turns gives it (a speaker's consecutive lines joined), and as labelled; each
with its utterances of at least --min-s seconds cut at sentence ends (4 s pieces), paired with
the same source uncut; each labelled utterance scored by the utterance that overlaps it most.

With --cues, caption files (WebVTT, SRT): each call as captions cut every 8 words (16 Chinese
characters), mid-sentence, and with one cue per labelled line; each as imported (cues rejoined
across mid-sentence cuts, long turns cut), paired with the cues as they are.

Run:  HF_HUB_OFFLINE=1 .venv/bin/python scripts/sop_turn_granularity.py [--sentence-s 30 8 4 2 0]
      HF_HUB_OFFLINE=1 .venv/bin/python scripts/sop_turn_granularity.py --imported [--min-s 15 10 6 0]
      HF_HUB_OFFLINE=1 .venv/bin/python scripts/sop_turn_granularity.py --cues
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_match import cached_embedder
from sop_review_learning import SHIPPED, Corpus, macro, paired

from app.sop.evaluation import EvalCall, as_pipeline, evaluate
from app.sop.matcher import MatchParams, match_call
from app.transcripts.formats import ParsedTranscript, Utterance, join_text
from app.transcripts.turns import SPLIT_IMPORTED_S, TOKEN, normalise_turns


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
        rebuilt, owner = as_pipeline(c, sentence_s)
        turns = rebuilt.utterances
        vectors = embedders[c.language].embed([u.text for u in turns], kind="query")
        labels = [lab.step_id for lab in match_call(turns, index, utterance_vectors=vectors, params=params).labels]
        out[c.id] = [labels[o] for o in owner]
    return out


def exported(call: EvalCall, as_turns: bool) -> list[Utterance]:
    """The call as another tool would export it: as labelled, or each speaker's run of lines joined."""
    out: list[Utterance] = []
    for u in call.utterances:
        if as_turns and out and out[-1].speaker == u.speaker:
            p = out[-1]
            out[-1] = Utterance(p.index, p.speaker, p.role, p.start, u.end, join_text([p.text, u.text]))
        else:
            out.append(Utterance(len(out), u.speaker, u.role, u.start, u.end, u.text))
    return out


def captions(call: EvalCall, every: int | None) -> list[Utterance]:
    """The call as caption cues: each line cut every `every` words (twice that in Chinese characters),
    or (None) one cue per line."""
    out: list[Utterance] = []
    for u in call.utterances:
        tokens = TOKEN.findall(u.text)
        n = len(tokens) if every is None else every * (2 if call.language == "zh" else 1)
        chunks = [tokens[i : i + n] for i in range(0, len(tokens), max(n, 1))] or [[u.text]]
        step = (u.end - u.start) / len(chunks)
        for k, chunk in enumerate(chunks):
            out.append(Utterance(len(out), u.speaker, u.role, u.start + k * step, u.start + (k + 1) * step,
                                 join_text(chunk)))
    return out


def predict_imported(corpus: Corpus, calls: list[EvalCall], weights_for, as_turns: bool, min_s: float,
                     embedders, *, cues: int | None = None, normalise: bool = True) -> dict:
    """`cues`: the calls as caption cues (captions(call, cues)) instead of exported lines or turns; 0
    for one cue per line."""
    out = {}
    for c in calls:
        prep = corpus.prep(c)
        params = MatchParams(emission_weights=tuple(float(w) for w in weights_for(c)))
        source = exported(c, as_turns) if cues is None else captions(c, cues or None)
        parsed = ParsedTranscript(tuple(source), c.language, None, "webvtt")
        units = normalise_turns(parsed, min_s=min_s).utterances if normalise else parsed.utterances
        vectors = embedders[c.language].embed([u.text for u in units], kind="query")
        index = prep.index_for(c.sop, MatchParams())
        labels = [lab.step_id for lab in match_call(units, index, utterance_vectors=vectors, params=params).labels]

        def overlap(u, x) -> float:
            return max(0.0, min(u.end, x.end) - max(u.start, x.start)) + (1e-3 if x.role == u.role else 0.0)

        out[c.id] = [labels[max(range(len(units)), key=lambda i, u=u: overlap(u, units[i]))] for u in c.utterances]
    return out


def imported(corpus: Corpus, sets, thresholds: list[float], embedders) -> None:
    for title, calls, weights_for in sets:
        for as_turns in (True, False):
            uncut = predict_imported(corpus, calls, weights_for, as_turns, float("inf"), embedders)
            cut = {m: predict_imported(corpus, calls, weights_for, as_turns, m, embedders) for m in thresholds}
            for lang in ("en", "zh"):
                cs = [c for c in calls if c.language == lang]
                line = f"{title}, {lang}, exported {'as turns' if as_turns else 'as labelled'}: {macro(cs, uncut):.3f}"
                for m in thresholds:
                    d, lo, hi = paired(cs, uncut, cut[m], n=500)
                    line += f" | cut from {m:g} s {d:+.3f} [{lo:+.3f}, {hi:+.3f}]"
                print(line, flush=True)


def cue_files(corpus: Corpus, sets, embedders) -> None:
    for title, calls, weights_for in sets:
        for every, name in ((8, "cut every 8 words"), (0, "one cue per line")):
            args = (corpus, calls, weights_for, False, SPLIT_IMPORTED_S, embedders)
            raw = predict_imported(*args, cues=every, normalise=False)
            imported_ = predict_imported(*args, cues=every)
            for lang in ("en", "zh"):
                cs = [c for c in calls if c.language == lang]
                d, lo, hi = paired(cs, raw, imported_, n=500)
                print(f"{title}, {lang}, captions {name}: as cues {macro(cs, raw):.3f} → as imported "
                      f"{macro(cs, imported_):.3f}, {d:+.3f} [{lo:+.3f}, {hi:+.3f}]", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentence-s", type=float, nargs="+", default=[30.0, 8.0, 4.0, 2.0, 0.0])
    parser.add_argument("--reference", type=float, default=30.0, help="the setting each is paired against too")
    parser.add_argument("--imported", action="store_true", help="other tools' transcripts instead (above)")
    parser.add_argument("--min-s", type=float, nargs="+", default=[15.0, 10.0, 6.0, 0.0])
    parser.add_argument("--cues", action="store_true", help="caption files instead (above)")
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
    if args.imported:
        imported(corpus, sets, args.min_s, embedders)
        return
    if args.cues:
        cue_files(corpus, sets, embedders)
        return
    for title, calls, weights_for in sets:
        labelled = predict(corpus, calls, weights_for, None, embedders)
        reference = predict(corpus, calls, weights_for, args.reference, embedders)
        for s in args.sentence_s:
            pred = predict(corpus, calls, weights_for, s, embedders)
            n_units = sum(len(as_pipeline(c, s)[0].utterances) for c in calls)
            for lang in ("en", "zh"):
                cs = [c for c in calls if c.language == lang]
                d, lo, hi = paired(cs, labelled, pred, n=500)
                dr, lor, hir = paired(cs, reference, pred, n=500)
                level = evaluate([(c.gold_for(pred[c.id]), pred[c.id]) for c in cs], n_boot=2000, seed=7).macro_f1
                print(f"{title}, sentence_s {s:>4}: {lang} macro-F1 {macro(cs, labelled):.3f} as labelled → "
                      f"{level} re-segmented, {d:+.3f} [{lo:+.3f}, {hi:+.3f}]; "
                      f"against sentence_s {args.reference:g}: {dr:+.3f} [{lor:+.3f}, {hir:+.3f}]"
                      f"  ({n_units} utterances for {sum(len(c.utterances) for c in calls)} labelled)", flush=True)


if __name__ == "__main__":
    main()

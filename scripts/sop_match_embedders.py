"""English SOP matching with e5 alone against e5 + all-mpnet-base-v2, on SOPs neither model saw.

Both with their shipped emission models (app/sop/emission_model.json for e5,
emission_model.e5-mpnet.json for e5 + mpnet) on tests/data/sop_holdout (English SOPs and calls
no model was fitted on); paired difference of macro-F1 with a 95% bootstrap interval over calls.
The leave-one-SOP-out figures on the eval set are in each model file (scripts/train_sop_emission.py).

Run:  HF_HUB_OFFLINE=1 .venv/bin/python scripts/sop_match_embedders.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_match import Prepared, cached_embedder
from sop_review_learning import HOLDOUT, macro, paired

from app.sop.evaluation import load_eval_set
from app.sop.matcher import MatchParams, match_call


def main() -> None:
    calls = [c for c in load_eval_set(HOLDOUT / "calls") if c.language == "en"]
    preds = {}
    for spec in ("e5", "e5+mpnet"):
        prep = Prepared(calls, cached_embedder(spec), sop_dirs=(HOLDOUT / "sops",))
        preds[spec] = {
            c.id: [lab.step_id for lab in match_call(c.utterances, prep.index_for(c.sop, MatchParams()),
                                                     utterance_vectors=prep.vectors[c.id]).labels]
            for c in calls
        }
    d, lo, hi = paired(calls, preds["e5"], preds["e5+mpnet"])
    print(f"held-out English SOPs ({len(calls)} calls): macro-F1 e5 {macro(calls, preds['e5']):.3f} → "
          f"e5+mpnet {macro(calls, preds['e5+mpnet']):.3f}, paired difference {d:+.3f} [{lo:+.3f}, {hi:+.3f}]")


if __name__ == "__main__":
    main()

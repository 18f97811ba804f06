"""One report of a call matched against its SOP, shared by the API, the CLI and the web UI.

Shape: `sop` {id, version, name, language}; `utterances` [{index, role, speaker, start, end,
text, step, step_name, stage, score, similarity, evidence}]; `path` [{step, step_name, stage,
start, end, utterances}]; `prescribed` [{step, step_name, stage, required, speaker, status,
visits, first_start}]; `deviations` {missed, out_of_order, repeated, off_sop}; `adherence`
{score, formula, parts…}; `time_per_step`; `notes`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from app.sop.compare import Comparison
from app.sop.matcher import MatchResult
from app.sop.schema import SopDefinition


def build_report(
    *, sop: SopDefinition, version: int, utterances: Sequence[Any], match: MatchResult,
    comparison: Comparison, notes: Sequence[str] = (),
) -> dict[str, Any]:
    steps = {step.id: (stage, step) for stage, step in sop.steps()}
    labels = {label.index: label for label in match.labels}
    return {
        "sop": {"id": sop.id, "version": version, "name": sop.name, "language": str(sop.language)},
        "utterances": [_utterance(u, labels.get(int(u.index)), steps) for u in utterances],
        "path": [
            {"step": seg.step_id, "step_name": _name(steps, seg.step_id), "stage": seg.stage_id,
             "start": seg.start, "end": seg.end, "utterances": list(seg.utterance_indexes)}
            for seg in match.path
        ],
        "prescribed": _prescribed(sop, comparison, match),
        "deviations": {
            "missed": [asdict(m) for m in comparison.missed],
            "out_of_order": [asdict(o) for o in comparison.out_of_order],
            "repeated": [asdict(r) for r in comparison.repeated],
            "off_sop": [asdict(o) for o in comparison.off_sop_stretches],
        },
        "adherence": asdict(comparison.adherence),
        "time_per_step": [asdict(t) for t in comparison.time_per_step],
        "notes": list(comparison.notes) + list(notes),
    }


def match_notes(*, sop: SopDefinition, language: str | None, utterances: Sequence[Any]) -> list[str]:
    """What the reader of a match should know about its input: a call in another language than the
    SOP's examples, or no utterance attributed to the rep."""
    notes = []
    if language and language != sop.language:
        notes.append(
            f"The call is in {language} but the SOP's examples are in {sop.language}: "
            "cross-language similarity is weaker; a SOP written in the call's language matches better."
        )
    if utterances and not any(str(getattr(u.role, "value", u.role)) == "rep" for u in utterances):
        notes.append("No utterance is attributed to the rep: rep-side steps cannot be matched; check the "
                     "speaker attribution (stereo channel, voiceprint) and reprocess.")
    return notes


def _name(steps: dict[str, Any], step_id: str | None) -> str | None:
    return steps[step_id][1].name if step_id in steps else None


def _utterance(u: Any, label: Any, steps: dict[str, Any]) -> dict[str, Any]:
    step_id = label.step_id if label else None
    return {
        "index": int(u.index), "role": str(u.role), "speaker": getattr(u, "speaker", ""),
        "start": float(u.start), "end": float(u.end), "text": u.text,
        "step": step_id, "step_name": _name(steps, step_id),
        "stage": steps[step_id][0].id if step_id in steps else None,
        "score": round(float(label.score), 4) if label else None,
        "similarity": round(float(label.similarity), 4) if label else None,
        "evidence": list(label.evidence) if label else [],
    }


def _prescribed(sop: SopDefinition, comparison: Comparison, match: MatchResult) -> list[dict[str, Any]]:
    """Every prescribed step in order with what happened to it: done, missed, not reached, optional."""
    missed = {m.step_id for m in comparison.missed}
    out_of_order = {o.step_id for o in comparison.out_of_order}
    repeated = {r.step_id: r.visits for r in comparison.repeated}
    in_scope = set(comparison.scope_stage_ids)
    first: dict[str, float] = {}
    for seg in match.path:
        first.setdefault(seg.step_id, seg.start)
    rows = []
    for stage, step in sop.steps():
        if step.id in first:
            status = "out_of_order" if step.id in out_of_order else ("repeated" if step.id in repeated else "done")
        elif step.id in missed:
            status = "missed"
        elif in_scope and stage.id not in in_scope:
            status = "not_in_scope"
        else:
            status = "skipped_optional"
        rows.append({
            "step": step.id, "step_name": step.name, "stage": stage.id, "required": step.required,
            "speaker": str(step.speaker), "status": status, "visits": repeated.get(step.id, 1 if step.id in first else 0),
            "first_start": first.get(step.id),
        })
    return rows

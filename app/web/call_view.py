"""What the call page shows: transcript, SOP result, metrics, laid out for the templates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.calls.models import Call, SourceKind
from app.errors import NotFound
from app.sop import service as sop_service
from app.sop.schema import SopDefinition
from app.transcripts import service as transcripts_service
from app.transcripts.formats import Utterance
from app.transcripts.metrics import Metric, compute_metrics
from app.web import charts


@dataclass(frozen=True)
class StepView:
    """One prescribed step with what happened to it in this call."""

    step_id: str
    name: str
    stage: str
    required: bool
    colour: str
    marks: tuple[str, ...]  # ✓ ✗ ↺ ⇄ (or – for an optional step not taken)
    note: str
    in_scope: bool


@dataclass(frozen=True)
class Row:
    """One transcript line with its SOP label."""

    utterance: Utterance
    step_name: str | None
    colour: str | None
    score: float | None
    evidence: tuple[str, ...]
    labelled: bool
    step_id: str | None = None
    matcher_step: str | None = None  # the matcher's own label (differs where a person corrected it)
    corrected: bool = False


def build(*, session: Session, call: Call) -> dict[str, Any]:
    """Everything the call page renders, from the same services the API uses."""
    utterances = transcripts_service.utterances(session=session, call_id=call.id)
    stored = sop_service.get_result(session=session, call_id=call.id)
    result = stored.result if stored is not None else None
    definition = _definition(session, stored) if stored is not None else None
    order = [s.id for st in definition.stages for s in st.steps] if definition else _path_order(result)
    names = {s.id: s.name for st in definition.stages for s in st.steps} if definition else {}
    colours = charts.step_colours(order)
    labels = {lab["index"]: lab for lab in result["match"]["labels"]} if result else {}
    matcher = {lab["index"]: lab["step_id"] for lab in (result.get("matcher") or result["match"])["labels"]} \
        if result else {}
    corrected = set((result.get("review") or {}).get("corrected", [])) if result else set()
    return {
        "call": call,
        "has_audio": call.source_kind == SourceKind.audio,
        "sop": stored,
        "sop_name": definition.name if definition else (result or {}).get("sop", {}).get("name"),
        "timeline": charts.timeline(utterances=utterances, duration=call.duration_s, labels=labels, names=names,
                                    colours=colours, result=result) if utterances else None,
        "steps": _steps(definition, result, colours) if definition and result else [],
        "missed": [names.get(m["step_id"], m["step_id"]) for m in result["comparison"]["missed"]] if result else [],
        "comparison": result["comparison"] if result else None,
        "match_notes": (result or {}).get("notes", []),
        "rows": [_row(u, labels.get(u.index), names, colours, matcher.get(u.index), u.index in corrected)
                 for u in utterances],
        "review": (result or {}).get("review"),
        "step_options": [(s.id, f"{st.name} · {s.name}") for st in definition.stages for s in st.steps]
        if definition else [],
        "metrics": _metrics(call, utterances),
        "names": names,
    }


def _definition(session: Session, stored: Any) -> SopDefinition | None:
    try:
        row = sop_service.get_version(session=session, sop_id=stored.sop_id, version=stored.sop_version)
    except NotFound:
        return None  # the SOP was removed since: show step ids instead of names
    return sop_service.definition_of(row)


def _path_order(result: dict[str, Any] | None) -> list[str]:
    seen: list[str] = []
    for seg in (result or {}).get("match", {}).get("path", []):
        if seg["step_id"] not in seen:
            seen.append(seg["step_id"])
    return seen


def _steps(definition: SopDefinition, result: dict[str, Any], colours: dict[str, str]) -> list[StepView]:
    comparison = result["comparison"]
    taken = set(comparison.get("actual_path", []))
    missed = {m["step_id"] for m in comparison.get("missed", [])}
    repeated = {r["step_id"]: r["visits"] for r in comparison.get("repeated", [])}
    ooo = {o["step_id"]: o["after_step"] for o in comparison.get("out_of_order", [])}
    scope = set(comparison.get("scope_stage_ids") or [st.id for st in definition.stages])
    names = {s.id: s.name for st in definition.stages for s in st.steps}
    out = []
    for stage in definition.stages:
        for step in stage.steps:
            marks, notes = _marks(step.id, step.required, taken, missed, repeated, ooo, names)
            out.append(StepView(step.id, step.name, stage.name, step.required, colours.get(step.id, "#999"),
                                marks, "; ".join(notes), stage.id in scope))
    return out


def _marks(step_id: str, required: bool, taken: set[str], missed: set[str], repeated: dict[str, int],
           ooo: dict[str, str], names: dict[str, str]) -> tuple[tuple[str, ...], list[str]]:
    marks, notes = [], []
    if step_id in missed:
        marks.append("✗")
        notes.append("missed (required)")
    elif step_id in taken:
        marks.append("✓")
    else:
        marks.append("–")
        notes.append("not taken" + ("" if required else " (optional)"))
    if step_id in repeated:
        marks.append("↺")
        notes.append(f"repeated: {repeated[step_id]} visits")
    if step_id in ooo:
        marks.append("⇄")
        notes.append(f"out of order: came after {names.get(ooo[step_id], ooo[step_id])}")
    return tuple(marks), notes


def _row(u: Utterance, label: dict[str, Any] | None, names: dict[str, str], colours: dict[str, str],
         matcher_step: str | None = None, corrected: bool = False) -> Row:
    step = label.get("step_id") if label else None
    return Row(u, names.get(step, step) if step else None, colours.get(step) if step else None,
               label.get("score") if label else None, tuple(label.get("evidence") or ()) if label else (),
               label is not None, step, matcher_step, corrected)


def _metrics(call: Call, utterances: list[Utterance]) -> list[Metric]:
    if not utterances:
        return []
    estimated = call.source_kind == "transcript" and call.source_format == "text"  # as the metrics API does
    return compute_metrics(utterances, language=call.language, timing_estimated=estimated).as_list()

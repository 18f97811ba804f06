"""REST: a call's conversation metrics, each with its formula and evidence."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter
from pydantic import BaseModel

from app.calls import service as calls_service
from app.deps import CurrentUser, SessionDep
from app.errors import Conflict
from app.transcripts import service as transcripts_service
from app.transcripts.metrics import compute_metrics

router = APIRouter(prefix="/api/v1/calls", tags=["transcripts"])


class MetricOut(BaseModel):
    name: str
    value: float | None
    unit: str
    formula: str
    evidence: list[int]
    detail: str
    estimated: bool


class CallMetricsOut(BaseModel):
    call_id: int
    metrics: list[MetricOut]


@router.get("/{call_id}/metrics", response_model=CallMetricsOut)
def call_metrics(call_id: int, session: SessionDep, user: CurrentUser) -> CallMetricsOut:
    """Talk ratio, longest monologue, longest customer story, interactivity, patience,
    question rate, filler words and speaking pace — each with its published formula."""
    call = calls_service.get_call(session=session, call_id=call_id, user=user)
    utterances = transcripts_service.utterances(session=session, call_id=call.id)
    if not utterances:
        raise Conflict(f"Call {call.id} has no transcript yet (status: {call.status}).")
    estimated = call.source_kind == "transcript" and call.source_format == "text"
    metrics = compute_metrics(utterances, language=call.language, timing_estimated=estimated)
    return CallMetricsOut(
        call_id=call.id,
        metrics=[MetricOut(**{**asdict(m), "evidence": list(m.evidence)}) for m in metrics.as_list()],
    )

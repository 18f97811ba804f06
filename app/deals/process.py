"""The sales process a deal follows: a stored SOP of kind "process", looked up per (id, version)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session

from app.deals.exceptions import UnknownProcess, UnknownStage
from app.sop import service as sop_service
from app.sop.schema import SopDefinition, SopKind, Stage

WON = "won"


def get_process(*, session: Session, process_id: str, version: int | None = None) -> tuple[SopDefinition, int]:
    """A process definition and its stored version; 422 when it is unknown or not a process."""
    try:
        row = sop_service.get_version(session=session, sop_id=process_id, version=version)
    except sop_service.SopNotFound as exc:
        raise UnknownProcess(
            f"Unknown sales process {process_id!r}; GET /api/v1/sops lists those of kind 'process'."
        ) from exc
    if row.kind != SopKind.PROCESS:
        raise UnknownProcess(f"SOP {process_id!r} is a call SOP, not a sales process (kind: process).")
    cache = session.info.setdefault("deals.process_cache", {})
    key = (row.sop_id, row.version)
    if key not in cache:
        cache[key] = sop_service.definition_of(row)
    return cache[key], row.version


def stage_of(process: SopDefinition, stage_id: str) -> Stage:
    """The stage with this id, or 422 listing the process's stages."""
    for stage in process.stages:
        if stage.id == stage_id:
            return stage
    raise UnknownStage(
        f"Stage {stage_id!r} is not in process {process.id!r}; its stages are: "
        + ", ".join(s.id for s in process.stages)
    )


def stage_index(process: SopDefinition, stage_id: str) -> int:
    return [s.id for s in process.stages].index(stage_of(process, stage_id).id)


def next_stage(process: SopDefinition, stage_id: str) -> str:
    """The stage after this one, or "won" from the last stage."""
    index = stage_index(process, stage_id)
    return process.stages[index + 1].id if index + 1 < len(process.stages) else WON


def probability(stage: Stage) -> Decimal:
    """The configured win probability as an exact decimal (0 when the stage has none)."""
    return Decimal(str(stage.win_probability)) if stage.win_probability is not None else Decimal(0)


def match_stage(process: SopDefinition, text: str) -> Stage | None:
    """A stage by id or by its display name (CSV imports use either), case-insensitive."""
    wanted = text.strip().lower()
    for stage in process.stages:
        if wanted in (stage.id.lower(), stage.name.strip().lower()):
            return stage
    return None

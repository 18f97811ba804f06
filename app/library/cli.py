"""`talktrack search "QUERY" [filters]` and `talktrack talk-tracks STEP`: readable tables.

Both read the local database and index directly (an operator's view: the whole library).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from app.errors import AppError

search_app = typer.Typer(help="Search the clip / snippet / talk-track library.",
                         context_settings={"allow_interspersed_args": True})
talk_tracks_app = typer.Typer(help="Talk tracks (知识点) for an SOP step or customer topic.",
                              context_settings={"allow_interspersed_args": True})
console = Console()
err = Console(stderr=True)


def _fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(1)


@search_app.callback(invoke_without_command=True)
def search(
    query: Annotated[str, typer.Argument(help="words to look for (English or Chinese)")],
    type_: Annotated[list[str] | None, typer.Option("--type", help="snippet | clip | talk_track (repeatable)")] = None,
    step: Annotated[str | None, typer.Option(help="SOP step id")] = None,
    topic: Annotated[str | None, typer.Option(help="customer topic key, e.g. price-objection")] = None,
    rep_id: Annotated[int | None, typer.Option("--rep", help="rep user id")] = None,
    team_id: Annotated[int | None, typer.Option("--team", help="team id")] = None,
    language: Annotated[str | None, typer.Option(help="en | zh")] = None,
    outcome: Annotated[str | None, typer.Option(help="advanced | won | stalled | lost")] = None,
    date_from: Annotated[datetime | None, typer.Option("--from")] = None,
    date_to: Annotated[datetime | None, typer.Option("--to")] = None,
    min_score: Annotated[float | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 10,
    fmt: Annotated[str, typer.Option("--format", help="table | json")] = "table",
) -> None:
    """Hybrid keyword + semantic search; prints the best matches with where they are in the call."""
    from app.db import session_scope
    from app.library import query as query_service

    filters = query_service.SearchFilters(
        types=tuple(type_) if type_ else ("snippet", "clip", "talk_track"), step=step, topic=topic, rep_id=rep_id,
        team_id=team_id, language=language, outcome=outcome, date_from=date_from, date_to=date_to,
        min_score=min_score,
    )
    try:
        with session_scope() as session:
            found = query_service.run(session=session, query=query, filters=filters, page=1, page_size=limit)
    except AppError as exc:
        _fail(exc.message)
        return
    if fmt == "json":
        console.print_json(json.dumps({"items": found.items, "index": found.index}, default=str))
        return
    if found.index.get("warning"):
        err.print(f"[yellow]warning:[/] {found.index['warning']}")
    table = Table("#", "type", "title", "text", "score", "call @ s", "step / topic", title=f"search: {query}")
    for rank, item in enumerate(found.items, start=1):
        where = f"{item.get('call_id')} @ {item.get('start') or 0:.0f}" if item.get("call_id") else "-"
        score = "-" if item.get("score") is None else f"{item['score']:.2f}"
        table.add_row(str(rank), item["type"], str(item.get("title", ""))[:40], str(item["text"])[:80], score, where,
                      item.get("step_id") or item.get("topic") or "-")
    console.print(table)
    if not found.items:
        console.print("no results; try other words or fewer filters")


@talk_tracks_app.callback(invoke_without_command=True)
def talk_tracks(
    step: Annotated[str | None, typer.Argument(help="SOP step id, e.g. handle-objection")] = None,
    topic: Annotated[str | None, typer.Option(help="customer topic key or words of its label")] = None,
    top: Annotated[int, typer.Option(min=1, max=50, help="variants shown per track")] = 5,
) -> None:
    """The ranked ways reps handle a step (or a customer topic): usage, advancement, best examples."""
    from app.db import session_scope
    from app.library import talk_tracks as tracks_service

    if step is None and topic is None:
        _fail("name a step (talktrack talk-tracks handle-objection) or --topic price-objection")
    with session_scope() as session:
        tracks = tracks_service.list_tracks(session=session, step=step, topic=topic)
        if not tracks:
            _fail(f"no talk track for {step or topic!r} yet; tracks appear as matched calls finish")
        for track in tracks:
            variants = tracks_service.variants_of(session=session, track_id=track.id)[:top]
            table = Table("rank", "phrasing", "used", "advanced", "score", "rank score", "clips",
                          title=f"{track.label} ({track.kind}: {track.key}) — {track.usage_count} moments")
            for v in variants:
                rate = "-" if v.advancement_rate is None else f"{v.advancement_rate:.0%} of {v.labelled_count}"
                table.add_row(str(v.rank), v.text[:90], str(v.usage_count), rate, f"{v.mean_score:.2f}",
                              f"{v.rank_score:.2f}", ",".join(map(str, v.best_clip_ids)) or "-")
            console.print(table)

"""`talktrack sop …`: validate SOP files and match a transcript against an SOP offline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from app.errors import AppError
from app.sop.compare import Comparison, compare_path
from app.sop.loader import SopIssue, SopValidationError, load_sop
from app.sop.matcher import MatchResult, build_sop_index, match_call
from app.sop.schema import SopDefinition

sop_app = typer.Typer(
    help="SOP definitions: validate files, match a transcript.", no_args_is_help=True
)
console = Console()
err = Console(stderr=True)


def _read_sop(path: Path) -> tuple[SopDefinition | None, list[SopIssue]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [SopIssue(str(path), 0, "", f"cannot read file: {exc}")]
    try:
        return load_sop(text, source=str(path)), []
    except SopValidationError as exc:
        return None, exc.issues


@sop_app.command()
def validate(files: Annotated[list[Path], typer.Argument(help="SOP YAML files")]) -> None:
    """Check SOP files; list every issue with file, line and field; exit 1 if any."""
    issues: list[SopIssue] = []
    for path in files:
        sop, found = _read_sop(path)
        issues += found
        if sop is not None:
            console.print(
                f"[green]ok[/] {path}: {sop.id} v{sop.version}, {len(sop.stages)} stages, {len(sop.steps())} steps"
            )
    if issues:
        # One `file:line field: problem` line per issue (like a compiler): readable at any
        # terminal width, and editors and CI annotate the line from it.
        for issue in issues:
            console.print(f"[red]{issue.file}:{issue.line}[/] {issue.field_path or '-'}: {issue.message}",
                          soft_wrap=True, highlight=False)
        console.print(f"[bold red]{len(issues)} issue(s)[/]")
        raise typer.Exit(1)


@sop_app.command()
def match(
    sop: Annotated[Path, typer.Option("--sop", help="SOP YAML file")],
    transcript: Annotated[
        Path,
        typer.Option("--transcript", help="transcript: JSON, WebVTT, SRT or Rep:/Customer: text"),
    ],
    fmt: Annotated[str, typer.Option("--format", help="table | json")] = "table",
    embedder: Annotated[
        str | None, typer.Option("--embedder", help="auto/e5, e5+mpnet, minilm, hashing, or a model path (default: the SOP language's matching embedder)")
    ] = None,
    stages: Annotated[
        list[str] | None,
        typer.Option("--stage", help="a stage the call works on (repeat; e.g. the deal's stage): only their required steps can be missed"),
    ] = None,
) -> None:
    """Match a transcript against an SOP: actual path, deviations and adherence."""
    if fmt not in ("table", "json"):
        _fail(f"--format must be 'table' or 'json', not '{fmt}'")
    definition, issues = _read_sop(sop)
    if definition is None:
        _fail(
            "invalid SOP file; run `talktrack sop validate` for details:\n"
            + "\n".join(map(str, issues))
        )
    from app.sop.report import build_report, match_notes

    utterances, language = _parse(transcript)
    if not utterances:
        _fail(f"{transcript}: no utterances found")
    _known, unknown = definition.split_stage_ids(stages or ())
    if unknown:
        _fail(f"unknown --stage {', '.join(unknown)}; {definition.id} has the stages: "
              + ", ".join(st.id for st in definition.stages))
    notes = match_notes(sop=definition, language=language, utterances=utterances)
    result, comparison = _run(definition, utterances, embedder, stages)
    if fmt == "json":
        report = build_report(sop=definition, version=definition.version, utterances=utterances,
                              match=result, comparison=comparison, notes=notes)
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        for note in notes:
            err.print(f"[yellow]note:[/] {note}")
        _print_tables(definition, utterances, result, comparison)


def _fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(1)


def _parse(path: Path) -> tuple[list[Any], str | None]:
    """The transcript's utterances and language (given in the file, or detected from its text); long
    turns are cut at sentence ends as an upload's are (turns.normalise_turns)."""
    from app.transcripts.formats import parse_transcript  # lazy: keeps `sop validate` light
    from app.transcripts.turns import normalise_turns

    try:
        parsed = normalise_turns(parse_transcript(path.read_bytes(), filename=path.name))
    except OSError as exc:
        _fail(f"cannot read {path}: {exc}")
    except (ValueError, AppError) as exc:
        _fail(str(exc))
    return list(parsed.utterances), parsed.language


def _run(
    definition: SopDefinition, utterances: list[Any], name: str | None, stages: list[str] | None = None
) -> tuple[MatchResult, Comparison]:
    from app import ml  # the one door to models/, imported only when matching

    spec = name or ml.match_embedder_name(definition.language)  # the SOP's language picks it
    try:
        model = ml.get_embedder(spec)
    except Exception as exc:  # noqa: BLE001 - any load failure becomes a readable message, not a traceback
        _fail(f"cannot load embedder '{spec}': {exc}")
    index = build_sop_index(definition, model)
    vectors = model.embed([u.text for u in utterances], kind="query")
    result = match_call(utterances, index, utterance_vectors=vectors, stage_ids=stages)
    return result, compare_path(result, definition, utterances)


def _fmt_t(seconds: float) -> str:
    return f"{int(seconds // 60):02d}:{seconds % 60:04.1f}"


STATUS_MARK = {
    "done": "[green]✓ done[/]", "missed": "[red]✗ missed[/]", "out_of_order": "[yellow]⇄ out of order[/]",
    "repeated": "[yellow]↺ repeated[/]", "skipped_optional": "[dim]– skipped (optional)[/]",
    "not_in_scope": "[dim]· not in this call's stages[/]",
}


def _print_prescribed(sop: SopDefinition, utterances: list[Any], result: MatchResult, cmp: Comparison) -> None:
    """Prescribed steps in order beside what the call actually did with each of them."""
    from app.sop.report import build_report

    report = build_report(sop=sop, version=sop.version, utterances=utterances, match=result, comparison=cmp)
    table = Table("#", "prescribed step", "stage", "req.", "actual", "first at", title="Prescribed vs actual")
    for position, row in enumerate(report["prescribed"], 1):
        first = _fmt_t(row["first_start"]) if row["first_start"] is not None else "-"
        table.add_row(str(position), f"{row['step_name']} ({row['step']})", row["stage"],
                      "yes" if row["required"] else "", STATUS_MARK[row["status"]], first)
    console.print(table)


def _print_tables(
    sop: SopDefinition, utterances: list[Any], result: MatchResult, cmp: Comparison
) -> None:
    _print_prescribed(sop, utterances, result, cmp)
    names = {step.id: step.name for _st, step in sop.steps()}
    path = Table(
        "#",
        "step",
        "stage",
        "from",
        "to",
        "utterances",
        title=f"Actual path — {sop.name} v{sop.version}",
    )
    for i, seg in enumerate(result.path, 1):
        idx = ",".join(map(str, seg.utterance_indexes))
        path.add_row(
            str(i),
            f"{names[seg.step_id]} ({seg.step_id})",
            seg.stage_id,
            _fmt_t(seg.start),
            _fmt_t(seg.end),
            idx,
        )
    console.print(path)
    dev = Table("finding", "step", "when", "utterances / detail", title="Deviations")
    for m in cmp.missed:
        when = f"after {m.expected_after}" if m.expected_after else "at the start"
        dev.add_row("[red]missed[/]", m.step_id, when, "-")
    for o in cmp.out_of_order:
        dev.add_row(
            "[yellow]out of order[/]",
            o.step_id,
            _fmt_t(o.start),
            f"after {o.after_step}; {list(o.utterance_indexes)}",
        )
    for r in cmp.repeated:
        dev.add_row(
            "repeated", r.step_id, ", ".join(_fmt_t(a) for a, _b in r.spans), f"{r.visits} visits"
        )
    for s in cmp.off_sop_stretches:
        dev.add_row(
            "off-SOP stretch",
            "-",
            f"{_fmt_t(s.start)}–{_fmt_t(s.end)}",
            f"{s.duration:.0f}s; {list(s.utterance_indexes)}",
        )
    for note in cmp.notes:
        dev.add_row("note", "-", "-", note)
    if dev.row_count:
        console.print(dev)
    else:
        console.print("[green]No deviations[/]: every required step in scope was taken, in order.")
    a = cmp.adherence
    console.print(
        f"[bold]Adherence {a.score:.2f}[/] = 0.60 × coverage {a.coverage:.2f} ({a.required_seen}/{a.required_in_scope}) "
        f"+ 0.25 × order {a.order_score:.2f} + 0.15 × (1 − off-SOP share {a.off_sop_share:.2f})"
    )


@sop_app.command()
def review(
    call_id: Annotated[int, typer.Argument(help="the call's id (`talktrack status` lists calls)")],
    label: Annotated[
        list[str] | None,
        typer.Option("--set", help="INDEX=STEP: the utterance's right step (STEP 'off-sop' for off-SOP); repeat"),
    ] = None,
    complete: Annotated[
        bool, typer.Option("--complete", help="every label was checked: those not set are confirmed")
    ] = False,
    clear: Annotated[bool, typer.Option("--clear", help="remove the call's review")] = False,
) -> None:
    """Correct a stored call's SOP labels; its path, deviations and adherence follow the corrections."""
    from app.db import init_db, session_scope
    from app.sop import review as review_service

    if clear and (label or complete):
        _fail("--clear removes the review; it takes no --set or --complete")
    if not clear and not label and not complete:
        _fail("nothing to do: give --set INDEX=STEP (repeatable), --complete, or --clear")
    corrections: list[dict[str, Any]] = []
    for item in label or []:
        index, sep, step = item.partition("=")
        if not sep or not index.strip().isdigit() or not step.strip():
            _fail(f"--set {item!r}: write INDEX=STEP, e.g. --set 12=handle-objection or --set 3=off-sop")
        corrections.append({"index": int(index), "step": step.strip()})
    init_db()
    try:
        with session_scope() as session:
            from app.calls.models import Call

            call = session.get(Call, call_id)
            if call is None:
                _fail(f"call {call_id} does not exist; `talktrack status` lists the latest calls")
            if clear:
                saved = review_service.clear_review(session=session, call=call)
            else:
                saved = review_service.save_review(
                    session=session, call=call, reviewer=None, complete=complete,
                    corrections=review_service.parse_corrections(corrections),
                )
            payload, adherence = saved.result.result, saved.result.adherence
    except AppError as exc:
        _fail(exc.message)
    table = Table(title=f"Call {call_id} against {payload['sop']['id']} v{payload['sop']['version']}")
    for column in ("#", "role", "text", "step", "corrected"):
        table.add_column(column, overflow="fold")
    for u in payload["utterances"]:
        if u.get("corrected"):
            table.add_row(str(u["index"]), u["role"], u["text"][:70], u["step"] or "off-SOP", "✓")
    console.print(table)
    missed = ", ".join(m["step_id"] for m in payload["deviations"]["missed"]) or "none"
    console.print(f"adherence {adherence:.2f} · missed: {missed} · "
                  + ("review removed" if clear else f"review {'complete' if complete else 'partial'}"))
    if saved.rematch_queued:
        console.print(f"enough reviews of {payload['sop']['id']} changed: its calls are queued for a re-match "
                      "with what they taught the matcher (a worker runs it; or `talktrack sop rematch` now)")


@sop_app.command()
def learning(sop_id: Annotated[str, typer.Argument(help="the SOP's id")]) -> None:
    """What the matcher learned from the SOP's reviews: lines per step, and changes not applied yet."""
    from app.db import init_db, session_scope
    from app.sop import learning as learning_service
    from app.sop import service as sop_service

    init_db()
    try:
        with session_scope() as session:
            doc = learning_service.status(session=session, sop_row=sop_service.get_version(session=session, sop_id=sop_id))
    except AppError as exc:
        _fail(exc.message)
    table = Table(title=f"{doc['name']} ({doc['sop_id']} v{doc['version']}): examples per step")
    for column, justify in (("stage", "left"), ("step", "left"), ("speaker", "left"), ("written", "right"),
                            ("learned", "right"), ("newest learned line", "left")):
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for step in doc["steps"]:
        newest = step["learned_examples"][0][:60] if step["learned_examples"] else ""
        table.add_row(step["stage_id"], step["step_id"], step["speaker"], str(step["examples"]),
                      str(step["learned"]) if step["learned"] else "·", newest)
    console.print(table)
    last = doc["last_rematch"]
    console.print(
        f"{doc['reviewed_calls']} reviewed call(s), {doc['complete_reviews']} complete · at most "
        f"{doc['examples_per_step']} learned lines per step · "
        f"{doc['review_changes_since_rematch']} review change(s) since the calls were last re-matched"
        + (f" ({last['at'][:16]}, {last['calls']} calls)" if last else "")
        + (f"; they are re-matched after {doc['rematch_after']}, at most every {doc['rematch_interval_h']:g} h"
           if doc["rematch_after"] else "")
    )


@sop_app.command("review-queue")
def review_queue(
    sop_id: Annotated[str, typer.Argument(help="the SOP's id")],
    limit: Annotated[int, typer.Option("--limit", min=1, max=200, help="how many calls")] = 20,
) -> None:
    """The SOP's calls to review next: highest expected share of wrong labels first."""
    from app.db import init_db, session_scope
    from app.sop import review as review_service
    from app.sop import service as sop_service

    init_db()
    try:
        with session_scope() as session:
            sop_service.get_version(session=session, sop_id=sop_id)
            rows = review_service.review_queue(session=session, sop_id=sop_id, limit=limit)
    except AppError as exc:
        _fail(exc.message)
    if not rows:
        console.print(f"nothing to review: no matched call of {sop_id} without a complete review")
        return
    table = Table(title=f"Calls of {sop_id} to review next (highest expected share of wrong labels first)")
    for column, justify in (("call", "right"), ("title", "left"), ("rep", "left"), ("lines", "right"),
                            ("unsure", "right"), ("expected wrong", "right"), ("share", "right"),
                            ("adherence", "right")):
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for row in rows:
        table.add_row(str(row["call_id"]), row["title"] or "", row["rep"] or "", str(row["lines"]),
                      str(row["unsure_lines"]), f"{row['expected_wrong']:.1f}", f"{row['expected_wrong_share']:.0%}",
                      f"{row['adherence']:.2f}")
    console.print(table)
    console.print(f"unsure: the matcher's posterior is below {review_service.UNSURE_BELOW}; "
                  "review a call with `talktrack sop review CALL_ID --set INDEX=STEP … --complete` or on its page")


@sop_app.command()
def rematch(
    sop_id: Annotated[str, typer.Argument(help="the SOP's id")],
    queue: Annotated[bool, typer.Option("--queue", help="leave it to the workers instead of matching here")] = False,
) -> None:
    """Match every call of the SOP again, with its latest version and what its reviews taught."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from app.db import init_db, session_scope
    from app.sop import learning as learning_service
    from app.sop import service as sop_service

    init_db()
    try:
        with session_scope() as session:
            sop_service.get_version(session=session, sop_id=sop_id)
            if queue:
                learning_service.queue_rematch(session=session, sop_id=sop_id)
            call_ids = sop_service.calls_using(session=session, sop_id=sop_id)
    except AppError as exc:
        _fail(exc.message)
    if queue:
        console.print(f"queued: the workers re-match the {len(call_ids)} call(s) of {sop_id}")
        return
    done = 0
    with Progress(TextColumn("re-matching"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as progress:
        task = progress.add_task("", total=len(call_ids))
        for call_id in call_ids:
            with session_scope() as session:
                done += sop_service.rematch_ready_call(session=session, call_id=call_id)
            progress.advance(task)
    with session_scope() as session:
        learning_service.record_rematch(session=session, sop_id=sop_id, calls=done, applied_changes=True)
    console.print(f"re-matched {done} call(s) of {sop_id}; not ready or without a SOP: {len(call_ids) - done}")


@sop_app.command("export-reviews")
def export_reviews(
    sop_id: Annotated[str, typer.Argument(help="the SOP's id")],
    out: Annotated[Path, typer.Option("--out", help="folder for the labelled call files")],
    include_partial: Annotated[
        bool, typer.Option("--include-partial", help="also calls whose review is not complete")
    ] = False,
) -> None:
    """Write the SOP's reviewed calls as labelled calls, for `talktrack eval sop --labels OUT`."""
    from app.db import init_db, session_scope
    from app.sop import review as review_service

    init_db()
    with session_scope() as session:
        docs = review_service.reviewed_calls(session=session, sop_id=sop_id, complete_only=not include_partial)
    if not docs:
        _fail(f"no {'reviewed' if include_partial else 'completely reviewed'} call of SOP '{sop_id}'; "
              "review one with `talktrack sop review CALL_ID --set … --complete`")
    try:
        out.mkdir(parents=True, exist_ok=True)
        for doc in docs:
            (out / f"{doc['id']}.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", "utf-8")
    except OSError as exc:
        _fail(f"cannot write to {out}: {exc}")
    console.print(f"wrote {len(docs)} labelled call(s) to {out}; measure the matcher on them with "
                  f"`talktrack eval sop --sop <{sop_id} YAML> --labels {out}`")

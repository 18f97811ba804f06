"""The `talktrack` command."""

from __future__ import annotations

import os
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from app import ingest as ingest_mod
from app.config import get_settings

app = typer.Typer(
    help="Talktrack: conversation intelligence for B2B sales teams.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
err = Console(stderr=True, soft_wrap=True)  # error lines stay whole (grep, logs)



def fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def _mount_optional() -> None:
    from app.cli_registry import SUBCOMMANDS

    for name, module_name, attr in SUBCOMMANDS:
        try:
            module = __import__(module_name, fromlist=[attr])
        except ModuleNotFoundError as exc:  # a domain not installed in this build
            if exc.name and exc.name.startswith("app."):
                continue
            raise
        app.add_typer(getattr(module, attr), name=name)


@app.command("init-db")
def init_db() -> None:
    """Create or upgrade the database schema."""
    from app.db import init_db as _init

    _init()
    console.print(f"database ready: {_safe_url(get_settings().database_url)}")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@app.command()
def worker(
    queues: Annotated[str, typer.Option(help="comma-separated: transcribe,cpu")] = "transcribe,cpu",
    concurrency: Annotated[int, typer.Option(min=1, max=64)] = 1,
    pool: Annotated[str, typer.Option(help="solo | threads | prefork")] = "threads",
) -> None:
    """Run a pipeline worker (any number of them, on any machine)."""
    os.execvp(sys.executable, [sys.executable, "-m", "workers", "--queues", queues,
                               "--concurrency", str(concurrency), "--pool", pool])


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    embedded_worker: Annotated[bool, typer.Option("--embedded-worker/--no-worker")] = True,
) -> None:
    """Serve the API (and, by default, run a worker for it: no other service needed)."""
    import uvicorn

    from app import jobs
    from app.db import init_db as _init

    _init()
    stop = threading.Event()
    jobs.start_relay_thread(stop)
    process = ingest_mod.start_embedded_worker() if embedded_worker else None
    console.print(f"Talktrack on http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    try:
        uvicorn.run("app.main:create_app", factory=True, host=host, port=port, log_level="info")
    finally:
        stop.set()
        if process is not None:
            ingest_mod.stop_worker(process)


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="files or folders")],
    rep: Annotated[str | None, typer.Option(help="rep e-mail")] = None,
    team: Annotated[str | None, typer.Option()] = None,
    language: Annotated[str | None, typer.Option(help="en | zh (omit to detect)")] = None,
    occurred_at: Annotated[datetime | None, typer.Option()] = None,
    sop_id: Annotated[str | None, typer.Option("--sop")] = None,
    deal_ref: Annotated[str | None, typer.Option()] = None,
    stages: Annotated[
        str | None, typer.Option(help="SOP stage ids the calls work on, comma-separated (default: the deal's stage)")
    ] = None,
    rep_channel: Annotated[str, typer.Option(help="left | right (stereo)")] = "left",
    as_user: Annotated[str | None, typer.Option("--as", help="act as this user (default: first admin)")] = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="process now and show progress")] = True,
) -> None:
    """Upload calls from files (sidecar FILE.meta.json for per-file metadata)."""
    from app.db import init_db as _init
    from app.errors import AppError

    _init()
    flags = {"rep": rep, "team": team, "language": language, "occurred_at": occurred_at, "sop_id": sop_id,
             "deal_ref": deal_ref, "stages": stages, "rep_channel": rep_channel}
    try:
        files = ingest_mod.collect(paths)
        if not files:
            fail("No audio or transcript files found.")
        rows = ingest_mod.upload_all(files, flags, as_user, console)
        if wait:
            ingest_mod.wait_with_progress(rows, console)
    except AppError as exc:
        fail(exc.message)
    console.print(ingest_mod.summary_table(rows))
    if any(r.status in ("failed", "rejected") for r in rows):
        raise typer.Exit(1)


@app.command()
def status(call_id: Annotated[int | None, typer.Argument()] = None) -> None:
    """Show the pipeline status of one call, or of the latest calls."""
    from sqlalchemy import select

    from app.calls.models import Call
    from app.db import init_db as _init
    from app.db import session_scope

    _init()
    with session_scope() as session:
        if call_id is not None:
            call = session.get(Call, call_id)
            if call is None:
                fail(f"Call {call_id} does not exist; `talktrack status` lists the latest calls.")
            table = Table(title=f"Call {call.id}: {call.title}", show_header=False)
            for key in ("status", "error", "failed_stage", "source_kind", "source_format", "language",
                        "duration_s", "rep_name", "attribution_method", "attribution_confidence", "asr_model",
                        "embedding_model", "created_at", "ready_at"):
                table.add_row(key, str(getattr(call, key)))
            for stage, seconds in (call.timings or {}).items():
                table.add_row(f"time in {stage}", f"{seconds:.2f}s")
            console.print(table)
            return
        calls = session.scalars(select(Call).order_by(Call.id.desc()).limit(30)).all()
        table = Table(title="Latest calls")
        for column in ("id", "title", "status", "language", "duration", "rep"):
            table.add_column(column)
        for c in calls:
            table.add_row(str(c.id), c.title[:40], c.status, c.language or "", f"{c.duration_s or 0:.1f}s", c.rep_name)
        console.print(table)


@app.command()
def demo(
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="serve the API afterwards")] = False,
) -> None:
    """Set up the embedded demo: users per role, the demo corpus processed, then (optionally) serve."""
    from app.demo import load_demo

    load_demo(console)
    if serve_after:
        serve()


def main() -> None:
    """Entry point: known errors become one readable line and exit code 1, never a traceback."""
    from pydantic import ValidationError
    from rich.markup import escape
    from sqlalchemy.exc import OperationalError

    from app.errors import AppError

    _mount_optional()
    try:
        app(standalone_mode=True)
    except AppError as exc:
        err.print(f"[bold red]error:[/] {exc.message}")
        sys.exit(1)
    except ValidationError as exc:
        if not exc.title.endswith("Settings"):
            raise
        # A TALKTRACK_* variable (or .env line) that does not parse: name it, say what it must be.
        for problem in exc.errors():
            field = str(problem["loc"][0]) if problem["loc"] else "?"
            message = f"TALKTRACK_{field.upper()}={problem.get('input')!r}: {problem['msg']}"
            err.print(f"[bold red]error:[/] {escape(message)} (see the configuration table in README.md)",
                      highlight=False)
        sys.exit(1)
    except OperationalError as exc:
        err.print(
            f"[bold red]error:[/] cannot use the database at {_safe_url(get_settings().database_url)}: "
            f"{exc.orig}. Check TALKTRACK_DATABASE_URL and that the server is running."
        )
        sys.exit(1)


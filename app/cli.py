"""The `talktrack` command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from app.config import get_settings

app = typer.Typer(help="Talktrack: conversation intelligence for B2B sales teams.", no_args_is_help=True)
users_app = typer.Typer(help="Users, roles and API tokens (admin).", no_args_is_help=True)
app.add_typer(users_app, name="users")
console = Console()
err = Console(stderr=True)

AUDIO_EXT = {".wav", ".mp3", ".m4a", ".aac", ".ogg", ".opus", ".flac", ".webm"}
TRANSCRIPT_EXT = {".json", ".vtt", ".srt", ".txt"}
TERMINAL = {"ready", "failed"}


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


def _start_embedded_worker() -> subprocess.Popen[bytes]:
    log = get_settings().var_dir / "worker.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    handle = open(log, "ab")  # noqa: SIM115 (lives as long as the worker)
    return subprocess.Popen(
        [sys.executable, "-m", "workers", "--queues", "transcribe,cpu", "--concurrency", "1", "--pool", "solo"],
        stdout=handle, stderr=subprocess.STDOUT,
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


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
    process = _start_embedded_worker() if embedded_worker else None
    console.print(f"Talktrack on http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    try:
        uvicorn.run("app.main:create_app", factory=True, host=host, port=port, log_level="info")
    finally:
        stop.set()
        if process is not None:
            _stop(process)


def _collect(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                p for p in sorted(path.rglob("*"))
                if p.is_file() and p.suffix.lower() in AUDIO_EXT | TRANSCRIPT_EXT and not p.name.endswith(".meta.json")
            )
        elif path.is_file():
            files.append(path)
        else:
            fail(f"{path} does not exist.")
    return files


def _sidecar(path: Path) -> dict[str, object]:
    side = path.with_name(path.name + ".meta.json")
    if not side.exists():
        side = path.with_suffix(".meta.json")
    if not side.exists():
        return {}
    try:
        data = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        fail(f"{side}: not valid JSON ({exc}).")
    if not isinstance(data, dict):
        fail(f"{side}: expected a JSON object of call metadata.")
    return data


def _actor(session, email: str | None):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from app.users import service as users_service
    from app.users.models import Role, User

    if email:
        user = users_service.get_user_by_email(session=session, email=email)
        if user is None:
            fail(f"No user {email}.")
        return user
    user = session.scalar(select(User).where(User.role == Role.admin).order_by(User.id))
    if user is None:
        fail("No admin user yet: run `talktrack demo` or `talktrack users create EMAIL --role admin`.")
    return user


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="files or folders")],
    rep: Annotated[Optional[str], typer.Option(help="rep e-mail")] = None,
    team: Annotated[Optional[str], typer.Option()] = None,
    language: Annotated[Optional[str], typer.Option(help="en | zh (omit to detect)")] = None,
    occurred_at: Annotated[Optional[datetime], typer.Option()] = None,
    sop_id: Annotated[Optional[str], typer.Option("--sop")] = None,
    deal_ref: Annotated[Optional[str], typer.Option()] = None,
    rep_channel: Annotated[str, typer.Option(help="left | right (stereo)")] = "left",
    as_user: Annotated[Optional[str], typer.Option("--as", help="act as this user (default: first admin)")] = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="process now and show progress")] = True,
) -> None:
    """Upload calls from files (sidecar FILE.meta.json for per-file metadata)."""
    from app.db import init_db as _init

    _init()
    files = _collect(paths)
    if not files:
        fail("No audio or transcript files found.")
    flags = {"rep": rep, "team": team, "language": language, "occurred_at": occurred_at, "sop_id": sop_id,
             "deal_ref": deal_ref, "rep_channel": rep_channel}
    results = _upload_all(files, flags, as_user)
    if wait:
        _process_with_progress(results)
    _summary(results)
    if any(r["status"] == "failed" or r.get("error") for r in results):
        raise typer.Exit(1)


def _upload_all(files: list[Path], flags: dict[str, object], as_user: str | None) -> list[dict[str, object]]:
    from pydantic import ValidationError

    from app.calls import service as calls_service
    from app.calls import storage
    from app.calls.schemas import CallMeta
    from app.db import session_scope
    from app.errors import AppError

    results: list[dict[str, object]] = []
    with Progress(SpinnerColumn(), TextColumn("uploading {task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=console) as progress:
        task = progress.add_task("", total=len(files))
        for path in files:
            progress.update(task, description=path.name)
            meta_fields = {k: v for k, v in flags.items() if v is not None} | _sidecar(path)
            row: dict[str, object] = {"file": str(path), "id": None, "status": "rejected", "error": None}
            try:
                meta = CallMeta(**meta_fields)
                with session_scope() as session, path.open("rb") as handle:
                    staged = storage.stage(storage.iter_file(handle), max_bytes=get_settings().max_upload_bytes)
                    accepted = calls_service.accept_upload(
                        session=session, user=_actor(session, as_user), staged=staged, filename=path.name, meta=meta
                    )
                    row.update(id=accepted.call.id, status=accepted.call.status, duplicate=accepted.duplicate)
            except ValidationError as exc:
                row["error"] = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            except AppError as exc:
                row["error"] = exc.message
            results.append(row)
            progress.advance(task)
    return results


def _process_with_progress(results: list[dict[str, object]]) -> None:
    from app import jobs
    from app.calls.models import Call
    from app.db import session_scope

    ids = [int(r["id"]) for r in results if r["id"] is not None]  # type: ignore[arg-type]
    if not ids:
        return
    process = _start_embedded_worker() if not get_settings().broker_url else None
    stop = threading.Event()
    jobs.start_relay_thread(stop)
    jobs.relay_pending()
    try:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console) as progress:
            task = progress.add_task("processing", total=len(ids))
            while True:
                with session_scope() as session:
                    calls = {c.id: c for c in session.query(Call).filter(Call.id.in_(ids))}
                done = [c for c in calls.values() if c.status in TERMINAL]
                stages = sorted({c.status for c in calls.values() if c.status not in TERMINAL})
                progress.update(task, completed=len(done), description=f"processing ({', '.join(stages) or 'done'})")
                if len(done) == len(calls):
                    break
                if process is not None and process.poll() is not None:
                    fail(f"The worker stopped unexpectedly; see {get_settings().var_dir / 'worker.log'}.")
                time.sleep(0.5)
    finally:
        stop.set()
        if process is not None:
            _stop(process)
    for row in results:
        call = calls.get(row["id"]) if row["id"] is not None else None  # type: ignore[arg-type]
        if call is not None:
            row.update(status=call.status, error=call.error, language=call.language, duration=call.duration_s)


def _summary(results: list[dict[str, object]]) -> None:
    table = Table(title="Ingest summary")
    for column in ("file", "call", "status", "language", "duration", "note"):
        table.add_column(column)
    for r in results:
        status = str(r["status"])
        style = {"ready": "green", "failed": "red", "rejected": "red"}.get(status, "yellow")
        note = r.get("error") or ("duplicate: already uploaded" if r.get("duplicate") else "")
        duration = f"{r['duration']:.1f}s" if r.get("duration") else ""
        table.add_row(Path(str(r["file"])).name, str(r["id"] or "-"), f"[{style}]{status}[/]",
                      str(r.get("language") or ""), duration, str(note))
    console.print(table)


@app.command()
def status(call_id: Annotated[Optional[int], typer.Argument()] = None) -> None:
    """Show the pipeline status of one call, or of the latest calls."""
    from sqlalchemy import select

    from app.calls.models import Call
    from app.db import session_scope

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
    _mount_optional()
    app()


_ = users_app

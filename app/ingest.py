"""Bulk ingest from files for the CLI and the demo: upload, process with progress, summarise."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from app.config import get_settings
from app.errors import AppError

AUDIO_EXT = {".wav", ".mp3", ".m4a", ".aac", ".ogg", ".opus", ".flac", ".webm"}
TRANSCRIPT_EXT = {".json", ".vtt", ".srt", ".txt"}
TERMINAL = {"ready", "failed"}


class IngestError(AppError):
    status_code = 400


@dataclass
class IngestRow:
    file: Path
    call_id: int | None = None
    status: str = "rejected"
    error: str | None = None
    duplicate: bool = False
    language: str | None = None
    duration_s: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def collect(paths: list[Path]) -> list[Path]:
    """Audio and transcript files under the given files and folders (sidecars excluded)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                p for p in sorted(path.rglob("*"))
                if p.is_file() and p.suffix.lower() in AUDIO_EXT | TRANSCRIPT_EXT
                and not p.name.endswith(".meta.json") and p.name != "people.json"
            )
        elif path.is_file():
            files.append(path)
        else:
            raise IngestError(f"{path} does not exist.")
    return files


def sidecar(path: Path) -> dict[str, Any]:
    """Per-file metadata from FILE.EXT.meta.json (or FILE.meta.json) when present."""
    for side in (path.with_name(path.name + ".meta.json"), path.with_suffix(".meta.json")):
        if side.exists() and side != path:
            try:
                data = json.loads(side.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise IngestError(f"{side}: not valid JSON ({exc}).") from exc
            if not isinstance(data, dict):
                raise IngestError(f"{side}: expected a JSON object of call metadata.")
            return data
    return {}


def actor(session: Any, email: str | None) -> Any:
    from sqlalchemy import select

    from app.users import service as users_service
    from app.users.models import Role, User

    if email:
        user = users_service.get_user_by_email(session=session, email=email)
        if user is None:
            raise IngestError(f"No user {email}.")
        return user
    user = session.scalar(select(User).where(User.role == Role.admin).order_by(User.id))
    if user is None:
        raise IngestError("No admin user yet: run `talktrack demo` or `talktrack users create EMAIL --role admin`.")
    return user


def upload_all(files: list[Path], flags: dict[str, Any], as_user: str | None, console: Console) -> list[IngestRow]:
    """Upload each file through the same service as the API; one bad file does not stop the rest."""
    from app.calls import service as calls_service
    from app.calls import storage
    from app.calls.schemas import CallMeta
    from app.db import session_scope

    rows: list[IngestRow] = []
    with Progress(SpinnerColumn(), TextColumn("uploading {task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=console) as progress:
        task = progress.add_task("", total=len(files))
        for path in files:
            progress.update(task, description=path.name)
            row = IngestRow(file=path)
            try:
                meta = CallMeta(**({k: v for k, v in flags.items() if v is not None} | sidecar(path)))
                with session_scope() as session, path.open("rb") as handle:
                    staged = storage.stage(storage.iter_file(handle), max_bytes=get_settings().max_upload_bytes)
                    accepted = calls_service.accept_upload(
                        session=session, user=actor(session, as_user), staged=staged, filename=path.name, meta=meta
                    )
                    row.call_id, row.status, row.duplicate = accepted.call.id, accepted.call.status, accepted.duplicate
            except ValidationError as exc:
                row.error = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            except AppError as exc:
                row.error = exc.message
            rows.append(row)
            progress.advance(task)
    return rows


def start_embedded_worker() -> subprocess.Popen[bytes]:
    """The in-process-style worker of the embedded mode (same Celery tasks, filesystem broker)."""
    log = get_settings().var_dir / "worker.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    handle = open(log, "ab")  # noqa: SIM115 (lives as long as the worker)
    return subprocess.Popen(
        [sys.executable, "-m", "workers", "--queues", "transcribe,cpu", "--concurrency", "1", "--pool", "solo"],
        stdout=handle, stderr=subprocess.STDOUT,
    )


def stop_worker(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_with_progress(rows: list[IngestRow], console: Console, *, worker: bool = True) -> None:
    """Let a worker process the calls, showing a progress bar until each is ready or failed."""
    from app import jobs
    from app.calls.models import Call
    from app.db import session_scope

    ids = [r.call_id for r in rows if r.call_id is not None]
    if not ids:
        return
    process = start_embedded_worker() if worker and not get_settings().broker_url else None
    stop = threading.Event()
    jobs.start_relay_thread(stop)
    jobs.relay_pending()
    calls: dict[int, Any] = {}
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
                    raise IngestError(f"The worker stopped unexpectedly; see {get_settings().var_dir / 'worker.log'}.")
                time.sleep(0.5)
    finally:
        stop.set()
        if process is not None:
            stop_worker(process)
    for row in rows:
        call = calls.get(row.call_id) if row.call_id is not None else None
        if call is not None:
            row.status, row.error, row.language, row.duration_s = call.status, call.error, call.language, call.duration_s


def summary_table(rows: list[IngestRow]) -> Table:
    table = Table(title="Ingest summary")
    for column in ("file", "call", "status", "language", "duration", "note"):
        table.add_column(column)
    for r in rows:
        style = {"ready": "green", "failed": "red", "rejected": "red"}.get(r.status, "yellow")
        note = r.error or ("duplicate: already uploaded" if r.duplicate else "")
        table.add_row(r.file.name, str(r.call_id or "-"), f"[{style}]{r.status}[/]", r.language or "",
                      f"{r.duration_s:.1f}s" if r.duration_s else "", note)
    return table

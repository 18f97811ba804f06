"""Shared steps of the integration tests: seed people, upload, read rows, serve the API."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

import httpx
from sqlalchemy import func, select

from app.calls.models import Call
from app.db import session_scope
from app.jobs import Job
from tests.integration.conftest import Stack, free_port, wait_for

PLAIN = (
    "Rep: Hi Dana, this is Sam from Acme. Thanks for taking the time today.\n"
    "Customer: Sure, happy to chat.\n"
    "Rep: Could you walk me through how your team handles forecasting today?\n"
    "Customer: Mostly spreadsheets, and it takes us two days every month.\n"
)
UTTERANCES = 4


def call_row(call_id: int) -> Call:
    with session_scope() as session:
        call = session.get(Call, call_id)
        assert call is not None
        return call


def jobs_by_task(call_id: int) -> dict[str, int]:
    with session_scope() as session:
        rows = session.execute(
            select(Job.task_name, func.count()).where(Job.kwargs["call_id"].as_integer() == call_id)
            .group_by(Job.task_name)
        ).all()
    return {name: count for name, count in rows}


def count(model, call_id: int) -> int:  # type: ignore[no-untyped-def]
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(model).where(model.call_id == call_id)) or 0


def wait_ready(call_id: int, timeout: float) -> Call:
    wait_for(lambda: call_row(call_id).status in ("ready", "failed"), timeout, f"call {call_id} to finish")
    return call_row(call_id)


def serve(stack: Stack) -> str:
    """Start `uvicorn app.main:create_app` on a free loopback port; returns its base URL."""
    port = free_port()
    stack.spawn([sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--host", "127.0.0.1",
                 "--port", str(port), "--log-level", "warning"], "api.log")
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(up, 30, "the API to start")
    return base


@dataclass
class ReadLoad:
    """`clients` threads reading a call (listing, transcript, call) in a loop on keep-alive
    connections until stop(); each result is (seconds since start, status), -1 for a request that
    got no HTTP answer (its error is kept in `errors`)."""

    base: str
    headers: dict[str, str]
    call_id: int
    clients: int
    pause_s: float = 0.0
    results: list[tuple[float, int]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.start = time.monotonic()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop, args=(i,)) for i in range(self.clients)]
        for thread in self._threads:
            thread.start()

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def sleep_until(self, at: float) -> None:
        time.sleep(max(0.0, at - self.elapsed()))

    def stop(self) -> list[int]:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=20)
        return [status for _, status in self.results]

    def _loop(self, i: int) -> None:
        paths = ["/api/v1/calls", f"/api/v1/calls/{self.call_id}/transcript", f"/api/v1/calls/{self.call_id}"]
        with httpx.Client(base_url=self.base, headers=self.headers, timeout=15) as http:
            n = 0
            while not self._stop.is_set():
                sent = self.elapsed()
                try:
                    status = http.get(paths[(i + n) % len(paths)]).status_code
                except httpx.HTTPError as exc:  # a dropped connection counts as a failure too
                    self.errors.append(f"{sent:.2f}s {type(exc).__name__}: {exc}")
                    status = -1
                self.results.append((sent, status))
                n += 1
                time.sleep(self.pause_s)


def terminate_backends(database_url: str, wait_s: float = 10.0) -> int:
    """Kill every server process of our database, as a PostgreSQL restart does to pooled connections.

    `pg_terminate_backend` only signals the processes; this returns once they are gone (or after
    `wait_s`), so a caller's clock for "after the drop" starts when the drop really happened."""
    import psycopg

    from tests.integration.conftest import PG_ADMIN_URL

    name = database_url.rsplit("/", 1)[-1]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        ).fetchall()
        killed = [pid for pid, ok in rows if ok]
        deadline = time.monotonic() + wait_s
        while killed and time.monotonic() < deadline:
            alive = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (killed,)).fetchone()
            if not alive or alive[0] == 0:
                break
            time.sleep(0.02)
    return len(killed)


__all__ = ["subprocess"]

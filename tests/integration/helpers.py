"""Shared steps of the integration tests: seed people, upload, read rows, serve the API."""

from __future__ import annotations

import subprocess
import sys

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


def terminate_backends(database_url: str) -> int:
    """Kill every server process of our database, as a PostgreSQL restart does to pooled connections."""
    import psycopg

    from tests.integration.conftest import PG_ADMIN_URL

    name = database_url.rsplit("/", 1)[-1]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        ).fetchall()
    return sum(1 for (ok,) in rows if ok)


__all__ = ["subprocess"]

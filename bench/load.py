"""Load on loopback against the production shape: uvicorn + PostgreSQL + Redis.

Concurrent clients list calls, read transcripts and (when the route exists) search for a bounded
time while a batch of uploads arrives at once. Prints throughput, p50/p95/p99 latency and errors
per kind of request, a single-client baseline measured in the same run, and the machine.

    .venv/bin/python bench/load.py --clients 50 --seconds 20 --uploads 20

Needs PostgreSQL on 127.0.0.1:5432 (user postgres) and `redis-server` on PATH; it creates and
drops its own database and runs its own Redis on a free port. Nothing leaves loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
LINES = ["Rep: Thanks for joining, could you walk me through your current process?",
         "Customer: We use spreadsheets and it takes two days every month.",
         "Rep: What budget have you set aside for fixing that this year?",
         "Customer: Around forty thousand, the CFO signs off."]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def transcript(i: int) -> bytes:
    return ("\n".join(LINES) + f"\nRep: reference number {i} {secrets.token_hex(4)}\n").encode()


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    mem = ""
    if Path("/proc/meminfo").exists():
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024**2:.1f} GiB RAM"
    return f"{platform.node()}: {os.cpu_count()} CPUs ({cpu}){mem}, Python {platform.python_version()}"


class Stack:
    """A throwaway database, Redis and API server; torn down whatever happens."""

    def __init__(self, api_procs: int) -> None:
        self.api_procs = api_procs
        self.db = f"talktrack_bench_{secrets.token_hex(4)}"
        self.tmp = Path(tempfile.mkdtemp(prefix="talktrack-bench-"))
        self.redis_port, self.api_port = free_port(), free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{self.db}"
        self.base = f"http://127.0.0.1:{self.api_port}"
        self.server: subprocess.Popen[bytes] | None = None
        self.env = {**os.environ, "TALKTRACK_ENVIRONMENT": "production", "TALKTRACK_SECRET_KEY": secrets.token_hex(16),
                    "TALKTRACK_DATABASE_URL": self.url, "TALKTRACK_BROKER_URL": f"redis://127.0.0.1:{self.redis_port}/0",
                    "TALKTRACK_VAR_DIR": str(self.tmp), "TALKTRACK_EMBEDDER": "hashing", "HF_HUB_OFFLINE": "1",
                    "PYTHONPATH": str(REPO)}

    def __enter__(self) -> Stack:  # noqa: PYI034
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.db}"')
        subprocess.run(["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "",
                        "--daemonize", "yes", "--dir", str(self.tmp)], check=True, capture_output=True)
        os.environ.update({k: v for k, v in self.env.items() if k.startswith("TALKTRACK_") or k == "HF_HUB_OFFLINE"})
        import app.model_registry  # noqa: F401
        from app.db import Base, get_engine

        Base.metadata.create_all(get_engine())
        return self

    def serve(self) -> None:
        log = open(self.tmp / "api.log", "ab")  # noqa: SIM115
        self.server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--host", "127.0.0.1",
             "--port", str(self.api_port), "--workers", str(self.api_procs), "--log-level", "warning",
             "--no-access-log"], cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        raise SystemExit(f"API did not start; see {self.tmp / 'api.log'}")

    def __exit__(self, *exc: object) -> None:
        if self.server is not None and self.server.poll() is None:
            os.killpg(self.server.pid, signal.SIGTERM)
            self.server.wait(timeout=30)
        subprocess.run(["redis-cli", "-p", str(self.redis_port), "shutdown", "nosave"], capture_output=True, check=False)
        from app.db import get_engine

        get_engine().dispose()
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')


def seed(calls: int) -> tuple[str, list[int]]:
    """An admin token and `calls` processed calls (pipeline run in this process, hashing embedder)."""
    from fastapi.testclient import TestClient

    from app import jobs
    from app.db import session_scope
    from app.main import create_app
    from app.users import service as users_service
    from app.users.schemas import TeamCreate, UserCreate
    from workers.celery_app import run_inline

    jobs.set_dispatcher(run_inline)
    with session_scope() as session:
        team = users_service.create_team(session=session, team_in=TeamCreate(name="Bench"))
        admin = users_service.create_user(session=session, user_in=UserCreate(
            email="admin@bench.local", name="Admin", role="admin", teams=[]))
        _, token = users_service.issue_token(session=session, user=admin, name="bench")
        team_id = team.id
    ids = []
    with TestClient(create_app()) as client:
        for i in range(calls):
            r = client.post("/api/v1/calls", headers={"Authorization": f"Bearer {token}"},
                            files={"file": (f"seed{i}.txt", transcript(i))}, data={"team": str(team_id)})
            ids.append(r.json()["id"])
    jobs.set_dispatcher(None)
    return token, ids


async def load(base: str, token: str, ids: list[int], clients: int, seconds: float, uploads: int,
               search: bool) -> dict[str, list[tuple[float, int]]]:
    results: dict[str, list[tuple[float, int]]] = defaultdict(list)
    limits = httpx.Limits(max_connections=clients + uploads, max_keepalive_connections=clients + uploads)
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60,
                                 limits=limits) as http:
        stop = time.monotonic() + seconds

        async def hit(kind: str, method: str, url: str, **kw: object) -> None:
            t = time.perf_counter()
            try:
                status = (await http.request(method, url, **kw)).status_code  # type: ignore[arg-type]
            except httpx.HTTPError:
                status = -1
            results[kind].append((time.perf_counter() - t, status))

        async def reader(i: int) -> None:
            n = i
            while time.monotonic() < stop:
                n += 1
                choice = n % (3 if search else 2)
                if choice == 0:
                    await hit("list calls", "GET", "/api/v1/calls?page_size=20")
                elif choice == 1:
                    await hit("read transcript", "GET", f"/api/v1/calls/{ids[n % len(ids)]}/transcript")
                else:
                    await hit("search", "GET", "/api/v1/library/search?q=budget")

        async def uploader(i: int) -> None:
            await asyncio.sleep(1.0)
            await hit("upload", "POST", "/api/v1/calls", files={"file": (f"u{i}.txt", transcript(10_000 + i))})

        await asyncio.gather(*(reader(i) for i in range(clients)), *(uploader(i) for i in range(uploads)))
    return results


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def report(title: str, results: dict[str, list[tuple[float, int]]], seconds: float) -> None:
    print(f"\n{title}")
    print(f"{'request':<16}{'count':>7}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for kind, rows in sorted(results.items()):
        lat = [t * 1000 for t, _ in rows]
        errors = sum(1 for _, s in rows if s < 200 or s >= 400)
        rate = len(rows) / seconds if kind != "upload" else float("nan")
        print(f"{kind:<16}{len(rows):>7}{rate:>8.1f}{pct(lat, 50):>9.1f}{pct(lat, 95):>9.1f}{pct(lat, 99):>9.1f}"
              f"{errors:>8}")
    statuses: dict[int, int] = defaultdict(int)
    for rows in results.values():
        for _, status in rows:
            statuses[status] += 1
    print("statuses: " + ", ".join(f"{k if k > 0 else 'connection error'}: {v}" for k, v in sorted(statuses.items())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--uploads", type=int, default=20)
    parser.add_argument("--calls", type=int, default=30, help="calls seeded before the load")
    parser.add_argument("--api-procs", type=int, default=2, help="uvicorn worker processes")
    args = parser.parse_args()
    if not 1 <= args.clients <= 1000 or not 1 <= args.seconds <= 600 or not 0 <= args.uploads <= 500:
        raise SystemExit("keep it bounded: clients 1-1000, seconds 1-600, uploads 0-500")
    print(f"machine: {machine()}")
    print(f"setup: uvicorn x{args.api_procs} + PostgreSQL + Redis on loopback; {args.calls} seeded calls; "
          "uploads are accepted and queued (no pipeline worker runs during the load)")
    with Stack(args.api_procs) as stack:
        token, ids = seed(args.calls)
        stack.serve()
        search = "/api/v1/library/search" in httpx.get(f"{stack.base}/openapi.json").json()["paths"]
        baseline = asyncio.run(load(stack.base, token, ids, 1, 3.0, 0, search))
        report("baseline: 1 client, 3 s, same server", baseline, 3.0)
        results = asyncio.run(load(stack.base, token, ids, args.clients, args.seconds, args.uploads, search))
        report(f"load: {args.clients} clients for {args.seconds:.0f} s + {args.uploads} concurrent uploads",
               results, args.seconds)


if __name__ == "__main__":
    main()

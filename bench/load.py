"""Load on loopback against the production configuration: uvicorn workers + PostgreSQL + Redis.

200 clients list calls, read transcripts and search for 60 s while 50 uploads arrive at once.
Prints throughput, p50/p95/p99 latency and errors per kind of request for a single-client
baseline, the load with think time and the same load without think time (saturation), with the
machine, its load average and which load generator ran.

    flock /tmp/talktrack-bench.lock .venv/bin/python bench/load.py

Clients: each of the N clients is a closed loop on its own keep-alive connection with its own API
token (of the team's manager, so every read goes through the team permission filter): send one
request, wait for the whole response, think, send the next. A third of the clients list calls
(default page size), a third read transcripts (round robin over the seeded calls), a third search
the library (rotating queries). Think time is uniform in [0.5, 1.5] × --think seconds: a person
clicking through the UI; 0 gives the saturation figures. Latency is measured per request from send
to last byte (think time excluded). The 50 uploads (distinct transcripts, multipart) start 1 s
into each phase, all at once, each on its own connection; they must all be answered 202. No
pipeline worker runs during the load: uploads are stored, committed and queued in Redis.

Load generator: `wrk` (one process per kind, one thread each) when it is on PATH — it costs a few
percent of a core, where the Python client would take a good part of one of the two cores the
server needs; otherwise an asyncio httpx client with the same client definition. Uploads always
use httpx.

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust) and `redis-server` on PATH; it creates
and drops its own database and runs its own Redis on a free port. Nothing leaves loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import platform
import random
import secrets
import shutil
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
SOP = REPO / "sop_definitions" / "b2b-discovery.en.yaml"
CALL = (REPO / "tests" / "fixtures" / "transcripts" / "en_discovery.txt").read_text()
QUERIES = ["budget", "forecast accuracy", "next step", "spreadsheets", "pricing", "decision process",
           "timeline", "pain"]
# uvicorn closes an idle keep-alive connection after 5 s by default: a client that thinks longer
# then writes into a closing socket (wrk counts a read error). Keep it above the clients' (and a
# proxy's, nginx: 60 s) idle time so that the client side always closes first.
KEEP_ALIVE_S = 75
KINDS = ("list calls", "read transcript", "search")
Results = dict[str, list[tuple[float, int]]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def transcript(i: int) -> bytes:
    """The discovery call, made distinct (uploads are deduplicated by content)."""
    return (CALL + f"\nRep: Reference {i}-{secrets.token_hex(4)}, I will send the summary today.\n").encode()


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    mem = ""
    if Path("/proc/meminfo").exists():
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024**2:.1f} GiB RAM"
    return f"{platform.node()}: {os.cpu_count()} CPUs ({cpu}){mem}, Python {platform.python_version()}"


def loadavg() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


class Stack:
    """A throwaway database, Redis and API server; torn down whatever happens."""

    def __init__(self, api_procs: int, embedder: str) -> None:
        self.api_procs = api_procs
        self.db = f"talktrack_bench_{secrets.token_hex(4)}"
        self.tmp = Path(tempfile.mkdtemp(prefix="talktrack-bench-"))
        self.redis_port, self.api_port = free_port(), free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{self.db}"
        self.base = f"http://127.0.0.1:{self.api_port}"
        self.server: subprocess.Popen[bytes] | None = None
        self.env = {**os.environ, "TALKTRACK_ENVIRONMENT": "production", "TALKTRACK_SECRET_KEY": secrets.token_hex(16),
                    "TALKTRACK_DATABASE_URL": self.url, "TALKTRACK_BROKER_URL": f"redis://127.0.0.1:{self.redis_port}/0",
                    "TALKTRACK_VAR_DIR": str(self.tmp), "TALKTRACK_EMBEDDER": embedder, "HF_HUB_OFFLINE": "1",
                    "PYTHONPATH": str(REPO)}

    def __enter__(self) -> Stack:  # noqa: PYI034
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.db}"')
        subprocess.run(["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "",
                        "--daemonize", "yes", "--dir", str(self.tmp)], check=True, capture_output=True)
        os.environ.update({k: v for k, v in self.env.items() if k.startswith("TALKTRACK_") or k == "HF_HUB_OFFLINE"})
        # This process only (the server keeps the production pool): seeding runs the pipeline
        # in-process, each stage nested in the previous one's commit hook, a connection per level.
        os.environ.update(TALKTRACK_DB_POOL_SIZE="20", TALKTRACK_DB_MAX_OVERFLOW="40")
        from app.db import init_db

        init_db()  # the migrations, as in production
        return self

    def serve(self) -> None:
        log = open(self.tmp / "api.log", "ab")  # noqa: SIM115
        self.server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--host", "127.0.0.1",
             "--port", str(self.api_port), "--workers", str(self.api_procs), "--log-level", "warning",
             "--no-access-log", "--timeout-keep-alive", str(KEEP_ALIVE_S)], cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        raise SystemExit(f"API did not start; see {self.tmp / 'api.log'}")

    def server_errors(self) -> list[str]:
        log = self.tmp / "api.log"
        lines = log.read_text(errors="replace").splitlines() if log.exists() else []
        return [line for line in lines if "ERROR" in line or "Traceback" in line]

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
        shutil.rmtree(self.tmp, ignore_errors=True)


def seed(calls: int, clients: int) -> tuple[list[str], list[int], int]:
    """Per-client tokens of the team's manager and `calls` processed calls (pipeline run in-process)."""
    from fastapi.testclient import TestClient

    from app import jobs
    from app.db import session_scope
    from app.main import create_app
    from app.users import service as users_service
    from app.users.models import TeamRelation
    from app.users.schemas import TeamCreate, UserCreate
    from workers.celery_app import run_inline

    jobs.set_dispatcher(run_inline)
    with session_scope() as session:
        team = users_service.create_team(session=session, team_in=TeamCreate(name="Bench"))
        admin = users_service.create_user(session=session, user_in=UserCreate(
            email="admin@bench.local", name="Admin", role="admin", teams=[]))
        manager = users_service.create_user(session=session, user_in=UserCreate(
            email="manager@bench.local", name="Manager", role="manager",
            teams=[{"team_id": team.id, "relation": TeamRelation.manager}]))
        _, admin_token = users_service.issue_token(session=session, user=admin, name="bench")
        tokens = [users_service.issue_token(session=session, user=manager, name=f"client {i}")[1]
                  for i in range(clients)]
        team_id = team.id
    ids = []
    with TestClient(create_app()) as client:
        auth = {"Authorization": f"Bearer {admin_token}"}
        assert client.post("/api/v1/sops", headers=auth, content=SOP.read_bytes()).status_code in (200, 201)
        for i in range(calls):
            r = client.post("/api/v1/calls", headers=auth, files={"file": (f"seed{i}.txt", transcript(i))},
                            data={"team": str(team_id), "sop_id": "b2b-discovery"})
            ids.append(r.json()["id"])
    jobs.set_dispatcher(None)
    return tokens, ids, team_id


def paths(kind: str, ids: list[int]) -> list[str]:
    if kind == "list calls":
        return ["/api/v1/calls"]
    if kind == "read transcript":
        return [f"/api/v1/calls/{i}/transcript" for i in ids]
    return [f"/api/v1/library/search?q={q.replace(' ', '+')}" for q in QUERIES]


def split(clients: int) -> dict[str, int]:
    """Clients per kind: as even as possible."""
    return {kind: clients // 3 + (1 if i < clients % 3 else 0) for i, kind in enumerate(KINDS)}


async def uploads(base: str, tokens: list[str], team_id: int, count: int, first: int) -> list[tuple[float, int]]:
    """`count` uploads at once, 1 s after the start, each on its own connection."""
    await asyncio.sleep(1.0)

    async def one(i: int) -> tuple[float, int]:
        async with httpx.AsyncClient(base_url=base, timeout=120) as http:
            t = time.perf_counter()
            try:
                r = await http.post("/api/v1/calls", headers={"Authorization": f"Bearer {tokens[i % len(tokens)]}"},
                                    files={"file": (f"u{first + i}.txt", transcript(first + i))},
                                    data={"team": str(team_id), "sop_id": "b2b-discovery"})
                status = r.status_code
            except httpx.HTTPError:
                status = -1
            return time.perf_counter() - t, status

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def python_readers(base: str, tokens: list[str], ids: list[int], clients: int, seconds: float,
                         think: float) -> Results:
    results: Results = defaultdict(list)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as http:
        stop = time.monotonic() + seconds

        async def client(i: int, kind: str) -> None:
            urls, headers, n = paths(kind, ids), {"Authorization": f"Bearer {tokens[i % len(tokens)]}"}, i
            while time.monotonic() < stop:
                n += 1
                t = time.perf_counter()
                try:
                    status = (await http.get(urls[n % len(urls)], headers=headers)).status_code
                except httpx.HTTPError:
                    status = -1
                results[kind].append((time.perf_counter() - t, status))
                if think:
                    await asyncio.sleep(think * random.uniform(0.5, 1.5))

        kinds = [kind for kind, n in split(clients).items() for _ in range(n)]
        await asyncio.gather(*(client(i, kind) for i, kind in enumerate(kinds)))
    return results


WRK_SCRIPT = """
local paths, tokens, think, i, j = {}, {}, 0, 0, 0
function init(args)
  think = tonumber(args[1])
  for line in io.lines(args[2]) do tokens[#tokens + 1] = line end
  for line in io.lines(args[3]) do paths[#paths + 1] = line end
  math.randomseed(tonumber(args[4]))
  i, j = math.random(#paths), math.random(#tokens)
end
function request()
  i, j = i % #paths + 1, j % #tokens + 1
  return wrk.format("GET", paths[i], {Authorization = "Bearer " .. tokens[j]})
end
function delay()
  if think == 0 then return 0 end
  return math.floor(think * (0.5 + math.random()))
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests": %d, "us": %d, "p50": %d, "p95": %d, "p99": %d, "max": %d, ' ..
    '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}\\n', summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def wrk_readers(base: str, tokens: list[str], ids: list[int], clients: int, seconds: float, think: float,
                tmp: Path) -> list[tuple[str, subprocess.Popen[str]]]:
    """One wrk process per kind; each connection is one client (tokens rotate per request)."""
    script = tmp / "load.lua"
    script.write_text(WRK_SCRIPT)
    running = []
    for n, (kind, conns) in enumerate(split(clients).items()):
        token_file, path_file = tmp / f"tokens{n}.txt", tmp / f"paths{n}.txt"
        token_file.write_text("\n".join(tokens[n::3]) + "\n")
        path_file.write_text("\n".join(paths(kind, ids)) + "\n")
        argv = ["wrk", "-t1", f"-c{conns}", f"-d{int(seconds)}s", "--timeout", "120s", "-s", str(script), base,
                "--", str(int(think * 1000)), str(token_file), str(path_file), str(n + 1)]
        running.append((kind, subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)))
    return running


def wrk_results(running: list[tuple[str, subprocess.Popen[str]]]) -> dict[str, dict[str, int]]:
    out = {}
    for kind, proc in running:
        text, _ = proc.communicate()
        line = next((ln for ln in text.splitlines() if ln.startswith("WRKJSON ")), None)
        if line is None:
            raise SystemExit(f"wrk failed for {kind}:\n{text}")
        out[kind] = json.loads(line.removeprefix("WRKJSON "))
    return out


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


HEADER = f"{'request':<16}{'count':>7}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}{'errors':>8}"


def row(kind: str, lat_ms: list[float], seconds: float | None, errors: int) -> str:
    rate = f"{len(lat_ms) / seconds:>8.1f}" if seconds else f"{'-':>8}"
    return (f"{kind:<16}{len(lat_ms):>7}{rate}{pct(lat_ms, 50):>9.1f}{pct(lat_ms, 95):>9.1f}{pct(lat_ms, 99):>9.1f}"
            f"{max(lat_ms):>9.1f}{errors:>8}")


def report_python(results: Results, seconds: float) -> int:
    total = 0
    for kind in KINDS:
        rows = results.get(kind, [])
        if rows:
            errors = sum(1 for _, s in rows if s != 200)
            total += errors
            print(row(kind, [t * 1000 for t, _ in rows], seconds, errors))
    statuses: dict[int, int] = defaultdict(int)
    for rows in results.values():
        for _, status in rows:
            statuses[status] += 1
    print("read statuses: " + ", ".join(f"{k if k > 0 else 'connection error'}: {v}" for k, v in sorted(statuses.items())))
    return total


def report_wrk(results: dict[str, dict[str, int]]) -> int:
    total = 0
    for kind in KINDS:
        r = results[kind]
        errors = r["connect"] + r["read"] + r["write"] + r["status"] + r["timeout"]
        total += errors
        print(f"{kind:<16}{r['requests']:>7}{r['requests'] / (r['us'] / 1e6):>8.1f}{r['p50'] / 1000:>9.1f}"
              f"{r['p95'] / 1000:>9.1f}{r['p99'] / 1000:>9.1f}{r['max'] / 1000:>9.1f}{errors:>8}")
        if errors:
            print(f"  {kind}: connect {r['connect']}, read {r['read']}, write {r['write']}, "
                  f"non-2xx {r['status']}, timeout {r['timeout']}")
    return total


def report_uploads(rows: list[tuple[float, int]]) -> int:
    if not rows:
        return 0
    errors = sum(1 for _, s in rows if s != 202)
    print(row("upload", [t * 1000 for t, _ in rows], None, errors))
    statuses: dict[int, int] = defaultdict(int)
    for _, status in rows:
        statuses[status] += 1
    print("upload statuses: " + ", ".join(f"{k if k > 0 else 'connection error'}: {v}"
                                          for k, v in sorted(statuses.items())))
    return errors


def _jiffies(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


def cpu_by_group(server_pid: int, database: str) -> dict[str, int]:
    """CPU jiffies so far: the API processes, PostgreSQL's backends for our database, wrk, the machine."""
    reaped = os.times()  # wrk runs as this script's child: its time shows here once it has exited
    groups = {"api": 0, "postgres": 0, "bench": _jiffies(os.getpid()),
              "wrk": round((reaped.children_user + reaped.children_system) * os.sysconf("SC_CLK_TCK"))}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        pid = int(entry.name)
        ours = comm == "postgres" and database.encode() in _cmdline(pid)  # "postgres: 15/main: user db …"
        group = "api" if server_pid in (pid, ppid) else "postgres" if ours else None
        if group:
            groups[group] += _jiffies(pid)
    line = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    groups["machine"] = sum(int(v) for v in line) - int(line[3]) - int(line[4])  # minus idle, iowait
    return groups


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def cpu_line(before: dict[str, int], after: dict[str, int], seconds: float) -> str:
    """Cores used during the phase, per group (the machine includes other users of the box)."""
    tick = os.sysconf("SC_CLK_TCK")
    used = {k: (after[k] - before[k]) / tick / seconds for k in before}
    return (f"  cores busy: API processes {used['api']:.2f}, PostgreSQL (our database) {used['postgres']:.2f}, "
            f"wrk {used['wrk']:.2f}, this script (uploads{'' if used['wrk'] else ', reads'}) {used['bench']:.2f}, "
            f"whole machine {used['machine']:.2f} of {os.cpu_count()}")


def phase(stack: Stack, title: str, tokens: list[str], ids: list[int], team_id: int, *, clients: int,
          seconds: float, think: float, n_uploads: int, use_wrk: bool) -> int:
    """Run one load phase and print its table; returns the number of errors."""
    print(f"\n{title}\n  before: {loadavg()}")
    first = int(time.time() * 1000) % 10**9
    assert stack.server is not None
    cpu_before, started = cpu_by_group(stack.server.pid, stack.db), time.monotonic()
    if use_wrk:
        running = wrk_readers(stack.base, tokens, ids, clients, seconds, think, stack.tmp)
        up = asyncio.run(uploads(stack.base, tokens, team_id, n_uploads, first)) if n_uploads else []
        reads = wrk_results(running)
        print(f"  after:  {loadavg()}\n{cpu_line(cpu_before, cpu_by_group(stack.server.pid, stack.db), time.monotonic() - started)}"
              f"\n{HEADER}")
        errors = report_wrk(reads)
    else:
        async def both() -> tuple[Results, list[tuple[float, int]]]:
            up_task = asyncio.create_task(uploads(stack.base, tokens, team_id, n_uploads, first))
            reads = await python_readers(stack.base, tokens, ids, clients, seconds, think)
            return reads, await up_task

        results, up = asyncio.run(both())
        print(f"  after:  {loadavg()}\n{cpu_line(cpu_before, cpu_by_group(stack.server.pid, stack.db), time.monotonic() - started)}"
              f"\n{HEADER}")
        errors = report_python(results, seconds)
    return errors + report_uploads(up)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--uploads", type=int, default=50)
    parser.add_argument("--think", type=float, default=1.0, help="mean think time in s (0: no think time)")
    parser.add_argument("--no-saturation", action="store_true", help="skip the phase without think time")
    parser.add_argument("--calls", type=int, default=60, help="calls seeded before the load")
    parser.add_argument("--api-procs", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--embedder", default="hashing", help="TALKTRACK_EMBEDDER of the server")
    args = parser.parse_args()
    if not 3 <= args.clients <= 1000 or not 1 <= args.seconds <= 600 or not 0 <= args.uploads <= 500:
        raise SystemExit("keep it bounded: clients 3-1000, seconds 1-600, uploads 0-500")
    use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk") is not None)
    if args.client == "wrk" and shutil.which("wrk") is None:
        raise SystemExit("wrk is not on PATH: `apt-get install wrk`, or use --client python")
    from app.config import Settings

    server = Settings(_env_file=None, environment="test")  # type: ignore[call-arg]
    fast = [name for name in ("uvloop", "httptools") if importlib.util.find_spec(name)]
    per_kind = ", ".join(f"{n} {kind}" for kind, n in split(args.clients).items())
    print(f"machine: {machine()}; {loadavg()}")
    print(f"server: uvicorn x{args.api_procs} ({', '.join(fast) or 'asyncio + h11'}, keep-alive {KEEP_ALIVE_S} s) "
          "+ PostgreSQL + Redis on "
          f"loopback, TALKTRACK_ENVIRONMENT=production, DB pool {server.db_pool_size}+{server.db_max_overflow} per process, "
          f"embedder {args.embedder}; {args.calls} seeded calls")
    print(f"clients: {args.clients} closed loops ({per_kind}), one keep-alive connection and token each; "
          f"load generator: {'wrk (one process per kind)' if use_wrk else 'python asyncio httpx'}; "
          f"uploads: {args.uploads} at once, 1 s into each phase (httpx)")
    with Stack(args.api_procs, args.embedder) as stack:
        t = time.perf_counter()
        tokens, ids, team_id = seed(args.calls, args.clients)
        print(f"seeded {len(ids)} calls in {time.perf_counter() - t:.0f} s")
        stack.serve()
        # Not counted: each server process builds its search index and prepares statements.
        phase(stack, "warm-up (not counted)", tokens, ids, team_id, clients=24, seconds=5, think=0, n_uploads=0,
              use_wrk=use_wrk)
        probe = httpx.get(f"{stack.base}{paths('search', ids)[0]}", headers={"Authorization": f"Bearer {tokens[0]}"},
                          timeout=60).json()
        listed = httpx.get(f"{stack.base}/api/v1/calls", headers={"Authorization": f"Bearer {tokens[0]}"},
                           timeout=60).json()
        print(f"library: {probe['index']['documents']} documents in the search index, {len(probe['items'])} results "
              f"for {QUERIES[0]!r}; list calls returns {len(listed['items'])} of {listed['total']} calls a page; "
              f"{sum(c['status'] == 'ready' for c in listed['items'])} ready")
        errors = phase(stack, "baseline: 3 clients (one per kind), no think time, 5 s, no uploads", tokens, ids,
                       team_id, clients=3, seconds=5, think=0, n_uploads=0, use_wrk=use_wrk)
        errors += phase(stack, f"load: {args.clients} clients, think {args.think * 0.5:.2g}-{args.think * 1.5:.2g} s "
                        f"(mean {args.think:g} s), {args.seconds:.0f} s + {args.uploads} concurrent uploads",
                        tokens, ids, team_id, clients=args.clients, seconds=args.seconds, think=args.think,
                        n_uploads=args.uploads, use_wrk=use_wrk)
        if not args.no_saturation and args.think:
            errors += phase(stack, f"saturation: {args.clients} clients, no think time, {args.seconds:.0f} s "
                            f"+ {args.uploads} concurrent uploads", tokens, ids, team_id, clients=args.clients,
                            seconds=args.seconds, think=0, n_uploads=args.uploads, use_wrk=use_wrk)
        logged = stack.server_errors()
        print(f"\nerrors: {errors} answered, {len(logged)} logged by the server")
        for line in logged[:10]:
            print(f"  {line}")


if __name__ == "__main__":
    main()

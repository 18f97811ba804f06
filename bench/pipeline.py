"""Pipeline analytics at scale: funnel, conversion, forecast and velocity over 100,000 deals and
1,000,000 stage events, on SQLite and PostgreSQL, called exactly as /api/v1/pipeline/* calls them.

    .venv/bin/python bench/pipeline.py --db both
    .venv/bin/python bench/pipeline.py --db sqlite --deals 100000 --events 1000000 --repeat 5

The data goes straight into a fresh database with bulk inserts (SQLAlchemy Core executemany on
SQLite, COPY on PostgreSQL) using the real ORM tables and the shipped process
sop_definitions/project-sales-8-stage.zh.yaml stored through app.sop.service.save_sop. SQLite lives
in a temp dir; PostgreSQL gets `talktrack_bench_<random>` on 127.0.0.1:5432 (user postgres),
dropped at the end whatever happens. Prints median and best per analytic, the statements each one
ran and the indexes their plans use, the row counts, a full-scan baseline measured in the same run,
and the machine.

The per-deal stage summary (deal_stage_summary, whose stays velocity sums) and each deal's reach keys
(entered_stages / advanced_stages, which conversion groups by) are computed from the generated events
by app.deals.stage_summary, the code every write path runs, and bulk-loaded beside them.

A deal's history in the app is linear: created, at most one advance per stage, then won / lost /
invalid, so an 8-stage deal holds at most 9 events. Past that, the generator adds rework loops (sent
back one stage, then advanced again, as CRM histories show) until --events is reached.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import re
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PROCESS_FILE = REPO / "sop_definitions" / "project-sales-8-stage.zh.yaml"
TEAMS, REPS_PER_TEAM, ACCOUNTS = 50, 10, 20_000
ADVANCE_P = 0.8  # chance a deal goes on to the next stage (the funnel narrows 20 % per stage)
CHUNK = 20_000
PROCESS_ID = "project-sales-8-stage"


# ---------------------------------------------------------------- machine


def machine() -> str:
    cpu = platform.processor()
    if Path("/proc/cpuinfo").exists():
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), cpu)
    mem = ""
    if Path("/proc/meminfo").exists():
        mem = f", {int(Path('/proc/meminfo').read_text().split()[1]) / 1024**2:.1f} GiB RAM"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{platform.node()}: {os.cpu_count()} cores ({cpu}){mem}, load average {load}, "
            f"Python {platform.python_version()}")


# ---------------------------------------------------------------- data


@dataclass(frozen=True)
class Data:
    users: list[dict[str, Any]]
    memberships: list[dict[str, Any]]
    accounts: list[dict[str, Any]]
    deals: list[dict[str, Any]]
    events: list[dict[str, Any]]


def generate(*, n_deals: int, n_events: int, stages: list[Any], now: datetime, seed: int = 7) -> Data:
    """Deals spread over two years with a narrowing funnel; histories padded with rework to n_events."""
    rng = random.Random(seed)
    created = now - timedelta(days=800)
    users = [{"id": 1, "email": "admin@bench.test", "name": "Admin", "role": "admin", "is_active": True,
              "created_at": created, "updated_at": created}]
    memberships: list[dict[str, Any]] = []
    reps: list[tuple[int, int]] = []  # (rep id, team id)
    for team in range(1, TEAMS + 1):
        manager = len(users) + 1
        users.append({"id": manager, "email": f"m{team}@bench.test", "name": f"Manager {team}", "role": "manager",
                      "is_active": True, "created_at": created, "updated_at": created})
        memberships.append({"user_id": manager, "team_id": team, "relation": "manager"})
        for _ in range(REPS_PER_TEAM):
            rep = len(users) + 1
            users.append({"id": rep, "email": f"r{rep}@bench.test", "name": f"Rep {rep}", "role": "rep",
                          "is_active": True, "created_at": created, "updated_at": created})
            memberships.append({"user_id": rep, "team_id": team, "relation": "member"})
            reps.append((rep, team))
    accounts = [{"id": i, "name": f"Account {i}", "team_id": 1 + i % TEAMS, "industry": "", "address": "",
                     "created_at": created, "updated_at": created} for i in range(1, ACCOUNTS + 1)]
    paths = []
    for _ in range(n_deals):
        reach = 0
        while reach < len(stages) - 1 and rng.random() < ADVANCE_P:
            reach += 1
        if reach == len(stages) - 1:
            status = rng.choices(["won", "open", "lost"], [0.6, 0.25, 0.15])[0]
        else:
            status = rng.choices(["open", "lost", "invalid"], [0.45, 0.45, 0.10])[0]
        paths.append(([*range(reach + 1)], status))
    linear = sum(len(p) + (s != "open") for p, s in paths)
    movable = [i for i, (p, _s) in enumerate(paths) if len(p) > 1]
    for _ in range(max(0, n_events - linear) // 2 if movable else 0):
        path = paths[rng.choice(movable)][0]
        j = rng.randrange(1, len(path))
        while path[j] == 0:  # only a stage after the first can send a deal back
            j = rng.randrange(1, len(path))
        path[j + 1:j + 1] = [path[j] - 1, path[j]]  # sent back one stage, then advanced again
    deals, events = [], []
    for deal_id, (path, status) in enumerate(paths, start=1):
        rep, team = reps[deal_id % len(reps)]
        stays = [timedelta(days=rng.uniform(0.2, 2 * (stages[s].expected_days or 14))) for s in path]
        closes = status != "open"
        span = sum(stays[: len(path) if closes else -1], timedelta())
        at = now - span - timedelta(days=rng.uniform(0, max(1.0, 730 - span.days)))
        opened = at
        events.append(_event(deal_id, "created", None, stages[0].id, rep, at))
        for prev, cur, stay in zip(path, path[1:], stays):
            at += stay
            events.append(_event(deal_id, "advanced", stages[prev].id, stages[cur].id, rep, at))
        entered = at
        closed_at = None
        if closes:
            closed_at = at + stays[-1]
            events.append(_event(deal_id, status, stages[path[-1]].id, None, rep, closed_at))
        close_day = (closed_at or now + timedelta(days=rng.uniform(-30, 365))).date()
        deals.append({
            "id": deal_id, "external_ref": f"B-{deal_id}", "name": f"Deal {deal_id}", "account_id": 1 + deal_id % ACCOUNTS,
            "owner_id": rep, "team_id": team, "process_id": PROCESS_ID, "process_version": 1, "stage_id": stages[path[-1]].id,
            "stage_entered_at": entered, "amount_minor": rng.randrange(10_000, 2_000_000) * 100,
            "currency": "CNY" if rng.random() < 0.95 else "USD", "expected_close_date": close_day, "status": status,
            "close_reason": "bench" if closes else None, "closed_at": closed_at, "source": "other", "opened_at": opened,
            "feedback": {}, "need_confirmed": False, "budget_confirmed": False, "signer_confirmed": False, "effective_at": None,
            "existing_account": deal_id % 5 == 0, "last_activity_at": closed_at or entered,
            "created_at": opened, "updated_at": closed_at or entered})
    return Data(users, memberships, accounts, deals, events)


def _event(deal_id: int, kind: str, from_stage: str | None, to_stage: str | None, by: int,
           at: datetime) -> dict[str, Any]:
    return {"deal_id": deal_id, "kind": kind, "from_stage": from_stage, "to_stage": to_stage, "by_id": by,
            "at": at, "reason": ""}


# ---------------------------------------------------------------- databases


class Database:
    """A throwaway database: SQLite in a temp dir or a fresh PostgreSQL database, removed on exit."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.tmp = Path(tempfile.mkdtemp(prefix="talktrack-bench-pipeline-"))
        self.name = f"talktrack_bench_{secrets.token_hex(4)}"
        self.url = (f"sqlite:///{(self.tmp / 'bench.db').as_posix()}" if kind == "sqlite" else PG_SERVER + self.name)

    def __enter__(self) -> Database:  # noqa: PYI034
        if self.kind == "postgresql":
            import psycopg

            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.name}"')
        return self

    def __exit__(self, *exc: object) -> None:
        from app.db import get_engine

        get_engine(self.url).dispose()
        if self.kind == "postgresql":
            import psycopg

            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        shutil.rmtree(self.tmp, ignore_errors=True)

    def version(self) -> str:
        from sqlalchemy import text

        from app.db import get_engine

        with get_engine(self.url).connect() as conn:
            if self.kind == "sqlite":
                return "SQLite " + str(conn.execute(text("select sqlite_version()")).scalar())
            return str(conn.execute(text("select version()")).scalar()).split(" on ")[0]


def load(db: Database, data: Data) -> None:
    """Schema from the ORM models, the shipped process via save_sop, then bulk rows."""
    from sqlalchemy import insert

    import app.model_registry  # noqa: F401
    from app.db import Base, get_engine, session_scope
    from app.deals.models import Deal, DealStageEvent, DealStageSummary
    from app.sop import service as sop_service
    from app.users.models import Team, TeamMembership, User

    engine = get_engine(db.url)
    Base.metadata.create_all(engine)
    with session_scope(db.url) as session:
        sop_service.save_sop(session=session, text=PROCESS_FILE.read_text(encoding="utf-8"), source=PROCESS_FILE.name)
    from app.deals.models import Account

    now = data.users[0]["created_at"]
    small = [(Team, [{"id": t, "name": f"Team {t}", "default_sops": {}, "redaction": {}, "created_at": now, "updated_at": now}
                     for t in range(1, TEAMS + 1)]),
             (User, data.users), (TeamMembership, data.memberships), (Account, data.accounts)]
    with engine.begin() as conn:
        for model, rows in small:
            conn.execute(insert(model), rows)
    summary = summary_rows(data.events, data.deals)
    if db.kind == "postgresql":
        _copy(engine, "deal", data.deals)
        _copy(engine, "deal_stage_event", data.events)
        _copy(engine, "deal_stage_summary", summary)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            from sqlalchemy import text

            # Sequences after explicit ids; statistics and the visibility map as autovacuum would leave them.
            for table in ("deal", "deal_stage_event", "account", "user_account", "team"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT coalesce(max(id), 1) FROM {table}))"))
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            for model, rows in ((Deal, data.deals), (DealStageEvent, data.events), (DealStageSummary, summary)):
                for start in range(0, len(rows), CHUNK):
                    conn.execute(insert(model), rows[start:start + CHUNK])
        with engine.begin() as conn:
            from sqlalchemy import text

            conn.execute(text("ANALYZE"))


def summary_rows(events: list[dict[str, Any]], deals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Number the events as the database would, then the per-deal stage summary and the deals' reach
    keys that the app keeps in step with them (app.deals.stage_summary, the code every write path runs)."""
    from itertools import groupby

    from app.deals.stage_summary import HistoryEvent, reach_keys, summarize

    for number, event in enumerate(events, start=1):
        event["id"] = number
    by_id = {deal["id"]: deal for deal in deals}
    rows: list[dict[str, Any]] = []
    for deal_id, group in groupby(events, key=lambda e: e["deal_id"]):
        mine = summarize(deal_id, [HistoryEvent(e["id"], e["kind"], e["from_stage"], e["to_stage"], e["at"])
                                   for e in group])
        by_id[deal_id]["entered_stages"], by_id[deal_id]["advanced_stages"] = reach_keys(mine)
        rows += mine
    return rows


def _copy(engine: Any, table: str, rows: list[dict[str, Any]]) -> None:
    columns = list(rows[0])
    raw = engine.raw_connection()
    try:
        with raw.driver_connection.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([json.dumps(v) if isinstance(v, dict) else v for v in row.values()])
        raw.driver_connection.commit()
    finally:
        raw.close()


# ---------------------------------------------------------------- timing


@dataclass(frozen=True)
class Timing:
    name: str
    median_ms: float
    best_ms: float
    statements: int
    indexes: list[str]
    summary: str


def api_call(name: str, url: str, user_id: int, params: dict[str, Any]) -> Callable[[], Any]:
    """One request's work: a fresh session, the router's make_scope, the analytic, then plain()."""
    from app.db import get_sessionmaker
    from app.deals import analytics
    from app.deals.render import plain
    from app.users.models import User

    def run() -> Any:
        session = get_sessionmaker(url)()
        try:
            user = session.get(User, user_id)
            assert user is not None
            scope = analytics.make_scope(session=session, user=user, **params)
            return plain(getattr(analytics, name)(session=session, user=user, scope=scope))
        finally:
            session.close()

    return run


def capture(url: str, run: Callable[[], Any]) -> tuple[Any, list[tuple[str, Any]]]:
    from sqlalchemy import event

    from app.db import get_engine

    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        statements.append((statement, parameters))

    engine = get_engine(url)
    event.listen(engine, "before_cursor_execute", record)
    try:
        result = run()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return result, statements


INDEX_RE = re.compile(r"(?:USING (?:COVERING )?INDEX|Index (?:Only )?Scan(?: Backward)? using|Bitmap Index Scan on) (\w+)")


def plan_indexes(url: str, statements: list[tuple[str, Any]]) -> list[str]:
    """Index names the plans of the statements use (EXPLAIN / EXPLAIN QUERY PLAN)."""
    from app.db import get_engine

    found: list[str] = []
    raw = get_engine(url).raw_connection()
    try:
        cur = raw.cursor()
        prefix = "EXPLAIN QUERY PLAN " if url.startswith("sqlite") else "EXPLAIN "
        for statement, params in statements:
            if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            cur.execute(prefix + statement, params)
            text = "\n".join(" ".join(str(c) for c in row) for row in cur.fetchall())
            found += [name for name in INDEX_RE.findall(text) if name not in found]
        cur.close()
    finally:
        raw.close()
    return found


def measure(name: str, url: str, run: Callable[[], Any], repeat: int, summarize: Callable[[Any], str]) -> Timing:
    result, statements = capture(url, run)  # the first call also warms caches
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    # The digest of the whole answer shows whether two runs (two implementations) agree to the last digit.
    digest = hashlib.sha256(json.dumps(result, sort_keys=True).encode()).hexdigest()[:12]
    return Timing(name, statistics.median(times), min(times), len(statements), plan_indexes(url, statements),
                  f"{summarize(result)}; answer sha256 {digest}")


def summaries() -> dict[str, Callable[[Any], str]]:
    return {
        "funnel": lambda r: "deals per stage " + "/".join(str(s["deals"]) for s in r["stages"]),
        "conversion": lambda r: "entered " + "/".join(str(t["entered"]) for t in r["transitions"])
        + f"; weakest {r['weakest']}",
        "forecast": lambda r: "; ".join(f"{t['currency']} weighted {t['weighted']}" for t in r["totals"])
        + f"; lines {len(r['lines'])}",
        "velocity": lambda r: "dwell " + "/".join(str(s["average_dwell_days"]) for s in r["stages"])
        + f"; cycle {r['average_cycle_days']} d over {r['cycle_sample']}",
    }


def baseline(url: str) -> float:
    """A full scan of the event table joined to deals: the floor for anything that reads all history."""
    from sqlalchemy import text

    from app.db import get_engine

    times = []
    with get_engine(url).connect() as conn:
        for _ in range(3):
            start = time.perf_counter()
            conn.execute(text("SELECT count(*) FROM deal_stage_event e JOIN deal d ON d.id = e.deal_id")).scalar()
            times.append((time.perf_counter() - start) * 1000)
    return min(times)


def row_counts(url: str) -> dict[str, int]:
    from sqlalchemy import text

    from app.db import get_engine

    with get_engine(url).connect() as conn:
        return {t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() or 0)
                for t in ("deal", "deal_stage_event", "deal_stage_summary", "account", "user_account")}


def table_indexes(url: str) -> list[str]:
    from sqlalchemy import inspect

    from app.db import get_engine

    inspector = inspect(get_engine(url))
    return [f"{t}.{ix['name']}({', '.join(c for c in ix['column_names'] if c)})"
            for t in ("deal", "deal_stage_event", "deal_stage_summary") for ix in inspector.get_indexes(t)]


# ---------------------------------------------------------------- main


def quarter(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def bench(kind: str, args: argparse.Namespace, stages: list[Any], now: datetime) -> None:
    print(f"\n=== {kind}: {args.deals:,} deals, {args.events:,} events requested ===", flush=True)
    start = time.perf_counter()
    data = generate(n_deals=args.deals, n_events=args.events, stages=stages, now=now)
    generated = time.perf_counter() - start
    with Database(kind) as db:
        load(db, data)
        del data
        print(f"{db.version()}; generated in {generated:.1f} s, loaded in {time.perf_counter() - start - generated:.1f} s",
              flush=True)
        print("rows: " + ", ".join(f"{t} {n:,}" for t, n in row_counts(db.url).items()))
        print("indexes: " + "; ".join(table_indexes(db.url)))
        print(f"baseline (count of events joined to deals, best of 3): {baseline(db.url):.1f} ms")
        period = quarter(now.date())
        calls = {
            "funnel": {"process_id": PROCESS_ID, "period": period},
            "conversion": {"process_id": PROCESS_ID},
            "forecast": {"process_id": PROCESS_ID, "period": period},
            "velocity": {"process_id": PROCESS_ID},
        }
        team_user = 2  # manager of team 1: the same calls scoped to one team of 50
        print(f"{'analytic':<11}{'scope':<22}{'median ms':>10}{'best ms':>9}{'stmts':>6}  indexes in the plans / result")
        for name in args.only or list(calls):
            for label, user_id, extra in (("admin, all teams", 1, {}), ("manager, team 1", team_user, {"team_id": 1})):
                params = {**calls[name], **extra}
                t = measure(name, db.url, api_call(name, db.url, user_id, params), args.repeat, summaries()[name])
                flag = "" if kind != "postgresql" or t.median_ms < 300 else "  ** over 300 ms"
                print(f"{name:<11}{label:<22}{t.median_ms:>10.1f}{t.best_ms:>9.1f}{t.statements:>6}  "
                      f"{', '.join(t.indexes) or '(none)'}{flag}\n{'':<33}{t.summary}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=5, help="timed calls per analytic and scope (after one warm-up)")
    parser.add_argument("--only", nargs="*", choices=["funnel", "conversion", "forecast", "velocity"])
    args = parser.parse_args()
    if args.deals < 1 or args.events < args.deals:
        parser.error("--deals must be ≥ 1 and --events ≥ --deals (every deal has its created event)")
    tmp_var = tempfile.mkdtemp(prefix="talktrack-bench-var-")
    os.environ.setdefault("TALKTRACK_VAR_DIR", tmp_var)
    from app.sop.service import load_sop

    stages = list(load_sop(PROCESS_FILE.read_text(encoding="utf-8"), source=PROCESS_FILE.name).stages)
    # Midnight today: two runs on the same day (two implementations) get the very same rows.
    now = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    print(machine())
    for kind in (["sqlite", "postgresql"] if args.db == "both" else [args.db]):
        bench(kind, args, stages, now)
    print(f"\nload average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    shutil.rmtree(tmp_var, ignore_errors=True)


if __name__ == "__main__":
    main()

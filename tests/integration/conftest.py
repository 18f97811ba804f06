"""Real PostgreSQL and Redis for the production-reliability tests.

A fresh database `talktrack_it_<random>` is created for the run and dropped after it. Each test
that needs a broker gets its own `redis-server` on a free loopback port, so stopping it (broker
down) or flushing it never touches the shared instance on 6379 that other suites use.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PG_ADMIN_URL = os.environ.get("TALKTRACK_IT_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
WORKER = [sys.executable, str(Path(__file__).with_name("worker_main.py"))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], object], timeout: float, what: str, interval: float = 0.2) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@dataclass
class Redis:
    port: int
    dir: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        subprocess.run(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                        "--appendonly", "no", "--daemonize", "yes", "--dir", str(self.dir),
                        "--pidfile", str(self.dir / "redis.pid"), "--logfile", str(self.dir / "redis.log")],
                       check=True, capture_output=True)
        wait_for(self.ping, 10, f"redis on {self.port}")

    def ping(self) -> bool:
        return subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True,
                              text=True, check=False).stdout.strip() == "PONG"

    def stop(self) -> None:
        subprocess.run(["redis-cli", "-p", str(self.port), "shutdown", "nosave"], capture_output=True, check=False)
        wait_for(lambda: not self.ping(), 10, f"redis on {self.port} to stop")


@dataclass
class Stack:
    """Environment shared by this process (services, assertions) and the subprocesses it starts."""

    database_url: str
    var: Path
    env: dict[str, str]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def spawn(self, argv: list[str], log: str, **extra: str) -> subprocess.Popen[bytes]:
        handle = open(self.var / log, "ab")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(argv, cwd=REPO, env={**self.env, **extra}, stdout=handle,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(process)
        return process

    def worker(self, log: str = "worker.log", **extra: str) -> subprocess.Popen[bytes]:
        return self.spawn(WORKER, log, **extra)

    @staticmethod
    def kill(process: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
        if process.poll() is None:
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)

    def stop_all(self) -> None:
        for process in self.processes:
            self.kill(process, signal.SIGTERM)


def create_tables(url: str) -> None:
    """Every table of the application, in the database at `url`."""
    from sqlalchemy import create_engine

    import app.model_registry  # noqa: F401
    from app.db import Base

    engine = create_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database with every table, dropped at the end of the run."""
    import psycopg

    name = f"talktrack_it_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
    create_tables(url)
    yield url
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[Redis]:
    """A private redis-server on a free port, started for this test."""
    folder = tmp_path / "redis"
    folder.mkdir()
    server = Redis(port=free_port(), dir=folder)
    server.start()
    yield server
    if server.ping():
        server.stop()


def _stack(database_url: str, redis: Redis, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    var = tmp_path / "var"
    var.mkdir()
    env = {
        "TALKTRACK_ENVIRONMENT": "test", "TALKTRACK_DATABASE_URL": database_url, "TALKTRACK_BROKER_URL": redis.url,
        "TALKTRACK_VAR_DIR": str(var), "TALKTRACK_EMBEDDER": "hashing", "TALKTRACK_OUTBOX_RELAY_INTERVAL_S": "0.5",
        "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    full = {**os.environ, **env}
    from tests.conftest import _reset_caches

    _reset_caches()
    from app import jobs

    jobs.set_dispatcher(None)  # the real Celery client, as in production
    monkeypatch.setattr(jobs, "_celery_client", None)
    built = Stack(database_url=database_url, var=var, env=full)
    yield built
    built.stop_all()
    _reset_caches()
    monkeypatch.setattr(jobs, "_celery_client", None)
    shutil.rmtree(var / "media", ignore_errors=True)


@pytest.fixture
def stack(pg_database: str, redis: Redis, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """This process and its children configured for PostgreSQL + Redis (the production shape)."""
    yield from _stack(pg_database, redis, tmp_path, monkeypatch)


@dataclass
class Postgres:
    """A PostgreSQL server of our own (initdb in a temporary folder, a free loopback port): the
    machine's shared one cannot be restarted under other suites' feet, this one can."""

    folder: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *argv: str) -> None:
        # PostgreSQL refuses to run as root: as root, run its tools as the postgres user.
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        result = subprocess.run([*prefix, *argv], capture_output=True, text=True, check=False, timeout=120)
        assert result.returncode == 0, f"{argv[0]} failed: {result.stdout}{result.stderr}"

    def init(self) -> None:
        self.folder.mkdir(mode=0o700)
        self.folder.parent.chmod(0o755)  # the postgres user must reach the cluster inside
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run(_pg_bin("initdb"), "-D", str(self.folder / "data"), "-U", "postgres", "-A", "trust",
                  "--no-sync", "-E", "UTF8")

    def pg_ctl(self, action: str) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} -c fsync=off"
        self._run(_pg_bin("pg_ctl"), "-D", str(self.folder / "data"), "-l", str(self.folder / "server.log"),
                  "-o", options, "-m", "fast", "-w", "-t", "60", action)


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)), None)
    assert found, f"{name} not found: install PostgreSQL's server package (Debian: postgresql)"
    return str(found)


@pytest.fixture
def private_postgres() -> Iterator[Postgres]:
    """A started PostgreSQL of our own with every table; stopped and removed after the test."""
    # Not under pytest's tmp_path: that is private to this user, and the server may run as postgres.
    server = Postgres(folder=Path(tempfile.mkdtemp(prefix="talktrack-pg-")) / "cluster", port=free_port())
    server.init()
    server.pg_ctl("start")
    try:
        create_tables(server.url)
        yield server
    finally:
        server.pg_ctl("stop")
        shutil.rmtree(server.folder.parent, ignore_errors=True)


@pytest.fixture
def private_stack(private_postgres: Postgres, redis: Redis, tmp_path: Path,
                  monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Stack, Postgres]]:
    """The production shape on a PostgreSQL this test may restart."""
    yield from ((built, private_postgres) for built in _stack(private_postgres.url, redis, tmp_path, monkeypatch))

"""Shared fixtures: a fresh migrated SQLite database per test, in-process jobs, API clients."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("TALKTRACK_ENVIRONMENT", "test")
os.environ.setdefault("TALKTRACK_MODEL_CACHE_DIR", str(REPO / "var" / "models"))
os.environ.setdefault("NUMBA_CACHE_DIR", str(REPO / "var" / "numba"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _reset_caches() -> None:
    from app.config import get_settings
    from app.db import get_engine, get_sessionmaker

    for engine_url in _engines:
        get_engine(engine_url).dispose()
    _engines.clear()
    get_settings.cache_clear()
    get_engine.cache_clear()
    get_sessionmaker.cache_clear()
    from app.users import token_cache

    token_cache.clear()
    # The ML side reads TALKTRACK_* too: a test that switched the embedder must not leak it.
    from models.config import get_model_settings

    get_model_settings.cache_clear()


_engines: list[str] = []


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty database with every table, built once and copied for each test.

    Built from the ORM metadata so that every domain's tables exist; tests/test_migrations.py
    proves the Alembic migrations produce the same schema.
    """
    import app.model_registry  # noqa: F401
    from app.db import Base, get_engine

    path = tmp_path_factory.mktemp("template") / "talktrack.db"
    engine = get_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    engine.dispose()
    get_engine.cache_clear()
    return path


@pytest.fixture
def env(tmp_path: Path, template_db: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Isolated var dir + database for one test; jobs run in-process after commit."""
    var = tmp_path / "var"
    var.mkdir()
    shutil.copyfile(template_db, var / "talktrack.db")
    monkeypatch.setenv("TALKTRACK_VAR_DIR", str(var))
    monkeypatch.setenv("TALKTRACK_DATABASE_URL", f"sqlite:///{var / 'talktrack.db'}")
    monkeypatch.setenv("TALKTRACK_EMBEDDER", os.environ.get("TALKTRACK_TEST_EMBEDDER", "hashing"))
    _reset_caches()
    _engines.append(f"sqlite:///{var / 'talktrack.db'}")
    from models.config import get_model_settings

    get_model_settings.cache_clear()
    from app import jobs
    from workers.celery_app import run_inline

    jobs.set_dispatcher(run_inline)
    yield var
    jobs.set_dispatcher(None)
    _reset_caches()
    get_model_settings.cache_clear()


@pytest.fixture
def session(env: Path):  # type: ignore[no-untyped-def]
    from app.db import get_sessionmaker

    with get_sessionmaker()() as s:
        yield s


@pytest.fixture
def client(env: Path):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from app.main import create_app

    with TestClient(create_app()) as c:
        yield c

"""The Alembic migrations build exactly the schema the ORM models describe."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

import app.model_registry  # noqa: F401
from app.db import Base
from app.migrations_runner import upgrade_to_head


def test_migrations_match_the_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade_to_head(url)
    engine = create_engine(url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == [], f"models and migrations differ; generate a migration: {diff}"


def test_importing_the_web_app_loads_no_ml_library() -> None:
    import subprocess
    import sys

    code = (
        "import sys, app.main; app.main.create_app(); "
        "heavy = [m for m in ('torch', 'ctranslate2', 'sentence_transformers', 'faster_whisper') if m in sys.modules]; "
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parent.parent)
    assert result.returncode == 0, result.stdout + result.stderr

"""Pre-release only: regenerate the single initial migration from the ORM models."""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command

from app.migrations_runner import MIGRATIONS, alembic_config

REV = "20261125_0001"

for old in (MIGRATIONS / "versions").glob(f"{REV}_*.py"):
    old.unlink()
with tempfile.TemporaryDirectory() as tmp:
    command.revision(alembic_config(f"sqlite:///{Path(tmp) / 'm.db'}"), message="initial schema",
                     autogenerate=True, rev_id=REV)
for new in (MIGRATIONS / "versions").glob(f"{REV}_*.py"):
    new.rename(new.with_name(f"{REV}_initial_schema.py"))
print("regenerated", REV)

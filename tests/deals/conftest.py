"""Fixtures of the deals tests: the five-stage test process (10/40/60/80/90 %) and the shipped ones."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "deals"
FIVE = "five-stage-test"
T0 = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)  # a Monday


@pytest.fixture
def process(env: Path) -> str:
    """The five-stage test process stored as a SOP version."""
    from app.db import session_scope
    from app.sop import service as sop_service

    with session_scope() as session:
        text = (FIXTURES / "five-stage.en.yaml").read_text(encoding="utf-8")
        sop_service.save_sop(session=session, text=text, source="five-stage.en.yaml")
    return FIVE

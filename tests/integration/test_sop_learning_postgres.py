"""The SOP learning state on real PostgreSQL: concurrent review changes are all counted (the row is
created once and locked), and the periodic check queues a waiting re-match exactly once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest


@pytest.fixture
def pg_env(pg_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, dict]]]:
    """This process on the PostgreSQL test database; jobs are recorded, not sent."""
    from tests.conftest import _reset_caches

    monkeypatch.setenv("TALKTRACK_DATABASE_URL", pg_database)
    monkeypatch.setenv("TALKTRACK_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("TALKTRACK_SOP_REVIEW_REMATCH_AFTER", "3")
    _reset_caches()
    from app import jobs

    sent: list[tuple[str, dict]] = []
    jobs.set_dispatcher(lambda name, kwargs: sent.append((name, kwargs)))
    yield sent
    jobs.set_dispatcher(None)
    _reset_caches()


def test_concurrent_review_changes_are_all_counted_and_queue_one_rematch(pg_env: list[tuple[str, dict]]) -> None:
    from app.db import session_scope
    from app.sop import learning
    from app.sop.models import SopLearning

    sop_id = "pg-learning-race"
    start = threading.Barrier(6)
    results: list[bool] = []
    errors: list[BaseException] = []

    def change() -> None:
        try:
            start.wait()
            with session_scope() as session:
                results.append(learning.record_review_change(session=session, sop_id=sop_id))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=change) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    # Six changes at a threshold of 3: the third queues the re-match (and restarts the count); the
    # sixth finds the last re-match younger than the interval, so it waits.
    assert sorted(results) == [False] * 5 + [True]
    assert [name for name, kwargs in pg_env if kwargs == {"sop_id": sop_id}] == ["sop.rematch_all"]
    with session_scope() as session:
        row = session.get(SopLearning, sop_id)
        assert row is not None and row.review_changes == 3
        row.rematched_at = row.rematched_at - timedelta(hours=7)
    # The periodic check picks up what waited, once.
    assert learning.relearn_due() == [sop_id]
    assert learning.relearn_due() == []
    assert [name for name, kwargs in pg_env if kwargs == {"sop_id": sop_id}] == ["sop.rematch_all"] * 2

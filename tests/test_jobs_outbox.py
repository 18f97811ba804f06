"""The job outbox and the library index act on a transaction's changes only after it commits."""

from __future__ import annotations

from pathlib import Path

from app import jobs
from app.db import session_scope


def test_a_savepoint_neither_sends_nor_forgets_the_outer_transactions_jobs(env: Path) -> None:
    sent: list[tuple[str, dict]] = []
    jobs.set_dispatcher(lambda name, kwargs: sent.append((name, kwargs)))
    with session_scope() as session:
        jobs.enqueue(session, "library.update", call_id=1)
        with session.begin_nested():
            jobs.enqueue(session, "library.update", call_id=2)
        assert sent == []  # a released SAVEPOINT is not a commit: nothing is visible to a worker yet
        try:
            with session.begin_nested():
                jobs.enqueue(session, "library.update", call_id=3)
                raise ValueError("this savepoint rolls back")
        except ValueError:
            pass
        assert sent == []
    # The outer commit sends the jobs that exist: the rolled-back savepoint's job has no row.
    assert sent == [("library.update", {"call_id": 1}), ("library.update", {"call_id": 2})]


def test_a_rolled_back_transaction_sends_nothing(env: Path) -> None:
    sent: list[tuple[str, dict]] = []
    jobs.set_dispatcher(lambda name, kwargs: sent.append((name, kwargs)))
    try:
        with session_scope() as session:
            jobs.enqueue(session, "library.update", call_id=1)
            raise RuntimeError("the request failed")
    except RuntimeError:
        pass
    with session_scope() as session:
        jobs.enqueue(session, "library.update", call_id=2)
    assert sent == [("library.update", {"call_id": 2})]


def test_index_changes_wait_for_the_outer_commit_too(env: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from app.library import search

    applied: list[tuple[set, set]] = []
    monkeypatch.setattr(search, "apply_changes", lambda upserts, removals: applied.append((upserts, removals)))
    with session_scope() as session:
        search.mark_upsert(session, search.SNIPPET, 1)
        with session.begin_nested():
            search.mark_upsert(session, search.SNIPPET, 2)
        assert applied == []
        try:
            with session.begin_nested():
                raise ValueError("this savepoint rolls back")
        except ValueError:
            pass
    assert applied == [({search.encode(search.SNIPPET, 1), search.encode(search.SNIPPET, 2)}, set())]

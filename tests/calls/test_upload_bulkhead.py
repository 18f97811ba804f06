"""Uploads take a slot of their own (app/deps._upload_slot) before a database slot: a burst of
uploads waits there, at most `upload_concurrency` at a time, and every one of them is accepted."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app import jobs
from app.calls import service as calls_service
from app.config import get_settings
from app.main import create_app
from app.users.models import Role
from tests.factories import make_team, make_user
from tests.security.helpers import transcript


def _burst(monkeypatch: pytest.MonkeyPatch, concurrency: int, uploads: int, hold_s: float) -> tuple[int, list[int]]:
    """Send `uploads` uploads at once; return the most that were inside accept_upload together.
    Each stays inside until all `uploads` are in, or for at most `hold_s`."""
    monkeypatch.setenv("TALKTRACK_UPLOAD_CONCURRENCY", str(concurrency))
    get_settings.cache_clear()
    real_accept = calls_service.accept_upload
    changed, inside, most = threading.Condition(), [0], [0]

    def accept(**kwargs: Any) -> Any:
        with changed:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
            changed.notify_all()
            changed.wait_for(lambda: inside[0] == uploads, timeout=hold_s)
        try:
            return real_accept(**kwargs)
        finally:
            with changed:
                inside[0] -= 1

    monkeypatch.setattr(calls_service, "accept_upload", accept)
    jobs.set_dispatcher(lambda _task, _payload: None)  # accepting is what is measured, not processing
    rep = make_user(Role.rep, team_id=make_team())
    with TestClient(create_app()) as client, ThreadPoolExecutor(uploads) as pool:
        responses = list(pool.map(
            lambda i: client.post("/api/v1/calls", headers=rep.headers, files={"file": (f"c{i}.txt", transcript())}),
            range(uploads),
        ))
    return most[0], [r.status_code for r in responses]


def test_a_burst_of_uploads_holds_at_most_the_bulkhead_and_all_are_accepted(
    env: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    most, statuses = _burst(monkeypatch, concurrency=1, uploads=4, hold_s=0.3)
    assert statuses == [202] * 4
    assert most == 1


def test_the_bulkhead_admits_as_many_uploads_as_configured(env: object, monkeypatch: pytest.MonkeyPatch) -> None:
    # The control: with room for three, three do run at once (the check above could not fail if
    # uploads were serialised by something else). Each waits inside until all three are in.
    most, statuses = _burst(monkeypatch, concurrency=3, uploads=3, hold_s=30.0)
    assert statuses == [202] * 3
    assert most == 3

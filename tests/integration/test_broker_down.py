"""The broker down when a call is uploaded: accepted and stored, processed once the broker is back."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from app.calls import storage
from app.jobs import Job, JobStatus
from app.users.models import Role
from tests.factories import make_team
from tests.integration.conftest import Redis, Stack
from tests.integration.helpers import PLAIN, call_row, jobs_by_task, wait_for, wait_ready
from tests.security.helpers import person

pytestmark = pytest.mark.integration


def test_upload_while_broker_down_is_kept_and_processed_when_it_returns(stack: Stack, redis: Redis) -> None:
    from app.db import session_scope
    from app.main import create_app

    redis.stop()
    rep = person(Role.rep, team_id=make_team("Outage"))
    started = time.monotonic()
    with TestClient(create_app()) as client:
        response = client.post("/api/v1/calls", headers=rep.headers,
                               files={"file": ("c.txt", (PLAIN + "Rep: broker outage\n").encode())})
    seconds = time.monotonic() - started
    assert response.status_code == 202, response.text
    call_id = response.json()["id"]
    call = call_row(call_id)
    assert call.status == "queued" and storage.absolute(call.media_path).exists()
    with session_scope() as session:
        job = session.query(Job).filter(Job.task_name == "transcript.parse").order_by(Job.id.desc()).first()
        assert job is not None and job.status == JobStatus.pending and job.last_error
    assert seconds < 30, f"upload took {seconds:.1f} s with the broker down"

    redis.start()
    stack.worker("worker.log")  # its outbox relay sends what is pending
    call = wait_ready(call_id, 50)
    assert call.status == "ready", call.error
    jobs = jobs_by_task(call_id)
    assert set(jobs.values()) == {1}, jobs

    def all_sent() -> bool:  # the last stage's jobs are sent just after the call turns ready
        with session_scope() as session:
            return session.query(Job).filter(Job.status != JobStatus.sent).count() == 0

    wait_for(all_sent, 20, "every job to be sent")

"""A worker SIGKILLed in the middle of a stage: after a restart the call completes exactly once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.transcripts.models import UtteranceEmbedding, UtteranceRow
from app.users.models import Role
from tests.factories import make_team
from tests.integration.conftest import Stack, wait_for
from tests.integration.helpers import PLAIN, UTTERANCES, call_row, count, jobs_by_task, wait_ready
from tests.security.helpers import person

pytestmark = pytest.mark.integration


def test_call_completes_exactly_once_after_worker_sigkill_mid_stage(stack: Stack, tmp_path: Path) -> None:
    from app.main import create_app

    rep = person(Role.rep, team_id=make_team("Crash"))
    with TestClient(create_app()) as client:
        body = (PLAIN + f"Rep: crash test {os.getpid()}\n").encode()
        call_id = client.post("/api/v1/calls", headers=rep.headers, files={"file": ("c.txt", body)}).json()["id"]
    marker = tmp_path / "in-stage"
    doomed = stack.worker("worker-1.log", TT_IT_SLOW_S="120", TT_IT_MARKER=str(marker))
    wait_for(marker.exists, 40, "the first worker to enter the stage")
    assert call_row(call_id).status == "attributing" and call_row(call_id).stage_token is not None
    stack.kill(doomed)  # SIGKILL: no cleanup, the message stays unacknowledged in Redis
    assert doomed.returncode == -9

    stack.worker("worker-2.log", TT_IT_VISIBILITY_S="2")
    call = wait_ready(call_id, 50)
    assert call.status == "ready", call.error
    assert count(UtteranceRow, call_id) == UTTERANCES + 1
    assert count(UtteranceEmbedding, call_id) == UTTERANCES + 1
    # Exactly once: each stage committed once, so each next stage was enqueued once.
    jobs = jobs_by_task(call_id)
    assert {"transcript.parse", "embed.utterances", "sop.match"} <= set(jobs)
    assert set(jobs.values()) == {1}, jobs
    assert call.stage_token is None and set(call.timings) >= {"attributing", "embedding", "matching"}

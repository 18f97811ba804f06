"""The same file uploaded by 20 clients at once (PostgreSQL, real HTTP server): one call."""

from __future__ import annotations

import threading

import httpx
import pytest
from sqlalchemy import func, select

from app.calls.models import Call
from app.db import session_scope
from app.users.models import Role
from tests.factories import make_team
from tests.integration.conftest import Stack
from tests.integration.helpers import PLAIN, jobs_by_task, serve
from tests.security.helpers import person

pytestmark = pytest.mark.integration
CLIENTS = 20


def test_same_file_uploaded_concurrently_20_times_is_one_call(stack: Stack) -> None:
    rep = person(Role.rep, team_id=make_team("Race"))
    base = serve(stack)
    body = (PLAIN + "Rep: the same bytes, twenty times\n").encode()
    barrier = threading.Barrier(CLIENTS)
    answers: list[tuple[int, dict]] = []

    def upload() -> None:
        with httpx.Client(base_url=base, headers=rep.headers, timeout=30) as http:
            barrier.wait()
            try:
                response = http.post("/api/v1/calls", files={"file": ("same.txt", body)})
                answers.append((response.status_code, response.json()))
            except httpx.HTTPError as exc:
                answers.append((-1, {"error": repr(exc)}))

    threads = [threading.Thread(target=upload) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert [status for status, _ in answers] == [202] * CLIENTS, answers
    ids = {a["id"] for _, a in answers}
    assert len(ids) == 1
    assert sorted(a["duplicate"] for _, a in answers) == [False] + [True] * (CLIENTS - 1)
    call_id = ids.pop()
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Call).where(Call.rep_id == rep.id)) == 1
    assert jobs_by_task(call_id) == {"transcript.parse": 1}
    media = [p for p in (stack.var / "media").rglob("*") if p.is_file()]
    assert len(media) == 1  # one stored file, no temp files left behind

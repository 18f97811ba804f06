"""PostgreSQL really restarted under load (`pg_ctl restart -m fast` on a server of the test's own):
while it is down the API answers 503 (retry), never 500 or a dropped connection, and once it is
back every request succeeds again without restarting the API (pool_pre_ping replaces the dead
pooled connections). test_database_drop.py covers the shared server, where only connections can
be cut."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from app.users.models import Role
from tests.factories import make_team
from tests.integration.conftest import Postgres, Stack
from tests.integration.helpers import PLAIN, ReadLoad, serve, wait_ready
from tests.security.helpers import person

pytestmark = pytest.mark.integration
CLIENTS, SECONDS, RESTARTS_AT = 6, 10.0, (2.0, 5.5)


def test_api_recovers_from_a_postgresql_restart_under_load(private_stack: tuple[Stack, Postgres]) -> None:
    stack, postgres = private_stack
    from app.main import create_app

    rep = person(Role.rep, team_id=make_team("Restart"))
    with TestClient(create_app()) as client:
        call_id = client.post("/api/v1/calls", headers=rep.headers,
                              files={"file": ("c.txt", (PLAIN + "Rep: restart\n").encode())}).json()["id"]
    stack.worker("worker.log")
    assert wait_ready(call_id, 40).status == "ready"
    base = serve(stack)
    load = ReadLoad(base, rep.headers, call_id, CLIENTS, pause_s=0.02)
    back_at = []
    for at in RESTARTS_AT:
        load.sleep_until(at)
        postgres.pg_ctl("restart")  # -m fast -w: every session is cut, then the server is up again
        back_at.append(load.elapsed())
    load.sleep_until(SECONDS)
    statuses, results, errors = load.stop(), load.results, load.errors

    assert not errors, errors[:5]
    assert 500 not in statuses
    assert set(statuses) <= {200, 503}, sorted(set(statuses))
    for restarted, back in zip(RESTARTS_AT, back_at, strict=True):
        during = [s for sent, s in results if restarted <= sent <= back + 0.5]
        assert during, f"no request was sent around the restart at {restarted} s"
    after_last = [s for sent, s in results if sent > back_at[-1] + 1.0]
    assert len(after_last) >= CLIENTS and all(s == 200 for s in after_last), after_last  # recovered by itself
    # The API's own record of the call survived both restarts.
    with httpx.Client(base_url=base, headers=rep.headers, timeout=15) as http:
        assert http.get(f"/api/v1/calls/{call_id}").json()["status"] == "ready"

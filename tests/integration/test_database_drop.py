"""PostgreSQL drops every connection under load: the API recovers by itself, with no 500s.

Restarting the machine's shared PostgreSQL mid-suite would break everyone else's tests (test_database_restart.py restarts a server of its own), so the
test does what a restart does to this application: `pg_terminate_backend` on every server
process of our database, three times during the load. Pooled connections die exactly as they do
on a restart; `pool_pre_ping` must replace them, and a query cut off mid-flight must answer 503
(retry) rather than 500.
"""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from app.users.models import Role
from tests.factories import make_team
from tests.integration.conftest import Stack
from tests.integration.helpers import PLAIN, serve, terminate_backends, wait_ready
from tests.security.helpers import person

pytestmark = pytest.mark.integration
CLIENTS, SECONDS, DROPS_AT = 8, 9.0, (2.0, 4.5, 7.0)


def test_api_recovers_from_dropped_database_connections_under_load(stack: Stack) -> None:
    from app.main import create_app

    rep = person(Role.rep, team_id=make_team("Load"))
    with TestClient(create_app()) as client:
        call_id = client.post("/api/v1/calls", headers=rep.headers,
                              files={"file": ("c.txt", (PLAIN + "Rep: load\n").encode())}).json()["id"]
    stack.worker("worker.log")
    wait_ready(call_id, 40)
    base = serve(stack)
    results: list[tuple[float, int]] = []
    errors: list[str] = []
    start = time.monotonic()
    stop = threading.Event()

    def client_loop(i: int) -> None:
        paths = ["/api/v1/calls", f"/api/v1/calls/{call_id}/transcript", f"/api/v1/calls/{call_id}"]
        with httpx.Client(base_url=base, headers=rep.headers, timeout=10) as http:
            n = 0
            while not stop.is_set():
                sent = time.monotonic() - start
                try:
                    status = http.get(paths[(i + n) % len(paths)]).status_code
                except httpx.HTTPError as exc:  # a dropped connection counts as a failure too
                    errors.append(f"{sent:.2f}s {type(exc).__name__}: {exc}")
                    status = -1
                results.append((sent, status))
                n += 1

    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    killed = []
    for at in DROPS_AT:
        time.sleep(max(0.0, at - (time.monotonic() - start)))
        killed.append(terminate_backends(stack.database_url))
    time.sleep(max(0.0, SECONDS - (time.monotonic() - start)))
    stop.set()
    for t in threads:
        t.join(timeout=15)

    statuses = [s for _, s in results]
    assert not errors, errors[:5]
    assert sum(killed) >= len(DROPS_AT), killed  # the API really had connections to lose
    assert 500 not in statuses
    assert set(statuses) <= {200, 503}, sorted(set(statuses))
    after_last = [s for sent, s in results if sent > DROPS_AT[-1] + 0.5]
    assert after_last and all(s == 200 for s in after_last)  # recovered by itself
    assert statuses.count(200) / len(statuses) >= 0.95, (statuses.count(503), len(statuses))

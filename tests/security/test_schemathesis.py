"""Property-based requests against the whole OpenAPI schema, authenticated as an admin: no 500, ever.

Bounded for CI (a handful of examples per operation); new routes are picked up automatically.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

MAX_EXAMPLES = int(os.environ.get("TALKTRACK_FUZZ_EXAMPLES", "6"))
ENV_KEYS = ("TALKTRACK_VAR_DIR", "TALKTRACK_DATABASE_URL", "TALKTRACK_EMBEDDER", "TALKTRACK_LOGIN_MAX_FAILURES")


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory, template_db: Path) -> Iterator[tuple[object, str]]:
    """One app, database and admin token for the whole module (hypothesis calls the test many times)."""
    from tests.conftest import _engines, _reset_caches

    var = tmp_path_factory.mktemp("fuzz") / "var"
    var.mkdir()
    shutil.copyfile(template_db, var / "talktrack.db")
    saved = {k: os.environ.get(k) for k in ENV_KEYS}
    os.environ.update(TALKTRACK_VAR_DIR=str(var), TALKTRACK_DATABASE_URL=f"sqlite:///{var / 'talktrack.db'}",
                      TALKTRACK_EMBEDDER="hashing", TALKTRACK_LOGIN_MAX_FAILURES="1000000")
    _reset_caches()
    _engines.append(os.environ["TALKTRACK_DATABASE_URL"])
    from app import jobs
    from app.main import create_app
    from app.users.models import Role
    from tests.factories import make_team
    from tests.security.helpers import person, transcript
    from workers.celery_app import run_inline

    jobs.set_dispatcher(run_inline)
    admin = person(Role.admin, team_id=make_team("Fuzz"))
    app = create_app()
    from fastapi.testclient import TestClient

    with TestClient(app) as seed:  # one real call so that id 1 exists
        seed.post("/api/v1/calls", headers={"Authorization": f"Bearer {admin.token}"},
                  files={"file": ("seed.txt", transcript())})
    yield app, admin.token
    jobs.set_dispatcher(None)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    _reset_caches()


@pytest.fixture
def api_schema(fuzz_app):  # type: ignore[no-untyped-def]
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_app[0])


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_no_request_produces_a_server_error(case, fuzz_app) -> None:  # type: ignore[no-untyped-def]
    response = case.call(headers={"Authorization": f"Bearer {fuzz_app[1]}"})
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:500]}"
    )

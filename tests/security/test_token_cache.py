"""The in-process token cache (app/users/token_cache.py) never outlives what it promises.

Same process: a revocation, role change, team change or deactivation takes effect on the next
request. Another process (simulated by a raw UPDATE that no ORM event sees): within token_cache_s.
Expiry is checked on every hit.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete

from app.db import session_scope, utcnow
from app.users import token_cache
from app.users.models import ApiToken, Role, TeamMembership, User
from tests.factories import Person, make_team
from tests.security.helpers import person, upload


def _me(client: TestClient, who: Person) -> int:
    return client.get("/api/v1/me", headers=who.headers).status_code


def _raw_update(env: Path, sql: str, *params: object) -> None:
    """A change made by another process: no SQLAlchemy session of ours sees it."""
    with sqlite3.connect(env / "talktrack.db") as conn:
        conn.execute(sql, params)


def test_a_token_revoked_through_the_api_is_refused_on_the_next_request(client: TestClient) -> None:
    rep = person(Role.rep)
    assert _me(client, rep) == 200  # now cached
    with session_scope() as session:
        token_id = session.query(ApiToken.id).filter(ApiToken.user_id == rep.id).scalar()
    assert client.delete(f"/api/v1/me/tokens/{token_id}", headers=rep.headers).status_code == 204
    assert _me(client, rep) == 401


def test_a_role_change_takes_effect_on_the_next_request(client: TestClient) -> None:
    admin, user = person(Role.admin), person(Role.admin)
    assert client.get("/api/v1/users", headers=user.headers).status_code == 200  # cached as admin
    changed = client.put(f"/api/v1/users/{user.id}/role", headers=admin.headers, json={"role": "rep"})
    assert changed.status_code == 200, changed.text
    assert client.get("/api/v1/users", headers=user.headers).status_code == 403


def test_leaving_a_team_hides_its_calls_on_the_next_request(client: TestClient) -> None:
    team = make_team("Cache A")
    rep, manager = person(Role.rep, team_id=team), person(Role.manager, team_id=team)
    call_id = upload(client, rep)
    assert client.get(f"/api/v1/calls/{call_id}", headers=manager.headers).status_code == 200  # cached
    with session_scope() as session:
        session.execute(delete(TeamMembership).where(TeamMembership.user_id == manager.id))
    assert client.get(f"/api/v1/calls/{call_id}", headers=manager.headers).status_code == 404


def test_deactivating_a_user_through_the_orm_signs_them_out_at_once(client: TestClient) -> None:
    rep = person(Role.rep)
    assert _me(client, rep) == 200
    with session_scope() as session:
        session.get(User, rep.id).is_active = False  # type: ignore[union-attr]
    assert _me(client, rep) == 401


def test_a_revocation_by_another_process_is_honoured_within_the_cache_lifetime(
    client: TestClient, env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.config import get_settings

    monkeypatch.setattr(get_settings(), "token_cache_s", 0.5)
    rep = person(Role.rep)
    assert _me(client, rep) == 200
    _raw_update(env, "UPDATE api_token SET revoked_at = ? WHERE user_id = ?", utcnow().isoformat(), rep.id)
    deadline = time.monotonic() + 0.5 + 0.3
    while _me(client, rep) == 200:
        assert time.monotonic() < deadline, "a revoked token was accepted beyond token_cache_s"
        time.sleep(0.05)
    assert _me(client, rep) == 401


def test_an_expired_token_is_refused_even_when_cached(client: TestClient) -> None:
    rep = person(Role.rep)
    with session_scope() as session:
        user = session.get(User, rep.id)
        assert user is not None
        from app.users import service as users_service

        _, secret = users_service.issue_token(session=session, user=user, expires_at=utcnow() + timedelta(seconds=1))
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    time.sleep(1.1)
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_a_lookup_that_started_before_a_clear_is_not_stored(client: TestClient) -> None:
    rep = person(Role.rep)
    with session_scope() as session:
        user = session.get(User, rep.id)
        token = session.query(ApiToken).filter(ApiToken.user_id == rep.id).one()
        started = token_cache.generation()
        token_cache.clear()  # e.g. a revocation committed while this lookup was in flight
        token_cache.put(token.token_hash, user=user, token_id=token.id, expires_at=None,  # type: ignore[arg-type]
                        last_used_at=utcnow(), looked_up_at=started)
        assert token_cache.get(token.token_hash) is None


def test_a_cached_user_is_a_persistent_object_of_the_request_session(client: TestClient) -> None:
    rep = person(Role.rep)
    assert _me(client, rep) == 200
    with session_scope() as session:
        token = session.query(ApiToken).filter(ApiToken.user_id == rep.id).one()
        entry = token_cache.get(token.token_hash)
        assert entry is not None
        user = token_cache.attach(session, entry)
        assert user in session and session.get(User, rep.id) is user
        user.name = "Renamed"  # a route changing the caller's own row still writes it
    with session_scope() as session:
        assert session.get(User, rep.id).name == "Renamed"  # type: ignore[union-attr]

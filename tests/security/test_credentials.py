"""Credentials: failed logins are rate-limited, and only hashes of passwords and tokens are stored."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from app.config import get_settings
from app.db import session_scope, utcnow
from app.users.models import ApiToken, LoginAttempt, Role, User
from tests.factories import make_user

PASSWORD = "correct horse battery"


def _login(client: TestClient, email: str, password: str) -> int:
    return client.post("/api/v1/auth/login", json={"email": email, "password": password}).status_code


def test_failed_logins_are_rate_limited_per_account(client: TestClient) -> None:
    rep, other = make_user(Role.rep), make_user(Role.rep)
    limit = get_settings().login_max_failures
    assert [_login(client, rep.email, "wrong-guess") for _ in range(limit)] == [401] * limit
    refused = client.post("/api/v1/auth/login", json={"email": rep.email, "password": PASSWORD})
    assert refused.status_code == 429  # even the right password, until the window has passed
    assert "Too many failed logins" in refused.json()["detail"]
    assert _login(client, other.email, PASSWORD) == 200  # other accounts are not locked with it


def test_the_web_form_counts_towards_the_same_limit(client: TestClient) -> None:
    rep = make_user(Role.rep)
    for _ in range(get_settings().login_max_failures):
        assert client.post("/login", data={"email": rep.email, "password": "nope"}).status_code == 401
    form = client.post("/login", data={"email": rep.email, "password": PASSWORD}, follow_redirects=False)
    assert form.status_code == 429 and "Too many failed logins" in form.text
    assert _login(client, rep.email, PASSWORD) == 429


def test_the_limit_lifts_when_the_window_has_passed(client: TestClient) -> None:
    rep = make_user(Role.rep)
    for _ in range(get_settings().login_max_failures):
        _login(client, rep.email, "wrong-guess")
    with session_scope() as session:  # as if the window had elapsed
        session.execute(update(LoginAttempt).where(LoginAttempt.email == rep.email)
                        .values(at=utcnow() - timedelta(seconds=get_settings().login_window_s + 1)))
    assert _login(client, rep.email, PASSWORD) == 200


def test_only_hashes_of_passwords_and_tokens_are_stored(client: TestClient) -> None:
    rep = make_user(Role.rep)
    secret = client.post("/api/v1/me/tokens", headers=rep.headers, json={"name": "ci"}).json()["token"]
    with session_scope() as session:
        user = session.scalar(select(User).where(User.id == rep.id))
        tokens = session.scalars(select(ApiToken).where(ApiToken.user_id == rep.id)).all()
        assert user is not None and user.password_hash is not None
        assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
        stored = [(t.token_hash, t.prefix, t.name) for t in tokens]
    assert hashlib.sha256(secret.encode()).hexdigest() in {h for h, _, _ in stored}
    assert all(secret not in " ".join(row) for row in stored)  # the prefix is a few characters, never the secret

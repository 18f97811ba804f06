"""Cross-site request forgery: forms and cookie-authenticated changes only from Talktrack's own pages."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.csrf import CrossSiteProtection
from app.db import session_scope
from app.deps import SESSION_COOKIE
from app.users.models import ApiToken, Role
from tests.factories import make_team, make_user
from tests.web.helpers import PASSWORD, log_in

EVIL = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
OWN = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}  # what a browser sends from our page


def test_the_real_login_form_works_from_our_own_page(client) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    assert client.get("/login").status_code == 200
    response = client.post("/login", data={"email": rep.email, "password": PASSWORD, "next": "/"}, headers=OWN,
                           follow_redirects=False)
    assert response.status_code == 303 and SESSION_COOKIE in response.cookies


def test_a_login_form_posted_from_another_site_is_refused(client) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    response = client.post("/login", data={"email": rep.email, "password": PASSWORD}, headers=EVIL,
                           follow_redirects=False)
    assert response.status_code == 403
    assert response.json()["error"] == "CrossSiteRequestRefused"
    assert "another site" in response.json()["detail"] and SESSION_COOKIE not in response.cookies


def test_a_cross_site_post_with_the_session_cookie_changes_nothing(client) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    log_in(client, rep)  # the browser holds the session cookie
    forged = client.post("/api/v1/me/tokens", json={"name": "attacker"}, headers=EVIL)
    assert forged.status_code == 403, forged.text
    assert "Authorization: Bearer" in forged.json()["detail"]
    with session_scope() as session:
        assert session.scalar(select(ApiToken).where(ApiToken.name == "attacker")) is None
    logout = client.post("/logout", headers={"Origin": "https://evil.example"}, follow_redirects=False)
    assert logout.status_code == 403 and client.get("/", follow_redirects=False).status_code == 200


def test_a_sibling_subdomain_counts_as_another_site(client) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    response = client.post("/login", data={"email": rep.email, "password": PASSWORD},
                           headers={"Origin": "https://old.testserver", "Sec-Fetch-Site": "same-site"})
    assert response.status_code == 403


def test_without_fetch_metadata_the_origin_must_name_this_host(client) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    data = {"email": rep.email, "password": PASSWORD}
    assert client.post("/login", data=data, headers={"Origin": "http://evil.example"}).status_code == 403
    assert client.post("/login", data=data, headers={"Origin": "null"}).status_code == 403
    ok = client.post("/login", data=data, headers={"Origin": "http://testserver"}, follow_redirects=False)
    assert ok.status_code == 303


def test_bearer_token_api_calls_are_not_affected(client) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    response = client.post("/api/v1/me/tokens", json={"name": "ci"}, headers={**rep.headers, **EVIL})
    assert response.status_code == 201, response.text


def test_a_logout_link_on_another_site_cannot_sign_anyone_out(client) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    log_in(client, rep)
    assert client.get("/logout", follow_redirects=False).status_code == 405
    assert client.get("/", follow_redirects=False).status_code == 200


@pytest.mark.parametrize(("headers", "refused"), [
    ({b"origin": b"https://talktrack.example.com", b"host": b"api-1:8000"}, False),  # trusted public origin
    ({b"origin": b"https://evil.example", b"host": b"api-1:8000"}, True),
    ({b"host": b"api-1:8000"}, False),  # curl, the CLI: no browser headers
])
def test_trusted_origins_cover_a_proxy_that_rewrites_host(headers: dict[bytes, bytes], refused: bool) -> None:
    guard = CrossSiteProtection(app=None, trusted_origins=("https://talktrack.example.com/",))  # type: ignore[arg-type]
    assert (guard.refusal(headers) is not None) is refused

"""Signing in and out of the web pages."""

from __future__ import annotations

from app.deps import SESSION_COOKIE
from app.users.models import Role
from tests.factories import make_team, make_user
from tests.web.helpers import log_in, matched_call


def test_login_form_sets_the_cookie_and_the_calls_page_lists_calls(client) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    matched_call(client, rep, title="Quarterly review 季度回顾")
    response = client.post("/login", data={"email": rep.email, "password": "correct horse battery"},
                           follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert SESSION_COOKIE in response.cookies
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "Quarterly review 季度回顾" in page.text and "ready" in page.text


def test_pages_redirect_anonymous_visitors_to_login(client) -> None:  # type: ignore[no-untyped-def]
    for path in ("/", "/calls/1", "/calls/1/media", "/library", "/pipeline"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next="), path


def test_wrong_password_shows_the_form_again_with_the_reason(client) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    response = client.post("/login", data={"email": rep.email, "password": "nope"}, follow_redirects=False)
    assert response.status_code == 401
    assert "E-mail or password is wrong." in response.text and SESSION_COOKIE not in response.cookies


def test_login_never_redirects_off_site(client) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    for target in ("//evil.example/x", "https://evil.example", "/\\evil.example", "/\t/evil.example"):
        response = client.post("/login", data={"email": rep.email, "password": "correct horse battery",
                                               "next": target}, follow_redirects=False)
        assert response.headers["location"] == "/", target
    inside = client.post("/login", data={"email": rep.email, "password": "correct horse battery",
                                         "next": "/calls/7?x=1"}, follow_redirects=False)
    assert inside.headers["location"] == "/calls/7?x=1"


def test_logout_revokes_the_session(client) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    log_in(client, rep)
    cookie = client.cookies.get(SESSION_COOKIE)
    assert client.post("/logout", follow_redirects=False).status_code == 303
    client.cookies.set(SESSION_COOKIE, cookie)  # a stolen copy of the cookie no longer works either
    assert client.get("/", follow_redirects=False).status_code == 303


def test_pages_stay_out_of_the_openapi_schema(client) -> None:  # type: ignore[no-untyped-def]
    paths = client.app.openapi()["paths"]
    assert not [p for p in paths if not p.startswith("/api/")]

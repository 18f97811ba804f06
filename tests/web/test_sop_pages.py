"""The SOP pages: the list, one SOP's prescribed path with missed steps, learning, versions, re-match."""

from __future__ import annotations

import re

from app.audit.models import AuditEvent
from app.db import session_scope
from app.users.models import Role
from tests.factories import make_team, make_user
from tests.web.helpers import DISCOVERY, log_in, matched_call

SAME_SITE = {"Sec-Fetch-Site": "same-origin"}


def _row(html: str, step_id: str) -> str:
    found = re.search(rf"<tr>(?:(?!</tr>).)*?<span class=\"muted\">{step_id}</span>.*?</tr>", html, re.DOTALL)
    assert found, f"no row for {step_id}"
    return found.group(0)


def test_sop_list_shows_each_sop_with_its_visible_calls(client) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    matched_call(client, rep)
    log_in(client, rep)
    page = client.get("/sops")
    assert page.status_code == 200
    assert 'href="/sops/b2b-discovery"' in page.text and "B2B discovery call" in page.text
    row = re.search(r"<tr>\s*<td><a href=\"/sops/b2b-discovery\">.*?</tr>", page.text, re.DOTALL).group(0)
    cells = re.findall(r'<td class="num">(.*?)</td>', row, re.DOTALL)
    assert cells[0] == "v1" and cells[3].strip() == "1"  # version, matched calls
    assert "%" in cells[4]  # mean adherence
    # Another team's manager sees the SOP but none of those calls.
    log_in(client, make_user(Role.manager, team_id=make_team("Team B")))
    row = re.search(r"<tr>\s*<td><a href=\"/sops/b2b-discovery\">.*?</tr>", client.get("/sops").text, re.DOTALL).group(0)
    assert re.findall(r'<td class="num">(.*?)</td>', row, re.DOTALL)[3].strip() == "0"


def test_sop_page_shows_the_path_missed_steps_and_what_reviews_taught(client) -> None:  # type: ignore[no-untyped-def]
    team = make_team()
    rep = make_user(Role.rep, team_id=team)
    call_id = matched_call(client, rep)
    result = client.get(f"/api/v1/calls/{call_id}/sop", headers=rep.headers).json()["result"]
    missed = [m["step_id"] for m in result["deviations"]["missed"]]
    assert missed, "the fixture call misses a required step"
    manager = make_user(Role.manager, team_id=team)
    line = next(u for u in result["utterances"] if u["role"] == "rep" and u["step"] not in (None, "qualify-timeline")
                and len(u["text"]) > 40)
    client.put(f"/api/v1/calls/{call_id}/sop/review", headers=manager.headers,
               json={"corrections": [{"index": line["index"], "step": "qualify-timeline"}]})
    log_in(client, manager)
    page = client.get("/sops/b2b-discovery")
    assert page.status_code == 200
    html = page.text
    assert "Prescribed path" in html and "most recent calls matched to v1" in html
    row = _row(html, missed[0])  # missed in the one call, which the cell links to
    assert re.search(r'<summary>1</summary>\s*<ul><li><a href="/calls/%d">Discovery with Acme</a>' % call_id, row), row
    # A required step the call still has after the review (moving the rep's only line of a step
    # away makes that step missed: a step needs its own speaker's words).
    reviewed = client.get(f"/api/v1/calls/{call_id}/sop", headers=rep.headers).json()["result"]
    still_missed = {m["step_id"] for m in reviewed["deviations"]["missed"]}
    taken = next(p["step"] for p in reviewed["prescribed"] if p["required"] and p["step"] not in still_missed)
    assert re.search(r'<td class="num">0</td>\s*</tr>', _row(html, taken))
    assert "What the matcher learned from reviews" in html
    assert line["text"].strip().replace("'", "&#39;") in html  # the learned line, escaped
    assert 'action="/sops/b2b-discovery/rematch"' in html
    assert "Calls to review next" in html and f'<a href="/calls/{call_id}">' in html
    assert "partly reviewed" in html
    # A rep sees the path but not the learning panel, the queue or the button.
    log_in(client, rep)
    html = client.get("/sops/b2b-discovery").text
    assert "Prescribed path" in html and "What the matcher learned" not in html and "/rematch" not in html
    assert "Calls to review next" not in html


def test_versions_and_their_changes_are_listed(client) -> None:  # type: ignore[no-untyped-def]
    admin = make_user(Role.admin)
    client.post("/api/v1/sops", headers=admin.headers, content=DISCOVERY)
    changed = DISCOVERY.decode().replace("name: ", "name: Revised ", 1)
    assert client.post("/api/v1/sops", headers=admin.headers, content=changed.encode()).json()["version"] == 2
    log_in(client, admin)
    latest = client.get("/sops/b2b-discovery").text
    assert "Changes from v1 to v2" in latest and "Revised" in latest
    old = client.get("/sops/b2b-discovery?version=1").text
    assert "You are looking at v1" in old and "Changes from" not in old
    assert client.get("/sops/b2b-discovery?version=9").status_code == 404
    assert client.get("/sops/no-such-sop").status_code == 404


def test_the_rematch_button_queues_a_rematch_for_coaches_only(client) -> None:  # type: ignore[no-untyped-def]
    team = make_team()
    rep = make_user(Role.rep, team_id=team)
    call_id = matched_call(client, rep)
    before = client.get(f"/api/v1/calls/{call_id}/sop", headers=rep.headers).json()["matched_at"]
    log_in(client, rep)
    assert client.post("/sops/b2b-discovery/rematch", headers=SAME_SITE, follow_redirects=False).status_code == 403
    log_in(client, make_user(Role.trainer, team_id=team))
    done = client.post("/sops/b2b-discovery/rematch", headers=SAME_SITE, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/sops/b2b-discovery?rematch=queued"
    assert "Re-match queued" in client.get(done.headers["location"]).text
    assert client.get(f"/api/v1/calls/{call_id}/sop", headers=rep.headers).json()["matched_at"] != before
    with session_scope() as session:
        assert session.query(AuditEvent).filter(AuditEvent.action == "sop.rematch").count() == 1
    # From another site the browser's request is refused (CSRF).
    cross = client.post("/sops/b2b-discovery/rematch", headers={"Sec-Fetch-Site": "cross-site"}, follow_redirects=False)
    assert cross.status_code == 403


def test_admins_upload_a_sop_on_the_page_and_download_it_again(client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    admin = make_user(Role.admin)
    log_in(client, admin)
    assert 'action="/sops/upload"' in client.get("/sops").text
    sent = client.post("/sops/upload", headers=SAME_SITE, files={"file": ("discovery.yaml", DISCOVERY)},
                       follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"] == "/sops/b2b-discovery?uploaded=new"
    assert "Uploaded: this is v1" in client.get(sent.headers["location"]).text
    again = client.post("/sops/upload", headers=SAME_SITE, files={"file": ("discovery.yaml", DISCOVERY)},
                        follow_redirects=False)
    assert again.headers["location"] == "/sops/b2b-discovery?uploaded=same"
    changed = DISCOVERY.decode().replace("name: ", "name: Revised ", 1).encode()
    client.post("/sops/upload", headers=SAME_SITE, files={"file": ("d.yaml", changed)})
    page = client.get("/sops/b2b-discovery?uploaded=new").text
    assert "Uploaded: this is v2" in page and "Changes from v1 to v2" in page
    download = client.get("/sops/b2b-discovery/yaml?version=1")
    assert download.status_code == 200 and download.content == DISCOVERY
    assert 'filename="b2b-discovery.v1.yaml"' in download.headers["content-disposition"]
    with session_scope() as session:
        actions = sorted(e.action for e in session.query(AuditEvent).filter(AuditEvent.action.like("sop.%")))
    assert actions == ["sop.change", "sop.upload"]


def test_an_invalid_sop_upload_lists_its_problems_and_stores_nothing(client) -> None:  # type: ignore[no-untyped-def]
    log_in(client, make_user(Role.admin))
    bad = DISCOVERY.decode().replace("speaker: rep", "speaker: robot", 1).encode()
    page = client.post("/sops/upload", headers=SAME_SITE, files={"file": ("<b>bad</b>.yaml", bad)})
    assert page.status_code == 422
    assert "&lt;b&gt;bad&lt;/b&gt;.yaml was not stored" in page.text  # the hostile file name is escaped
    assert re.search(r"&lt;b&gt;bad&lt;/b&gt;\.yaml:\d+ stages\[\d\]\.steps\[\d\]\.speaker", page.text), page.text
    empty = client.post("/sops/upload", headers=SAME_SITE, files={"file": ("empty.yaml", b"")})
    assert empty.status_code == 422 and "The SOP file is empty" in empty.text
    binary = client.post("/sops/upload", headers=SAME_SITE, files={"file": ("x.yaml", b"\xff\xfe\x00bad")})
    assert binary.status_code == 422 and "UTF-8" in binary.text
    assert client.get("/sops/b2b-discovery").status_code == 404  # nothing stored
    assert client.get("/sops/b2b-discovery/yaml").status_code == 404
    # Managers and reps cannot upload.
    log_in(client, make_user(Role.manager, team_id=make_team()))
    assert 'action="/sops/upload"' not in client.get("/sops").text
    refused = client.post("/sops/upload", headers=SAME_SITE, files={"file": ("d.yaml", DISCOVERY)})
    assert refused.status_code == 403

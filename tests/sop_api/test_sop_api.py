"""SOP versions over the API, and calls matched against them end to end."""

from __future__ import annotations

from pathlib import Path

from app.users.models import Role
from tests.factories import make_team, make_user

SHIPPED = Path(__file__).resolve().parents[2] / "sop_definitions"
DISCOVERY = (SHIPPED / "b2b-discovery.en.yaml").read_text(encoding="utf-8")
CALL = (Path(__file__).resolve().parents[1] / "fixtures" / "transcripts" / "en_discovery.txt").read_bytes()


def _admin():  # type: ignore[no-untyped-def]
    return make_user(Role.admin)


def test_upload_list_and_get_a_sop(client) -> None:  # type: ignore[no-untyped-def]
    admin = _admin()
    response = client.post("/api/v1/sops", headers=admin.headers, content=DISCOVERY.encode())
    assert response.status_code == 201, response.text
    assert response.json()["created"] is True and response.json()["sop_id"] == "b2b-discovery"
    listed = client.get("/api/v1/sops", headers=admin.headers).json()
    assert [s["sop_id"] for s in listed] == ["b2b-discovery"]
    detail = client.get("/api/v1/sops/b2b-discovery", headers=admin.headers).json()
    assert detail["definition"]["stages"] and detail["source_text"] == DISCOVERY


def test_upload_as_a_multipart_file(client) -> None:  # type: ignore[no-untyped-def]
    admin = _admin()
    response = client.post("/api/v1/sops", headers=admin.headers, files={"file": ("d.yaml", DISCOVERY.encode())})
    assert response.status_code == 201, response.text
    assert response.json()["sop_id"] == "b2b-discovery" and response.json()["version"] == 1
    wrong_field = client.post("/api/v1/sops", headers=admin.headers, files={"sop": ("d.yaml", DISCOVERY.encode())})
    assert wrong_field.status_code == 422 and "multipart field named 'file'" in wrong_field.text
    empty = client.post("/api/v1/sops", headers=admin.headers, files={"file": ("d.yaml", b"  ")})
    assert empty.status_code == 422 and "empty" in empty.text


def test_same_file_twice_is_one_version_and_a_change_is_a_new_one(client) -> None:  # type: ignore[no-untyped-def]
    admin = _admin()
    client.post("/api/v1/sops", headers=admin.headers, content=DISCOVERY.encode())
    again = client.post("/api/v1/sops", headers=admin.headers, content=DISCOVERY.encode()).json()
    assert again["created"] is False and again["version"] == 1
    changed = DISCOVERY.replace("name: ", "name: Revised ", 1)
    second = client.post("/api/v1/sops", headers=admin.headers, content=changed.encode()).json()
    assert second["created"] is True and second["version"] == 2
    versions = client.get("/api/v1/sops/b2b-discovery/versions", headers=admin.headers).json()
    assert [v["version"] for v in versions] == [1, 2]
    old = client.get("/api/v1/sops/b2b-discovery?version=1", headers=admin.headers).json()
    assert old["source_text"] == DISCOVERY
    diff = client.get("/api/v1/sops/b2b-discovery/diff?from=1&to=2", headers=admin.headers).json()
    assert diff["changes"], "a renamed SOP must show up in the diff"


def test_invalid_sop_is_422_with_line_numbers(client) -> None:  # type: ignore[no-untyped-def]
    admin = _admin()
    broken = DISCOVERY.replace("speaker: rep", "speaker: robot", 1)
    response = client.post("/api/v1/sops", headers=admin.headers, content=broken.encode())
    assert response.status_code == 422
    body = str(response.json()["detail"])
    assert "speaker" in body and "upload.yaml:" in body


def test_malformed_yaml_is_422(client) -> None:  # type: ignore[no-untyped-def]
    admin = _admin()
    response = client.post("/api/v1/sops", headers=admin.headers, content=b"id: [unclosed\n  name: x")
    assert response.status_code == 422


def test_only_admins_upload_sops(client) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    assert client.post("/api/v1/sops", headers=rep.headers, content=DISCOVERY.encode()).status_code == 403


def test_call_with_a_sop_gets_a_path_deviations_and_adherence(client) -> None:  # type: ignore[no-untyped-def]
    admin = _admin()
    client.post("/api/v1/sops", headers=admin.headers, content=DISCOVERY.encode())
    rep = make_user(Role.rep, team_id=make_team())
    call_id = client.post("/api/v1/calls", headers=rep.headers, files={"file": ("c.txt", CALL)},
                          data={"sop_id": "b2b-discovery"}).json()["id"]
    result = client.get(f"/api/v1/calls/{call_id}/sop", headers=rep.headers)
    assert result.status_code == 200, result.text
    body = result.json()
    assert body["sop_id"] == "b2b-discovery" and body["sop_version"] == 1
    assert 0.0 <= body["adherence"] <= 1.0
    comparison = body["result"]["comparison"]
    assert "formula" in comparison["adherence"]
    labels = body["result"]["match"]["labels"]
    transcript = client.get(f"/api/v1/calls/{call_id}/transcript", headers=rep.headers).json()
    assert len(labels) == len(transcript["utterances"])


def test_new_sop_version_rematches_affected_calls(client) -> None:  # type: ignore[no-untyped-def]
    admin = _admin()
    client.post("/api/v1/sops", headers=admin.headers, content=DISCOVERY.encode())
    rep = make_user(Role.rep, team_id=make_team())
    call_id = client.post("/api/v1/calls", headers=rep.headers, files={"file": ("c.txt", CALL)},
                          data={"sop_id": "b2b-discovery"}).json()["id"]
    assert client.get(f"/api/v1/calls/{call_id}/sop", headers=rep.headers).json()["sop_version"] == 1
    changed = DISCOVERY.replace("name: ", "name: Revised ", 1)
    client.post("/api/v1/sops", headers=admin.headers, content=changed.encode())
    assert client.get(f"/api/v1/calls/{call_id}/sop", headers=rep.headers).json()["sop_version"] == 2


def test_call_without_sop_explains_how_to_get_one(client) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    call_id = client.post("/api/v1/calls", headers=rep.headers, files={"file": ("c.txt", CALL)}).json()["id"]
    response = client.get(f"/api/v1/calls/{call_id}/sop", headers=rep.headers)
    assert response.status_code == 409 and "default SOP" in response.json()["detail"]
    assert client.post(f"/api/v1/calls/{call_id}/rematch", headers=rep.headers).status_code == 422


def test_unknown_sop_is_404(client) -> None:  # type: ignore[no-untyped-def]
    admin = _admin()
    response = client.get("/api/v1/sops/nope", headers=admin.headers)
    assert response.status_code == 404 and "GET /api/v1/sops" in response.json()["detail"]


def test_team_default_sop_per_call_type_is_used(client) -> None:  # type: ignore[no-untyped-def]
    admin = _admin()
    client.post("/api/v1/sops", headers=admin.headers, content=DISCOVERY.encode())
    demo = (SHIPPED / "product-demo.en.yaml").read_text(encoding="utf-8")
    client.post("/api/v1/sops", headers=admin.headers, content=demo.encode())
    team = make_team()
    response = client.put(f"/api/v1/teams/{team}", headers=admin.headers,
                          json={"default_sop_id": "b2b-discovery", "default_sops": {"demo": "product-demo"}})
    assert response.status_code == 200, response.text
    rep = make_user(Role.rep, team_id=team)
    demo_call = client.post("/api/v1/calls", headers=rep.headers, files={"file": ("c.txt", CALL)},
                            data={"call_type": "demo"}).json()["id"]
    other = client.post("/api/v1/calls", headers=rep.headers, files={"file": ("d.txt", CALL + b"\n")}).json()["id"]
    assert client.get(f"/api/v1/calls/{demo_call}/sop", headers=rep.headers).json()["sop_id"] == "product-demo"
    assert client.get(f"/api/v1/calls/{other}/sop", headers=rep.headers).json()["sop_id"] == "b2b-discovery"


def test_team_default_naming_an_unknown_sop_is_404(client) -> None:  # type: ignore[no-untyped-def]
    admin = _admin()
    response = client.put(f"/api/v1/teams/{make_team()}", headers=admin.headers, json={"default_sops": {"demo": "nope"}})
    assert response.status_code == 404 and "nope" in response.json()["detail"]


def test_uploading_and_changing_a_sop_are_audited_once_each(client) -> None:  # type: ignore[no-untyped-def]
    admin = _admin()
    client.post("/api/v1/sops", headers=admin.headers, content=DISCOVERY.encode())
    client.post("/api/v1/sops", headers=admin.headers, content=DISCOVERY.encode())  # unchanged: no event
    changed = DISCOVERY.replace("name: ", "name: Revised ", 1)
    client.post("/api/v1/sops", headers=admin.headers, content=changed.encode())
    items = client.get("/api/v1/audit", headers=admin.headers).json()["items"]
    sop_events = sorted((e["action"], e["target_id"]) for e in items if e["target_type"] == "sop")
    assert sop_events == [("sop.change", "b2b-discovery@2"), ("sop.upload", "b2b-discovery@1")]

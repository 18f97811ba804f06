"""Playlists: ordered clips with notes, sharing, bulk add from a search, play-through order."""

from __future__ import annotations

from app.users.models import Role
from tests.factories import make_user
from tests.library.helpers import EN_CALL, upload, world


def _clip(client, person, call_id: int, start: float, end: float) -> int:  # type: ignore[no-untyped-def]
    body = {"call_id": call_id, "start": start, "end": end, "title": f"{start}-{end}"}
    response = client.post("/api/v1/clips", headers=person.headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_playlist_plays_clips_in_order_with_notes_and_offsets(client) -> None:  # type: ignore[no-untyped-def]
    w = world(client)
    call_id = upload(client, w.rep, EN_CALL)
    first, second = _clip(client, w.manager, call_id, 0.0, 10.0), _clip(client, w.manager, call_id, 20.0, 25.0)
    playlist = client.post("/api/v1/playlists", headers=w.manager.headers,
                           json={"name": "Discovery greats", "shared_team_ids": [w.team_id]}).json()
    pid = playlist["id"]
    client.post(f"/api/v1/playlists/{pid}/items", headers=w.manager.headers, json={"clip_id": first, "note": "open"})
    client.post(f"/api/v1/playlists/{pid}/items", headers=w.manager.headers,
                json={"clip_id": second, "note": "listen for the pause", "position": 1})
    body = client.get(f"/api/v1/playlists/{pid}", headers=w.rep.headers).json()
    assert [i["clip_id"] for i in body["items"]] == [second, first]
    assert [i["starts_at"] for i in body["items"]] == [0.0, 5.0] and body["total_duration"] == 15.0
    assert body["items"][0]["note"] == "listen for the pause"
    item_ids = [i["item_id"] for i in body["items"]]
    reordered = client.put(f"/api/v1/playlists/{pid}/order", headers=w.manager.headers,
                           json={"item_ids": item_ids[::-1]}).json()
    assert [i["clip_id"] for i in reordered["items"]] == [first, second]


def test_playlist_is_visible_only_to_its_team_and_named_reps(client) -> None:  # type: ignore[no-untyped-def]
    w = world(client)
    outsider = make_user(Role.rep, team_id=world(client, team="Team B").team_id)
    named = make_user(Role.rep, team_id=world(client, team="Team C").team_id)
    pid = client.post("/api/v1/playlists", headers=w.manager.headers,
                      json={"name": "Team A only", "shared_team_ids": [w.team_id], "shared_user_ids": [named.id]}
                      ).json()["id"]
    assert client.get(f"/api/v1/playlists/{pid}", headers=w.rep.headers).status_code == 200
    assert client.get(f"/api/v1/playlists/{pid}", headers=named.headers).status_code == 200
    assert client.get(f"/api/v1/playlists/{pid}", headers=outsider.headers).status_code == 404
    assert [p["id"] for p in client.get("/api/v1/playlists", headers=outsider.headers).json()] == []


def test_bulk_add_from_a_search_adds_its_top_results_once(client) -> None:  # type: ignore[no-untyped-def]
    w = world(client)
    upload(client, w.rep, EN_CALL)
    pid = client.post("/api/v1/playlists", headers=w.manager.headers, json={"name": "Forecast"}).json()["id"]
    url = f"/api/v1/playlists/{pid}/items/from-search"
    added = client.post(url, headers=w.manager.headers, json={"q": "forecast spreadsheet", "limit": 4})
    assert added.status_code == 201, added.text
    items = added.json()["items"]
    assert 1 <= len(items) <= 4 and len({i["clip_id"] for i in items}) == len(items)
    again = client.post(url, headers=w.manager.headers, json={"q": "forecast spreadsheet", "limit": 4}).json()
    assert len(again["items"]) == len(items)


def test_reps_cannot_create_playlists_and_others_cannot_edit(client) -> None:  # type: ignore[no-untyped-def]
    w = world(client)
    assert client.post("/api/v1/playlists", headers=w.rep.headers, json={"name": "x"}).status_code == 403
    pid = client.post("/api/v1/playlists", headers=w.manager.headers,
                      json={"name": "mine", "shared_team_ids": [w.team_id]}).json()["id"]
    trainer = make_user(Role.trainer, team_id=w.team_id)
    response = client.patch(f"/api/v1/playlists/{pid}", headers=trainer.headers, json={"name": "theirs"})
    assert response.status_code in (403, 404)


def test_reorder_must_list_every_item(client) -> None:  # type: ignore[no-untyped-def]
    w = world(client)
    call_id = upload(client, w.rep, EN_CALL)
    pid = client.post("/api/v1/playlists", headers=w.manager.headers, json={"name": "p"}).json()["id"]
    client.post(f"/api/v1/playlists/{pid}/items", headers=w.manager.headers,
                json={"clip_id": _clip(client, w.manager, call_id, 0.0, 5.0)})
    response = client.put(f"/api/v1/playlists/{pid}/order", headers=w.manager.headers, json={"item_ids": [999]})
    assert response.status_code == 422

"""The index stays consistent: rebuilt when its files go, and call deletion removes its items."""

from __future__ import annotations

from pathlib import Path

from app.library import search as index_service
from tests.library.helpers import EN_CALL, transcript, upload, world


def _search(client, person, q: str = "forecast spreadsheet"):  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/library/search", headers=person.headers, params={"q": q, "page_size": 50})
    assert response.status_code == 200, response.text
    return response.json()


def _key(item: dict) -> tuple:  # type: ignore[type-arg]
    """Talk-track variants may be regrouped by a refresh in between: compare them by content."""
    return (item["type"], item["id"] if item["type"] != "talk_track" else item["text"])


def test_deleted_index_files_are_rebuilt_from_the_database_with_a_warning(client, env: Path) -> None:  # type: ignore[no-untyped-def]
    w = world(client)
    upload(client, w.rep, EN_CALL)
    before = _search(client, w.rep)
    assert before["items"] and before["index"]["warning"] is None
    for path in (env / "index").iterdir():
        path.unlink()
    after = _search(client, w.rep)
    assert "missing" in after["index"]["warning"] and after["index"]["rebuilt"] is True
    assert sorted(map(_key, after["items"])) == sorted(map(_key, before["items"]))
    assert (env / "index" / "manifest.json").exists()


def test_corrupt_index_files_are_rebuilt_not_an_error(client, env: Path) -> None:  # type: ignore[no-untyped-def]
    w = world(client)
    upload(client, w.rep, EN_CALL)
    expected = _search(client, w.rep)["items"]
    (env / "index" / "vectors.usearch").write_bytes(b"garbage")
    index_service.reset_cache()  # as after a restart
    after = _search(client, w.rep)
    assert "unusable" in after["index"]["warning"]
    assert sorted(map(_key, after["items"])) == sorted(map(_key, expected))


def test_deleting_a_call_removes_its_snippets_clips_and_index_entries(client) -> None:  # type: ignore[no-untyped-def]
    w = world(client)
    call_id = upload(client, w.rep, EN_CALL)
    snippet_ids = [s["id"] for s in client.get(f"/api/v1/snippets?call_id={call_id}&page_size=100",
                                                headers=w.rep.headers).json()["items"]]
    clip = client.post("/api/v1/clips", headers=w.manager.headers,
                       json={"call_id": call_id, "start": 0, "end": 10, "title": "forecast"}).json()
    assert any(i["call_id"] == call_id for i in _search(client, w.rep)["items"])
    assert client.delete(f"/api/v1/calls/{call_id}", headers=w.rep.headers).status_code == 204
    assert not any(i.get("call_id") == call_id for i in _search(client, w.rep)["items"])
    assert client.get(f"/api/v1/snippets/{snippet_ids[0]}", headers=w.rep.headers).status_code == 404
    assert client.get(f"/api/v1/clips/{clip['id']}", headers=w.rep.headers).status_code == 404
    assert client.get("/api/v1/talk-tracks", headers=w.rep.headers).json() == []
    from app.db import get_sessionmaker

    with get_sessionmaker()() as session:
        index = index_service.get_index(session=session).index
    assert not any(index_service.encode(index_service.SNIPPET, i) in index for i in snippet_ids)
    assert index_service.encode(index_service.CLIP, clip["id"]) not in index


def test_deleting_a_call_drops_its_clips_from_playlists_which_stay_playable(client) -> None:  # type: ignore[no-untyped-def]
    w = world(client)
    other = transcript([("Rep", "Could you walk me through how your team builds the forecast today?"),
                        ("Customer", "We export everything to spreadsheets every Friday.")])
    gone, kept = upload(client, w.rep, EN_CALL), upload(client, w.rep, other, name="other.txt")
    assert gone != kept
    clips = [client.post("/api/v1/clips", headers=w.manager.headers,
                         json={"call_id": call_id, "start": 0, "end": 5, "title": str(call_id)}).json()["id"]
             for call_id in (gone, kept)]
    pid = client.post("/api/v1/playlists", headers=w.manager.headers, json={"name": "best"}).json()["id"]
    for clip_id in clips:
        client.post(f"/api/v1/playlists/{pid}/items", headers=w.manager.headers, json={"clip_id": clip_id})
    assert client.delete(f"/api/v1/calls/{gone}", headers=w.rep.headers).status_code == 204
    body = client.get(f"/api/v1/playlists/{pid}", headers=w.manager.headers).json()
    assert [i["clip_id"] for i in body["items"]] == [clips[1]] and body["items"][0]["starts_at"] == 0.0


def test_recutting_a_call_reindexes_its_snippets_even_when_ids_are_reused(client) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from app.calls.models import Call
    from app.db import get_sessionmaker
    from app.library import service as snippets_service
    from app.library.models import Snippet

    w = world(client)
    call_id = upload(client, w.rep, EN_CALL)
    with get_sessionmaker()() as session:
        old = set(session.scalars(select(Snippet.id).where(Snippet.call_id == call_id)))
        new = {s.id for s in snippets_service.replace_call_snippets(session=session, call=session.get(Call, call_id))}
        assert old and new
        # Every old id is dropped and every new one (re)written, whatever ids the database reused.
        assert session.info["library_removals"] == {index_service.encode(index_service.SNIPPET, i) for i in old}
        assert session.info["library_upserts"] == {index_service.encode(index_service.SNIPPET, i) for i in new}
        session.commit()
        index = index_service.get_index(session=session).index
    assert all(index_service.encode(index_service.SNIPPET, i) in index for i in new)
    assert not any(index_service.encode(index_service.SNIPPET, i) in index for i in old - new)

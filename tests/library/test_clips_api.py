"""Clips: cut, list, edit, delete; span validation; playback of just the span."""

from __future__ import annotations

import io
import wave
from pathlib import Path

from app.users.models import Role
from tests.factories import make_user
from tests.library.helpers import EN_CALL, upload, world

AUDIO = Path(__file__).resolve().parents[1] / "fixtures" / "audio"


def _clip(client, person, call_id: int, start: float = 10.0, end: float = 25.0, **extra):  # type: ignore[no-untyped-def]
    body = {"call_id": call_id, "start": start, "end": end, "title": "Budget question", **extra}
    return client.post("/api/v1/clips", headers=person.headers, json=body)


def test_manager_cuts_edits_and_deletes_a_clip(client) -> None:  # type: ignore[no-untyped-def]
    w = world(client)
    call_id = upload(client, w.rep, EN_CALL)
    created = _clip(client, w.manager, call_id, note="Great open question", tags=["budget", "spin"], folder="Q3")
    assert created.status_code == 201, created.text
    clip = created.json()
    assert clip["kind"] == "manual" and clip["created_by_id"] == w.manager.id and clip["folder"] == "Q3"
    assert "Rep:" in clip["text"] and clip["audio_url"] is None  # a transcript call has text clips
    listed = client.get("/api/v1/clips?folder=Q3&tag=budget", headers=w.rep.headers).json()
    assert [c["id"] for c in listed["items"]] == [clip["id"]]
    edited = client.patch(f"/api/v1/clips/{clip['id']}", headers=w.manager.headers,
                          json={"title": "Budget, asked well", "start": 12.0})
    assert edited.status_code == 200 and edited.json()["title"] == "Budget, asked well"
    assert edited.json()["start"] == 12.0
    assert client.delete(f"/api/v1/clips/{clip['id']}", headers=w.manager.headers).status_code == 204
    assert client.get(f"/api/v1/clips/{clip['id']}", headers=w.rep.headers).status_code == 404


def test_reversed_span_is_422(client) -> None:  # type: ignore[no-untyped-def]
    w = world(client)
    call_id = upload(client, w.rep, EN_CALL)
    response = _clip(client, w.manager, call_id, start=30.0, end=20.0)
    assert response.status_code == 422 and "end" in str(response.json()["detail"])


def test_span_past_the_end_of_the_call_is_422(client) -> None:  # type: ignore[no-untyped-def]
    w = world(client)
    call_id = upload(client, w.rep, EN_CALL)
    response = _clip(client, w.manager, call_id, start=10.0, end=99_999.0)
    assert response.status_code == 422 and "only" in response.json()["detail"]


def test_editing_a_span_outside_the_call_is_422(client) -> None:  # type: ignore[no-untyped-def]
    w = world(client)
    call_id = upload(client, w.rep, EN_CALL)
    clip_id = _clip(client, w.manager, call_id).json()["id"]
    response = client.patch(f"/api/v1/clips/{clip_id}", headers=w.manager.headers, json={"end": 5.0})
    assert response.status_code == 422


def test_unknown_clip_list_filter_is_422_naming_the_allowed_ones(client) -> None:  # type: ignore[no-untyped-def]
    w = world(client)
    response = client.get("/api/v1/clips?colour=red", headers=w.rep.headers)
    assert response.status_code == 422 and "colour" in response.json()["detail"]
    assert "folder" in response.json()["detail"]


def test_reps_cannot_cut_clips(client) -> None:  # type: ignore[no-untyped-def]
    w = world(client)
    call_id = upload(client, w.rep, EN_CALL)
    assert _clip(client, w.rep, call_id).status_code == 403


def test_a_manager_cannot_cut_a_call_they_cannot_see(client) -> None:  # type: ignore[no-untyped-def]
    w = world(client)
    call_id = upload(client, w.rep, EN_CALL)
    other = make_user(Role.manager, team_id=world(client, team="Team B").team_id)
    assert _clip(client, other, call_id).status_code == 404


def test_text_only_clip_audio_is_409_with_an_explanation(client) -> None:  # type: ignore[no-untyped-def]
    w = world(client)
    call_id = upload(client, w.rep, EN_CALL)
    clip_id = _clip(client, w.manager, call_id).json()["id"]
    response = client.get(f"/api/v1/clips/{clip_id}/audio", headers=w.rep.headers)
    assert response.status_code == 409 and "transcript" in response.json()["detail"]


def test_auto_clips_flow_in_from_top_snippets(client) -> None:  # type: ignore[no-untyped-def]
    w = world(client)
    upload(client, w.rep, EN_CALL)
    auto = client.get("/api/v1/clips?kind=auto", headers=w.rep.headers).json()["items"]
    assert auto and all(c["snippet_id"] and c["score"] >= 0.55 for c in auto)
    per_step: dict[str, int] = {}
    for c in auto:
        per_step[c["step_id"]] = per_step.get(c["step_id"], 0) + 1
    assert max(per_step.values()) <= 3


def test_render_span_writes_just_that_span(tmp_path: Path) -> None:
    from app.library.clips import render_span

    target = tmp_path / "span.wav"
    render_span(AUDIO / "dialog_en_mono.wav", 4.0, 7.5, target)
    with wave.open(str(target)) as wav:
        seconds = wav.getnframes() / wav.getframerate()
    assert abs(seconds - 3.5) < 0.02


def test_render_span_seeks_into_compressed_audio(tmp_path: Path) -> None:
    from app.library.clips import render_span

    target = tmp_path / "span.wav"
    render_span(AUDIO / "excerpt.mp3", 2.2, 3.2, target)  # the file is 3.5 s: seeks first
    data = target.read_bytes()
    with wave.open(io.BytesIO(data)) as wav:
        assert abs(wav.getnframes() / wav.getframerate() - 1.0) < 0.03

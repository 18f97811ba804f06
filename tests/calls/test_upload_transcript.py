"""Upload → 202 → pipeline → transcript, through the real API with in-process jobs."""

from __future__ import annotations

from pathlib import Path

from app.users.models import Role
from tests.factories import make_team, make_user

PLAIN = (
    "Rep: Hi Dana, this is Sam from Acme. Thanks for taking the time today.\n"
    "Customer: Sure, happy to chat.\n"
    "Rep: Could you walk me through how your team handles forecasting today?\n"
    "Customer: Mostly spreadsheets, and it takes us two days every month.\n"
)


def _upload(client, person, data: bytes, name: str = "call.txt", **form):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/calls", headers=person.headers, files={"file": (name, data)}, data=form)


def test_transcript_upload_is_accepted_and_processed_to_ready(client) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    response = _upload(client, rep, PLAIN.encode(), title="Discovery with Dana")
    assert response.status_code == 202, response.text
    call_id = response.json()["id"]
    call = client.get(f"/api/v1/calls/{call_id}", headers=rep.headers).json()
    assert call["status"] == "ready", call
    assert call["language"] == "en"
    assert set(call["timings"]) >= {"attributing", "embedding"}
    transcript = client.get(f"/api/v1/calls/{call_id}/transcript", headers=rep.headers).json()
    roles = [u["role"] for u in transcript["utterances"]]
    assert roles == ["rep", "customer", "rep", "customer"]
    assert transcript["utterances"][3]["text"].startswith("Mostly spreadsheets")


def test_same_bytes_uploaded_twice_are_one_call(client) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    first = _upload(client, rep, PLAIN.encode()).json()
    second = _upload(client, rep, PLAIN.encode(), name="renamed.txt").json()
    assert second["id"] == first["id"] and second["duplicate"] is True
    listing = client.get("/api/v1/calls", headers=rep.headers).json()
    assert listing["total"] == 1


def test_exports_vtt_srt_and_text(client) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    call_id = _upload(client, rep, PLAIN.encode()).json()["id"]
    vtt = client.get(f"/api/v1/calls/{call_id}/transcript?format=vtt", headers=rep.headers)
    assert vtt.status_code == 200 and vtt.text.startswith("WEBVTT")
    srt = client.get(f"/api/v1/calls/{call_id}/transcript?format=srt", headers=rep.headers)
    assert "-->" in srt.text and "forecasting" in srt.text
    txt = client.get(f"/api/v1/calls/{call_id}/transcript?format=txt", headers=rep.headers)
    assert "Mostly spreadsheets" in txt.text


def test_chinese_plain_transcript_detects_language(client) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    text = "销售：您好，我是华工科技的小王。\n客户：你好，什么事？\n销售：想跟您约个时间聊聊设备改造的预算。\n"
    call_id = _upload(client, rep, text.encode()).json()["id"]
    call = client.get(f"/api/v1/calls/{call_id}", headers=rep.headers).json()
    assert call["language"] == "zh" and call["status"] == "ready"


def test_garbage_file_is_refused_with_a_helpful_415(client) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    response = _upload(client, rep, bytes(range(256)) * 20, name="notes.wav")
    assert response.status_code == 415
    assert "audio" in response.json()["detail"] and response.json()["error"] == "UnsupportedUpload"
    assert client.get("/api/v1/calls", headers=rep.headers).json()["total"] == 0


def test_empty_file_is_refused(client) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    response = _upload(client, rep, b"")
    assert response.status_code == 422 and "empty" in response.json()["detail"]


def test_malformed_transcript_names_the_problem(client) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    response = _upload(client, rep, b'{"utterances": [{"speaker": "a"}]}', name="x.json")
    assert response.status_code == 422
    assert response.json()["error"] == "InvalidTranscript"


def test_unauthenticated_upload_is_401(client) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/calls", files={"file": ("a.txt", PLAIN.encode())})
    assert response.status_code == 401


def test_a_rep_cannot_see_another_reps_call(client) -> None:  # type: ignore[no-untyped-def]
    team = make_team()
    alice, bob = make_user(Role.rep, team_id=team), make_user(Role.rep, team_id=team)
    call_id = _upload(client, alice, PLAIN.encode()).json()["id"]
    assert client.get(f"/api/v1/calls/{call_id}", headers=bob.headers).status_code == 404
    manager = make_user(Role.manager, team_id=team)
    assert client.get(f"/api/v1/calls/{call_id}", headers=manager.headers).status_code == 200
    other_manager = make_user(Role.manager, team_id=make_team("Team B"))
    assert client.get(f"/api/v1/calls/{call_id}", headers=other_manager.headers).status_code == 404


def test_delete_removes_rows_and_media(client, env: Path) -> None:  # type: ignore[no-untyped-def]
    team = make_team()
    rep = make_user(Role.rep, team_id=team)
    manager = make_user(Role.manager, team_id=team)
    call_id = _upload(client, rep, PLAIN.encode()).json()["id"]
    media = list((env / "media").rglob("*.txt"))
    assert len(media) == 1
    assert client.delete(f"/api/v1/calls/{call_id}", headers=manager.headers).status_code == 204
    assert client.get(f"/api/v1/calls/{call_id}", headers=manager.headers).status_code == 404
    assert not media[0].exists()


def test_reprocess_runs_the_pipeline_again(client) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    call_id = _upload(client, rep, PLAIN.encode()).json()["id"]
    response = client.post(f"/api/v1/calls/{call_id}/reprocess", headers=rep.headers)
    assert response.status_code == 202
    call = client.get(f"/api/v1/calls/{call_id}", headers=rep.headers).json()
    assert call["status"] == "ready"
    transcript = client.get(f"/api/v1/calls/{call_id}/transcript", headers=rep.headers).json()
    assert len(transcript["utterances"]) == 4


def test_metrics_come_with_formulas(client) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    call_id = _upload(client, rep, PLAIN.encode()).json()["id"]
    body = client.get(f"/api/v1/calls/{call_id}/metrics", headers=rep.headers).json()
    by_name = {m["name"]: m for m in body["metrics"]}
    assert len(by_name) == 8
    talk = next(m for name, m in by_name.items() if "talk" in name.lower())
    assert talk["unit"] == "%" and 0.0 < talk["value"] < 100.0 and talk["formula"]
    assert all(m["formula"] for m in body["metrics"])


def test_call_stages_from_a_form_a_sidecar_or_a_flag_are_one_clean_list() -> None:
    import pytest
    from pydantic import ValidationError

    from app.calls.schemas import CallMeta

    assert CallMeta(stages=" visit-survey, ,preliminary-proposal,visit-survey").stages == [
        "visit-survey", "preliminary-proposal"]
    assert CallMeta(stages=["技术交流"]).stages == ["技术交流"]  # a sidecar's list; any language's ids
    assert CallMeta(stages=" , ").stages is None
    for bad in ("x" * 81, "a\x00b"):
        with pytest.raises(ValidationError, match="not stage ids"):
            CallMeta(stages=[bad])

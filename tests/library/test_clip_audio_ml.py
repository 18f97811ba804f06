"""Playback of a clip cut from a real recording (real ASR), with HTTP Range requests."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import pytest

from app.users.models import Role
from tests.factories import make_team, make_user

AUDIO = Path(__file__).resolve().parents[1] / "fixtures" / "audio"


@pytest.mark.ml
def test_clip_audio_streams_only_the_span_and_honours_ranges(client) -> None:  # type: ignore[no-untyped-def]
    team_id = make_team()
    rep, manager = make_user(Role.rep, team_id=team_id), make_user(Role.manager, team_id=team_id)
    with (AUDIO / "dialog_en_mono.wav").open("rb") as handle:
        call_id = client.post("/api/v1/calls", headers=rep.headers, files={"file": ("d.wav", handle)},
                              data={"language": "en"}).json()["id"]
    assert client.get(f"/api/v1/calls/{call_id}", headers=rep.headers).json()["status"] == "ready"
    clip = client.post("/api/v1/clips", headers=manager.headers,
                       json={"call_id": call_id, "start": 7.4, "end": 12.2, "title": "Budget"}).json()
    assert "budget" in clip["text"].lower() and clip["audio_url"] == f"/api/v1/clips/{clip['id']}/audio"
    full = client.get(clip["audio_url"], headers=rep.headers)
    assert full.status_code == 200 and full.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(full.content)) as wav:
        assert abs(wav.getnframes() / wav.getframerate() - 4.8) < 0.02
    part = client.get(clip["audio_url"], headers={**rep.headers, "Range": "bytes=100-1099"})
    assert part.status_code == 206 and part.content == full.content[100:1100]
    assert part.headers["content-range"] == f"bytes 100-1099/{len(full.content)}"

"""PII is redacted at ingest: stored transcript, exports and search never see the original."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from app.library.clips import render_span
from app.users.models import Role
from tests.factories import make_team, make_user

AUDIO = Path(__file__).resolve().parents[1] / "fixtures" / "audio"
CALL = (
    "Rep: Hi, this is Sam from Acme. What's the best number to reach you?\n"
    "Customer: Call me on 138 0013 8000 or email dana.w@northwind.example.\n"
    "Rep: Thanks. And your budget for this project?\n"
    "Customer: Around fifty thousand.\n"
)


def test_uploaded_transcript_is_stored_redacted(client) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    call_id = client.post("/api/v1/calls", headers=rep.headers, files={"file": ("c.txt", CALL.encode())}).json()["id"]
    transcript = client.get(f"/api/v1/calls/{call_id}/transcript", headers=rep.headers).json()
    text = " ".join(u["text"] for u in transcript["utterances"])
    assert "138 0013 8000" not in text and "dana.w@northwind.example" not in text
    assert "[PHONE]" in text and "[EMAIL]" in text
    exported = client.get(f"/api/v1/calls/{call_id}/transcript?format=txt", headers=rep.headers).text
    assert "8000" not in exported


def test_redaction_can_be_switched_off_by_an_admin(client) -> None:  # type: ignore[no-untyped-def]
    team = make_team()
    admin = make_user(Role.admin)
    response = client.put(f"/api/v1/teams/{team}/privacy", headers=admin.headers, json={"redaction_enabled": False})
    assert response.status_code == 200, response.text
    rep = make_user(Role.rep, team_id=team)
    call_id = client.post("/api/v1/calls", headers=rep.headers, files={"file": ("c.txt", CALL.encode())}).json()["id"]
    transcript = client.get(f"/api/v1/calls/{call_id}/transcript", headers=rep.headers).json()
    assert "138 0013 8000" in " ".join(u["text"] for u in transcript["utterances"])


def test_redacted_audio_spans_play_as_a_tone(tmp_path: Path) -> None:
    target = tmp_path / "clip.wav"
    render_span(AUDIO / "dialog_en_mono.wav", 1.0, 3.0, target, tones=[(1.5, 2.0)])
    with wave.open(str(target)) as clip:
        rate = clip.getframerate()
        pcm = np.frombuffer(clip.readframes(clip.getnframes()), dtype="<i2").astype(np.float64)
    assert abs(len(pcm) / rate - 2.0) < 0.02
    toned = pcm[int(0.55 * rate): int(0.95 * rate)]
    spectrum = np.abs(np.fft.rfft(toned))
    peak_hz = np.argmax(spectrum) * rate / len(toned)
    assert abs(peak_hz - 1000) < 20, "the redacted span must be a 1 kHz tone"
    untouched = pcm[int(0.05 * rate): int(0.45 * rate)]
    assert np.argmax(np.abs(np.fft.rfft(untouched))) * rate / len(untouched) != peak_hz

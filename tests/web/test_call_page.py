"""The call page: timeline, SOP steps, metrics, transcript, escaping, permissions and media."""

from __future__ import annotations

import io
import re
import wave

from app.calls import storage
from app.calls.models import Call, CallStatus, SourceKind
from app.db import session_scope
from app.users.models import Role
from tests.factories import make_team, make_user
from tests.web.helpers import log_in, matched_call


def _timeline(html: str) -> str:
    found = re.search(r'<svg class="timeline".*?</svg>', html, re.DOTALL)
    assert found, "the call page has no timeline SVG"
    return found.group(0)


def test_matched_call_page_draws_one_bar_per_utterance_and_the_steps(client) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    call_id = matched_call(client, rep)
    utterances = client.get(f"/api/v1/calls/{call_id}/transcript", headers=rep.headers).json()["utterances"]
    log_in(client, rep)
    page = client.get(f"/calls/{call_id}")
    assert page.status_code == 200
    svg = _timeline(page.text)
    assert len(re.findall(r'<rect class="utt ', svg)) == len(utterances)
    assert "Set the agenda" in page.text or "Greeting" in page.text
    for name in ("Qualify budget", "Confirm the need"):  # a taken step, and one the call missed
        assert name in page.text, name
    assert "✗" in page.text and "adherence = 0.60" in page.text
    assert "Talk ratio" in page.text
    assert f'id="u{len(utterances) - 1}"' in page.text


def test_hostile_title_is_escaped(client) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    call_id = matched_call(client, rep, title="<script>alert(1)</script>")
    log_in(client, rep)
    for path in ("/", f"/calls/{call_id}"):
        html = client.get(path).text
        assert "<script>alert(1)</script>" not in html, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path


def test_another_teams_call_page_is_404(client) -> None:  # type: ignore[no-untyped-def]
    owner = make_user(Role.rep, team_id=make_team("Team A"))
    call_id = matched_call(client, owner)
    outsider = make_user(Role.manager, team_id=make_team("Team B"))
    log_in(client, outsider)
    page = client.get(f"/calls/{call_id}")
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    assert client.get(f"/calls/{call_id}/media").status_code == 404


def _audio_call(rep_id: int, team_id: int, *, redacted: list[list[float]] | None = None) -> int:
    """An audio call row with a real one-second silent WAV in the media store."""
    path = storage.media_root() / "test" / "one.wav"
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * 8000)
    with session_scope() as session:
        call = Call(sha256="a" * 64, title="Audio call", source_kind=SourceKind.audio, source_format="wav",
                    media_path="test/one.wav", size_bytes=path.stat().st_size, rep_id=rep_id, team_id=team_id,
                    status=CallStatus.ready, duration_s=1.0, redacted_audio_spans=redacted or [])
        session.add(call)
        session.flush()
        return call.id


def test_audio_call_plays_in_the_page_with_range_requests(client) -> None:  # type: ignore[no-untyped-def]
    team = make_team()
    rep = make_user(Role.rep, team_id=team)
    call_id = _audio_call(rep.id, team)
    log_in(client, rep)
    assert f'src="/calls/{call_id}/media"' in client.get(f"/calls/{call_id}").text
    whole = client.get(f"/calls/{call_id}/media")
    assert whole.status_code == 200 and whole.headers["content-type"] == "audio/wav"
    part = client.get(f"/calls/{call_id}/media", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100 and part.content[:4] == b"RIFF"


def test_redacted_spans_play_as_a_tone_not_the_original(client) -> None:  # type: ignore[no-untyped-def]
    team = make_team()
    rep = make_user(Role.rep, team_id=team)
    call_id = _audio_call(rep.id, team, redacted=[[0.25, 0.5]])
    log_in(client, rep)
    played = client.get(f"/calls/{call_id}/media")
    assert played.status_code == 200 and played.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(played.content)) as audio:
        rate = audio.getframerate()
        frames = audio.readframes(audio.getnframes())
    samples = memoryview(frames).cast("h")
    inside = samples[int(0.3 * rate):int(0.45 * rate)]
    before = samples[:int(0.2 * rate)]
    assert max(abs(v) for v in inside) > 1000, "the redacted span must carry the tone"
    assert max(abs(v) for v in before) == 0, "speech outside the span is untouched"


def test_calls_list_shows_a_failed_calls_error_and_filters_by_status(client) -> None:  # type: ignore[no-untyped-def]
    team = make_team()
    rep = make_user(Role.rep, team_id=team)
    matched_call(client, rep, title="Good call")
    with session_scope() as session:
        session.add(Call(sha256="b" * 64, title="Broken call", source_kind=SourceKind.audio, source_format="wav",
                         media_path="x.wav", size_bytes=1, rep_id=rep.id, team_id=team, status=CallStatus.failed,
                         failed_stage="transcribing", error="The recording is empty (0 s of audio)."))
    log_in(client, rep)
    everything = client.get("/").text
    assert "Good call" in everything and "The recording is empty (0 s of audio)." in everything
    failed_only = client.get("/", params={"status": "failed"}).text
    assert "Broken call" in failed_only and "Good call" not in failed_only


def test_coaches_get_label_review_controls_and_see_corrections(client) -> None:  # type: ignore[no-untyped-def]
    team = make_team()
    rep = make_user(Role.rep, team_id=team)
    manager = make_user(Role.manager, team_id=team)
    call_id = matched_call(client, rep)
    log_in(client, rep)
    page = client.get(f"/calls/{call_id}").text
    assert 'id="review"' not in page and 'class="relabel"' not in page  # reps read, coaches correct
    log_in(client, manager)
    page = client.get(f"/calls/{call_id}").text
    assert 'id="review"' in page and page.count('class="relabel"') > 5
    # Lines the matcher is unsure of are marked, so a reviewer looks there first.
    labels = client.get(f"/api/v1/calls/{call_id}/sop", headers=manager.headers).json()["result"]["utterances"]
    unsure = [u["index"] for u in labels if u["score"] < 0.7]
    assert unsure, "the fixture call has labels the matcher is unsure of"
    for u in labels:
        row = re.search(rf'<li id="u{u["index"]}".*?</li>', page, re.DOTALL).group(0)
        assert ('class="unsure"' in row) == (u["index"] in unsure), u
    # The page's own request, sent with the session cookie as call.js sends it.
    saved = client.put(f"/api/v1/calls/{call_id}/sop/review", headers={"Sec-Fetch-Site": "same-origin"},
                       json={"corrections": [{"index": 0, "step": None}], "complete": True})
    assert saved.status_code == 200, saved.text
    page = client.get(f"/calls/{call_id}").text
    assert "✎ corrected" in page and "every label checked" in page
    review = saved.json()["result"]["review"]
    assert f"{len(review['changed'])} changed" in page
    # A correction that agrees with the matcher is a confirmation, and the notice says so.
    agreed = next(u for u in saved.json()["result"]["utterances"] if u["index"] == 1)["step"]
    both = client.put(f"/api/v1/calls/{call_id}/sop/review", headers={"Sec-Fetch-Site": "same-origin"},
                      json={"corrections": [{"index": 0, "step": None}, {"index": 1, "step": agreed}], "complete": True})
    assert both.status_code == 200, both.text
    assert "1 confirmed as the matcher had them" in client.get(f"/calls/{call_id}").text
    page = client.get(f"/calls/{call_id}").text
    assert 'id="review-clear"' in page
    row = re.search(r'<li id="u0".*?</li>', page, re.DOTALL).group(0)
    assert '<option value="" selected>off-SOP</option>' in row
    assert 'class="unsure"' not in page  # a complete review confirmed every label
    # call.js reloads with ?relearn=1 when the save queued the SOP's re-match: the page says so.
    assert "are being re-matched" not in page
    assert 'are being re-matched' in client.get(f"/calls/{call_id}?relearn=1").text
    log_in(client, rep)
    assert 'are being re-matched' not in client.get(f"/calls/{call_id}?relearn=1").text

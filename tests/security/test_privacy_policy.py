"""Team privacy policy: the API, redaction of utterances at ingest, originals for admins, audio tone."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.calls.models import Call
from app.privacy import service as privacy_service
from app.privacy.schemas import PrivacySettings
from app.transcripts.formats import Utterance, Word
from app.users.models import Role
from tests.factories import make_team
from tests.security.helpers import person

PHONE_TEXT = "Call me on 138 1234 5678 or mail dana@example.com thanks"


def _words(text: str, start: float = 10.0, step: float = 0.5) -> tuple[Word, ...]:
    return tuple(Word(start=start + i * step, end=start + (i + 1) * step, text=w, probability=0.9)
                 for i, w in enumerate(text.split()))


def _utterance(text: str = PHONE_TEXT) -> Utterance:
    words = _words(text)
    return Utterance(index=0, speaker="right", role="customer", start=words[0].start, end=words[-1].end,
                     text=text, words=words)


def _call(session, team_id: int | None, kind: str = "audio") -> Call:  # type: ignore[no-untyped-def]
    call = Call(sha256=hashlib.sha256(f"{team_id}{kind}".encode()).hexdigest(), source_kind=kind,
                source_format="wav", media_path="x/y.wav", size_bytes=1, team_id=team_id)
    session.add(call)
    session.flush()
    return call


def _set_policy(session, team_id: int, **fields) -> None:  # type: ignore[no-untyped-def]
    privacy_service.update_team_settings(session=session, actor=None, team_id=team_id,
                                         settings_in=PrivacySettings(**fields))


def test_default_policy_redacts_phone_and_email_in_text_and_words(session) -> None:  # type: ignore[no-untyped-def]
    call = _call(session, make_team())
    (out,), spans = privacy_service.redact_utterances(session=session, call=call, utterances=[_utterance()])
    assert "1234" not in out.text and "dana@example.com" not in out.text
    assert "[PHONE]" in out.text and "[EMAIL]" in out.text
    joined = " ".join(w.text for w in out.words)
    assert "5678" not in joined and "example.com" not in joined
    assert [w.start for w in out.words] == [w.start for w in _utterance().words]  # timing kept
    assert spans == []  # no tone unless the team asks for it


def test_audio_tone_spans_cover_the_spoken_number(session) -> None:  # type: ignore[no-untyped-def]
    team = make_team()
    _set_policy(session, team, audio_tone=True, kinds=["phone"])
    call = _call(session, team)
    _, spans = privacy_service.redact_utterances(session=session, call=call, utterances=[_utterance()])
    # words 3..5 ("138", "1234", "5678") run from 11.5 s to 13.0 s
    assert len(spans) == 1
    assert spans[0][0] <= 11.5 and spans[0][1] >= 13.0 and spans[0][1] - spans[0][0] < 2.0


def test_uploaded_transcripts_get_no_audio_spans(session) -> None:  # type: ignore[no-untyped-def]
    team = make_team()
    _set_policy(session, team, audio_tone=True)
    call = _call(session, team, kind="transcript")
    _, spans = privacy_service.redact_utterances(session=session, call=call, utterances=[_utterance()])
    assert spans == []


def test_disabled_policy_leaves_utterances_untouched(session) -> None:  # type: ignore[no-untyped-def]
    team = make_team()
    _set_policy(session, team, redaction_enabled=False)
    utterances = [_utterance()]
    out, spans = privacy_service.redact_utterances(session=session, call=_call(session, team), utterances=utterances)
    assert out == utterances and spans == []


def test_amounts_only_when_the_policy_asks(session) -> None:  # type: ignore[no-untyped-def]
    team = make_team()
    text = "The price is $12,500 per year"
    (default,), _ = privacy_service.redact_utterances(
        session=session, call=_call(session, team), utterances=[_utterance(text)])
    assert "12,500" in default.text
    _set_policy(session, team, kinds=["amount"])
    (with_amounts,), _ = privacy_service.redact_utterances(
        session=session, call=_call(session, team, kind="transcript"), utterances=[_utterance(text)])
    assert "12,500" not in with_amounts.text


def test_originals_are_kept_only_when_the_policy_says_so(session) -> None:  # type: ignore[no-untyped-def]
    team = make_team()
    call = _call(session, team)
    privacy_service.redact_utterances(session=session, call=call, utterances=[_utterance()])
    assert privacy_service.original_utterances(session=session, call_id=call.id) == []
    _set_policy(session, team, keep_original=True)
    privacy_service.redact_utterances(session=session, call=call, utterances=[_utterance(), _utterance("hello")])
    originals = privacy_service.original_utterances(session=session, call_id=call.id)
    assert [(o.idx, o.text) for o in originals] == [(0, PHONE_TEXT)]  # only what changed


def test_original_transcript_is_admin_only_and_audited(client: TestClient) -> None:
    from app.db import session_scope

    team = make_team()
    admin, manager = person(Role.admin), person(Role.manager, team_id=team)
    with session_scope() as session:
        _set_policy(session, team, keep_original=True)
        call = _call(session, team)
        privacy_service.redact_utterances(session=session, call=call, utterances=[_utterance()])
        call_id = call.id
    assert client.get(f"/api/v1/calls/{call_id}/transcript/original", headers=manager.headers).status_code == 403
    body = client.get(f"/api/v1/calls/{call_id}/transcript/original", headers=admin.headers).json()
    assert body["utterances"][0]["text"] == PHONE_TEXT
    events = client.get("/api/v1/audit?action=call.original_view", headers=admin.headers).json()["items"]
    assert events[0]["target_id"] == str(call_id) and events[0]["actor_id"] == admin.id


def test_policy_api_round_trip_and_audit(client: TestClient) -> None:
    team, admin = make_team(), person(Role.admin)
    url = f"/api/v1/teams/{team}/privacy"
    default = client.get(url, headers=admin.headers).json()
    assert default["redaction_enabled"] is True and set(default["kinds"]) == {"phone", "email", "cn_id", "bank_card"}
    new = {**default, "kinds": ["phone", "amount"], "keep_original": True, "retention_days": 30}
    new.pop("team_id")
    saved = client.put(url, headers=admin.headers, json=new).json()
    assert saved["kinds"] == ["phone", "amount"] and saved["retention_days"] == 30
    assert client.get(url, headers=admin.headers).json() == saved
    actions = [e["action"] for e in client.get("/api/v1/audit", headers=admin.headers).json()["items"]]
    assert actions[:2] == ["team.retention_change", "team.privacy_change"]


@pytest.mark.parametrize("bad", [{"kinds": ["ssn"]}, {"style": "blur"}, {"retention_days": 0}, {"extra": 1}])
def test_policy_api_rejects_bad_settings_with_422(client: TestClient, bad: dict) -> None:
    team, admin = make_team(), person(Role.admin)
    response = client.put(f"/api/v1/teams/{team}/privacy", headers=admin.headers, json=bad)
    assert response.status_code == 422


def test_policy_of_unknown_team_is_404(client: TestClient) -> None:
    admin = person(Role.admin)
    assert client.get("/api/v1/teams/999/privacy", headers=admin.headers).status_code == 404


def test_apply_tone_replaces_only_the_spans() -> None:
    rate = 16000
    speech = np.full(rate * 3, 0.5, dtype=np.float32)
    out = privacy_service.apply_tone(speech, rate, [(1.0, 2.0)])
    assert np.all(out[: rate] == 0.5) and np.all(out[2 * rate + 1:] == 0.5)
    tone = out[rate:2 * rate]
    assert np.abs(tone).max() <= 0.2 + 1e-6 and not np.any(tone == 0.5)
    assert np.all(speech == 0.5)  # the input is not modified

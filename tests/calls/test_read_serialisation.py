"""The hot read routes serialise plain column values themselves (app/deps.json_rows_response):
their bytes must stay exactly what the response models (CallList, TranscriptOut) produce."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.calls import service as calls_service
from app.calls.schemas import CallList, CallRead
from app.db import session_scope
from app.transcripts import service as transcripts_service
from app.transcripts.router import TranscriptOut, UtteranceOut, WordOut
from app.users import service as users_service
from app.users.models import Role
from tests.factories import Person, make_team, make_user
from tests.security.helpers import transcript, upload


def _calls(client: TestClient, count: int) -> tuple[Person, list[int]]:
    rep = make_user(Role.rep, team_id=make_team())
    return rep, [upload(client, rep, transcript(f"call {i} at 1.5 seconds")) for i in range(count)]


def test_call_list_is_byte_for_byte_the_call_list_model(client: TestClient) -> None:
    rep, _ = _calls(client, 3)
    for query in ("", "?page_size=2", "?page=2&page_size=2", "?status=ready", "?language=zh"):
        response = client.get(f"/api/v1/calls{query}", headers=rep.headers)
        params = dict(p.split("=") for p in query.lstrip("?").split("&") if p)
        page, size = int(params.pop("page", 1)), int(params.pop("page_size", 50))
        with session_scope() as session:
            user = users_service.get_user(session=session, user_id=rep.id)
            items, total = calls_service.list_calls(session=session, user=user, offset=(page - 1) * size,
                                                    limit=size, **params)  # type: ignore[arg-type]
            expected = CallList(items=[CallRead.model_validate(c) for c in items], total=total, page=page,
                                page_size=size).model_dump_json()
        assert response.content == expected.encode(), query


def test_a_page_past_the_end_still_counts_every_call(client: TestClient) -> None:
    rep, _ = _calls(client, 2)
    listing = client.get("/api/v1/calls?page=5&page_size=1", headers=rep.headers).json()
    assert listing["items"] == [] and listing["total"] == 2


def test_transcript_json_is_byte_for_byte_the_transcript_model(client: TestClient) -> None:
    rep, (call_id,) = _calls(client, 1)
    response = client.get(f"/api/v1/calls/{call_id}/transcript", headers=rep.headers)
    with session_scope() as session:
        call = calls_service.get_call(session=session, call_id=call_id)
        utterances = transcripts_service.utterances(session=session, call_id=call_id)
        # Integral word times, as an ASR may store them, are floats in the model too.
        expected = TranscriptOut(
            call_id=call.id, language=call.language, duration_s=call.duration_s,
            attribution_method=call.attribution_method, attribution_confidence=call.attribution_confidence,
            utterances=[UtteranceOut(index=u.index, speaker=u.speaker, role=u.role, start=u.start, end=u.end,
                                     text=u.text, words=[WordOut(start=w.start, end=w.end, text=w.text,
                                                                 probability=w.probability) for w in u.words])
                        for u in utterances],
        ).model_dump_json()
    assert response.content == expected.encode()


def test_integral_word_times_are_written_as_floats(client: TestClient) -> None:
    rep, (call_id,) = _calls(client, 1)
    with session_scope() as session:
        rows = transcripts_service.rows(session=session, call_id=call_id)
        rows[0].words = [[1, 2, "Hi", None], [2, 3, "Dana", 1]]
    words = client.get(f"/api/v1/calls/{call_id}/transcript", headers=rep.headers).json()["utterances"][0]["words"]
    assert words == [{"start": 1.0, "end": 2.0, "text": "Hi", "probability": None},
                     {"start": 2.0, "end": 3.0, "text": "Dana", "probability": 1.0}]
    raw = client.get(f"/api/v1/calls/{call_id}/transcript", headers=rep.headers).content
    assert b'"start":1.0,"end":2.0' in raw and b'"probability":1.0' in raw

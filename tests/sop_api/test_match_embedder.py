"""SOP matching's own embedder per language: chosen by the SOP's language, its vectors stored beside
the search vectors at the embedding stage, read back on re-match, and computed once for calls
embedded before (then kept)."""

from __future__ import annotations

import numpy as np
from sqlalchemy import select

from app.db import session_scope
from app.sop.models import CallSopResult
from app.transcripts.models import UtteranceEmbedding
from models.config import get_model_settings
from models.embedder import get_embedder, match_embedder_name
from tests.sop_api.test_sop_review import _matched_call

MATCH = "hashing+hashing"  # another name and dimension than the tests' search embedder ("hashing")


def _match_with(monkeypatch, spec: str) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TALKTRACK_MATCH_EMBEDDERS", f'{{"en": "{spec}"}}')
    get_model_settings.cache_clear()


def _rows(call_id: int) -> list[UtteranceEmbedding]:
    with session_scope() as s:
        rows = s.scalars(select(UtteranceEmbedding).where(UtteranceEmbedding.call_id == call_id)).all()
        s.expunge_all()
        return list(rows)


def test_default_rule_english_sops_use_e5_with_mpnet_other_languages_the_search_embedder(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("TALKTRACK_MATCH_EMBEDDERS", raising=False)
    for main, en, zh in (("auto", "e5+mpnet", "auto"), ("e5", "e5+mpnet", "e5"), ("hashing", "hashing", "hashing")):
        monkeypatch.setenv("TALKTRACK_EMBEDDER", main)
        get_model_settings.cache_clear()
        assert (match_embedder_name("en"), match_embedder_name("zh"), match_embedder_name(None)) == (en, zh, main)
    _match_with(monkeypatch, "minilm")
    assert match_embedder_name("en") == "minilm" and match_embedder_name("zh") == "hashing"
    get_model_settings.cache_clear()


def test_an_english_call_keeps_its_matching_vectors_and_its_result_names_that_embedder(client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _match_with(monkeypatch, MATCH)
    _manager, _rep, call_id, body = _matched_call(client)
    rows = _rows(call_id)
    name = get_embedder(MATCH).name
    assert rows and {(r.model, r.match_model) for r in rows} == {(get_embedder("hashing").name, name)}
    assert {len(r.match_vector) // 4 for r in rows} == {get_embedder(MATCH).dim} != {r.dim for r in rows}
    with session_scope() as s:
        assert s.scalar(select(CallSopResult.embedding_model).where(CallSopResult.call_id == call_id)) == name
    assert body["result"]["utterances"]


def test_a_call_embedded_before_gets_its_matching_vectors_once_then_reads_them(client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _manager, rep, call_id, _first = _matched_call(client)  # embedded while matching used the search vectors
    assert {r.match_model for r in _rows(call_id)} == {None}
    _match_with(monkeypatch, MATCH)
    embedder = get_embedder(MATCH)
    calls = []
    original = type(embedder).embed

    def counting(self, texts, **kw):  # type: ignore[no-untyped-def]
        calls.append(len(texts))
        return original(self, texts, **kw)

    monkeypatch.setattr(type(embedder), "embed", counting)
    n_lines = len(_rows(call_id))
    assert client.post(f"/api/v1/calls/{call_id}/rematch", headers=rep).status_code in (200, 202)
    assert n_lines in calls  # the call's lines were embedded once, at this re-match
    stored = _rows(call_id)
    assert {r.match_model for r in stored} == {embedder.name}
    before = np.stack([np.frombuffer(r.match_vector, np.float32) for r in stored])
    calls.clear()
    assert client.post(f"/api/v1/calls/{call_id}/rematch", headers=rep).status_code in (200, 202)
    assert n_lines not in calls  # read back, not embedded again
    after = np.stack([np.frombuffer(r.match_vector, np.float32) for r in _rows(call_id)])
    np.testing.assert_array_equal(before, after)

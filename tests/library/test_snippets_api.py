"""Snippets cut from a matched call, scored with an explanation, served by the API."""

from __future__ import annotations

import pytest

from tests.library.helpers import EN_CALL, upload, world


def test_ready_call_gets_scored_snippets_whose_parts_sum_to_the_score(client) -> None:  # type: ignore[no-untyped-def]
    w = world(client)
    call_id = upload(client, w.rep, EN_CALL)
    listed = client.get(f"/api/v1/snippets?call_id={call_id}", headers=w.rep.headers).json()
    assert listed["total"] >= 5
    snippet = client.get(f"/api/v1/snippets/{listed['items'][0]['id']}", headers=w.rep.headers).json()
    parts = {p["name"]: p for p in snippet["explanation"]["parts"]}
    assert set(parts) == {"customer_response", "outcome", "step_fit"}
    assert sum(p["contribution"] for p in parts.values()) == pytest.approx(snippet["score"], abs=1e-3)
    assert all(p["contribution"] == pytest.approx(p["weight"] * p["value"], abs=1e-3) for p in parts.values())
    assert parts["customer_response"]["evidence"]["customer_reply"] == snippet["customer_text"] != ""
    assert parts["outcome"]["evidence"]["outcome"] is None and "unknown" in parts["outcome"]["evidence"]["note"]
    assert snippet["link"] == f"/calls/{call_id}?t={int(snippet['start'])}"


def test_snippets_are_rep_moments_at_rep_side_steps(client) -> None:  # type: ignore[no-untyped-def]
    w = world(client)
    call_id = upload(client, w.rep, EN_CALL)
    items = client.get(f"/api/v1/snippets?call_id={call_id}&page_size=100", headers=w.rep.headers).json()["items"]
    customer_steps = {"customer-describes-pain", "customer-objection", "customer-confirms-next-step"}
    assert items and not {s["step_id"] for s in items} & customer_steps
    transcript = client.get(f"/api/v1/calls/{call_id}/transcript", headers=w.rep.headers).json()["utterances"]
    roles = {u["index"]: u["role"] for u in transcript}
    assert all(roles[i] == "rep" for s in items for i in s["utterance_indexes"])
    assert all(roles[i] == "customer" for s in items for i in s["response_indexes"])


def test_unknown_snippet_is_404(client) -> None:  # type: ignore[no-untyped-def]
    w = world(client)
    response = client.get("/api/v1/snippets/999", headers=w.rep.headers)
    assert response.status_code == 404 and response.json()["error"] == "SnippetNotFound"


def test_rematching_a_call_recuts_its_snippets_without_duplicates(client) -> None:  # type: ignore[no-untyped-def]
    from workers.match import rematch_call

    w = world(client)
    call_id = upload(client, w.rep, EN_CALL)
    before = client.get(f"/api/v1/snippets?call_id={call_id}", headers=w.rep.headers).json()["total"]
    assert rematch_call(call_id) is True
    after = client.get(f"/api/v1/snippets?call_id={call_id}", headers=w.rep.headers).json()["total"]
    assert after == before

"""One search over snippets, clips and talk tracks: relevance, filters, highlights, bad input."""

from __future__ import annotations

import pytest

from tests.library.helpers import EN_CALL, REPO, upload, world

ZH_SOP = (REPO / "sop_definitions" / "telesales-invitation.zh.yaml").read_bytes()
ZH_CALL = (REPO / "tests" / "fixtures" / "transcripts" / "zh_invite.txt").read_bytes()

# Labelled queries: words a rep would type → a phrase of the moment that must come back (top 10).
LABELLED = [
    ("walk me through the quarterly forecast", "walk me through"),
    ("who else is involved in the decision", "who else would be involved"),
    ("price for a team of our size", "list price"),
    ("timeline event driving this", "timeline"),
    ("销售团队多少人", "销售团队大概多少人"),
    ("数据汇总要花多长时间", "汇总一次大概要花多长时间"),
]


@pytest.fixture
def library(client):  # type: ignore[no-untyped-def]
    w = world(client)
    client.post("/api/v1/sops", headers=w.admin.headers, content=ZH_SOP)
    en = upload(client, w.rep, EN_CALL)
    zh = upload(client, w.rep, ZH_CALL, name="zh.txt", sop_id="telesales-invitation", language="zh")
    return w, en, zh


def _search(client, person, **params):  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/library/search", headers=person.headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_labelled_queries_in_english_and_chinese_have_full_recall_at_10(client, library) -> None:  # type: ignore[no-untyped-def]
    w, _, _ = library
    found = 0
    for query, expected in LABELLED:
        items = _search(client, w.rep, q=query, type="snippet", page_size=10)["items"]
        found += any(expected in item["text"].lower() for item in items)
    assert found / len(LABELLED) == 1.0


def test_results_carry_highlights_and_a_link_to_the_moment(client, library) -> None:  # type: ignore[no-untyped-def]
    w, en, _ = library
    item = _search(client, w.rep, q="forecast", type="snippet")["items"][0]
    assert "<mark>forecast</mark>" in item["highlight"].lower()
    assert "<mark>forecast</mark>" in item["context_highlight"].lower()
    assert item["call_id"] == en and item["link"] == f"/calls/{en}?t={int(item['start'])}"
    assert item["bm25_rank"] is not None and item["vector_rank"] is not None  # found by both halves


def test_filters_by_language_step_team_and_type(client, library) -> None:  # type: ignore[no-untyped-def]
    w, _, zh = library
    assert {i["call_id"] for i in _search(client, w.rep, q="问题 budget", language="zh", type="snippet")["items"]} == {zh}
    step = _search(client, w.rep, q="budget", type="snippet")["items"][0]["step_id"]
    narrowed = _search(client, w.rep, q="budget", step=step, type=["snippet", "clip"])["items"]
    assert narrowed and all(i["step_id"] == step for i in narrowed)
    assert _search(client, w.rep, q="budget", team_id=w.team_id + 999)["items"] == []
    clips = _search(client, w.rep, q="budget price forecast", type="clip")["items"]
    assert clips and {i["type"] for i in clips} == {"clip"}


def test_score_and_outcome_filters_narrow_results(client, library) -> None:  # type: ignore[no-untyped-def]
    w, _, _ = library
    high = _search(client, w.rep, q="budget price forecast team", type="snippet", min_score=0.5)["items"]
    assert all(i["score"] >= 0.5 for i in high)
    assert _search(client, w.rep, q="budget", outcome="won")["items"] == []  # no deals linked


def test_talk_tracks_are_searchable(client, library) -> None:  # type: ignore[no-untyped-def]
    w, _, _ = library
    items = _search(client, w.rep, q="price objection", type="talk_track")["items"]
    assert items and items[0]["talk_track_id"] and items[0]["usage_count"] >= 1


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": "   "}, "empty"),
        ({"q": "budget", "page_size": 100000}, "page_size"),
        ({"q": "budget", "page": 50, "page_size": 50}, "1000"),
        ({"q": "budget", "colour": "red"}, "Unknown parameter"),
        ({"q": "budget", "outcome": "maybe"}, "outcome"),
        ({"q": "budget", "type": "video"}, "Unknown result type"),
        ({"q": "x" * 600}, "at most"),
    ],
)
def test_bad_search_input_is_422_with_a_clear_message(client, params, message) -> None:  # type: ignore[no-untyped-def]
    w = world(client)
    response = client.get("/api/v1/library/search", headers=w.rep.headers, params=params)
    assert response.status_code == 422 and message in str(response.json()["detail"])


def test_search_requires_authentication(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/api/v1/library/search", params={"q": "budget"}).status_code == 401

"""Talk tracks: near-identical phrasings grouped, variants ranked by score and outcome, topics labelled."""

from __future__ import annotations

import numpy as np

from app.library.lexicons import LibrarySettings
from app.library.models import Snippet, TalkTrackVariant
from app.library.talk_tracks import assign_topics, build_variants, match_variants, wilson
from models.embedder import HashingEmbedder
from tests.library.helpers import EN_CALL, transcript, upload, world

EMBED = HashingEmbedder()
SETTINGS = LibrarySettings()


def _snippet(i: int, text: str, score: float, outcome: str | None, before: str = "") -> Snippet:
    return Snippet(id=i, call_id=i, rep_text=text, score=score, outcome=outcome, customer_before=before,
                   features={}, language="en", step_id="handle-objection", rep_name=f"rep{i}", team_id=1, rep_id=i,
                   start=0.0, vector=EMBED.embed([text])[0].tobytes(), vector_model="hashing")


BUDGET = ["What budget have you set aside for this project?", "Have you set aside a budget for this project?",
          "What's the budget you set aside for this project?"]
OTHER = ["Who else would be involved in a decision like this?", "Who else is involved in the decision?"]
UNRELATED = ["Tell me about your current forecasting process.", "How do you build the forecast today?",
             "Could you walk me through how your team forecasts today?"]

SECOND_CALL = transcript([
    ("Rep", "Hi, this is Sam from Northwind Analytics. Thanks for taking the time today."),
    ("Customer", "Sure, happy to talk."),
    ("Rep", "Could you walk me through how your team builds the quarterly forecast today?"),
    ("Customer", "We export everything to spreadsheets and it takes our analysts two days every week."),
    ("Rep", "What did the last forecast miss cost the business?"),
    ("Customer", "We froze hiring for a quarter. How would your product prevent that?"),
    ("Rep", "Can we lock in a time before we hang up? I'll send a calendar invite for Monday morning."),
    ("Customer", "Sure, Monday morning works for me."),
])


def _center(snippets: list[Snippet]) -> np.ndarray:
    return np.mean([np.frombuffer(s.vector, np.float32) for s in snippets], axis=0)


def test_near_identical_phrasings_form_one_variant() -> None:
    snippets = [_snippet(i, t, 0.5, None) for i, t in enumerate(BUDGET + OTHER + UNRELATED, start=1)]
    variants = build_variants(snippets, SETTINGS, {}, _center(snippets))
    groups = sorted(sorted(v.snippet_ids) for v in variants)
    assert [1, 2, 3] in groups and [4, 5] in groups


def test_variant_that_advanced_deals_with_higher_scores_ranks_first() -> None:
    snippets = ([_snippet(i, t, 0.45, "stalled") for i, t in enumerate(BUDGET, start=1)]
                + [_snippet(i, t, 0.7, "advanced") for i, t in enumerate(OTHER, start=10)])
    snippets += [_snippet(20, UNRELATED[0], 0.2, None)]
    variants = build_variants(snippets, SETTINGS, {}, _center(snippets))
    assert [sorted(v.snippet_ids) for v in variants[:2]] == [[10, 11], [1, 2, 3]]
    top = variants[0]
    assert top.rank == 1 and top.usage_count == 2 and top.advancement_rate == 1.0
    assert top.rank_score == round(0.6 * 0.7 + 0.4 * 3 / 4, 4)
    assert variants[1].advancement_rate == 0.0 and variants[-1].advancement_rate is None
    assert top.meta["advancement_interval_95"] == wilson(2, 2)


def test_customer_topics_get_readable_labels_in_both_languages() -> None:
    snippets = [_snippet(1, "x", 0.5, None, before="Honestly it's too expensive for us."),
                _snippet(2, "y", 0.5, None, before="这个价格太贵了。"),
                _snippet(3, "z", 0.5, None, before="We already use something built into our CRM.")]
    topics = assign_topics(snippets, SETTINGS)
    assert snippets[0].topic == snippets[1].topic == "price-objection"
    assert topics["price-objection"]["label"] == "price objection · 价格太贵"
    assert snippets[2].topic == "already-have-solution"


def test_wilson_interval_brackets_the_rate() -> None:
    low, high = wilson(7, 10)  # type: ignore[misc]
    assert low < 0.7 < high and wilson(0, 0) is None


def test_new_calls_update_talk_track_ranking_without_a_manual_step(client) -> None:  # type: ignore[no-untyped-def]
    w = world(client)
    upload(client, w.rep, EN_CALL)
    before = {t["key"]: t["usage_count"] for t in client.get("/api/v1/talk-tracks", headers=w.rep.headers).json()}
    upload(client, w.rep, SECOND_CALL, name="second.txt")
    tracks = client.get("/api/v1/talk-tracks?kind=step", headers=w.rep.headers).json()
    after = {t["key"]: t["usage_count"] for t in tracks}
    assert sum(after.values()) > sum(v for k, v in before.items() if k in after)
    for track in tracks:
        scores = [v["rank_score"] for v in track["variants"]]
        assert scores == sorted(scores, reverse=True) and [v["rank"] for v in track["variants"]] == list(
            range(1, len(scores) + 1))


def test_talk_tracks_filter_by_step_and_topic(client) -> None:  # type: ignore[no-untyped-def]
    w = world(client)
    upload(client, w.rep, EN_CALL)
    tracks = client.get("/api/v1/talk-tracks", headers=w.rep.headers).json()
    step = next(t for t in tracks if t["kind"] == "step")
    only = client.get(f"/api/v1/talk-tracks?step={step['key']}", headers=w.rep.headers).json()
    assert [t["id"] for t in only] == [step["id"]] and only[0]["variants"][0]["meta"]["examples"]
    price = client.get("/api/v1/talk-tracks?topic=price", headers=w.rep.headers).json()
    assert price and all(t["kind"] == "topic" for t in price)


def _stored_variant(variant_id: int, members: list[str]) -> TalkTrackVariant:
    return TalkTrackVariant(id=variant_id, meta={"members": members})


def test_variant_keeps_its_id_when_its_snippets_were_recut() -> None:
    old = [_stored_variant(7, ["1:2", "1:9", "2:4"]), _stored_variant(8, ["3:1"])]
    recut = [_snippet(40 + i, BUDGET[i], 0.5, None) for i in range(3)]
    for s, (call_id, first) in zip(recut, [(1, 2), (1, 9), (2, 4)], strict=True):
        s.call_id, s.utterance_indexes = call_id, [first, first + 1]
    new = build_variants(recut, SETTINGS, {}, None)
    assert len(new) == 1 and match_variants(old, new) == {0: old[0]}


def test_split_variant_keeps_its_id_on_the_larger_part_and_strangers_get_none() -> None:
    old = [_stored_variant(7, ["1:1", "1:2", "1:3", "1:4", "1:5"])]
    new = [_stored_variant(0, ["1:4", "1:5"]), _stored_variant(0, ["1:1", "1:2", "1:3"]),
           _stored_variant(0, ["9:1", "9:2", "9:3", "1:5"])]
    assert match_variants(old, new) == {1: old[0]}


def test_talk_track_and_variant_ids_survive_a_refresh_that_adds_a_call(client) -> None:  # type: ignore[no-untyped-def]
    w = world(client)
    upload(client, w.rep, EN_CALL)
    before = client.get("/api/v1/talk-tracks", headers=w.rep.headers).json()
    upload(client, w.rep, SECOND_CALL, name="second.txt")
    after = {t["id"]: t for t in client.get("/api/v1/talk-tracks", headers=w.rep.headers).json()}
    for track in before:
        assert after[track["id"]]["key"] == track["key"]
        now = {v["id"]: set(v["snippet_ids"]) for v in after[track["id"]]["variants"]}
        for variant in track["variants"]:  # the first call's snippets were not re-cut
            assert set(variant["snippet_ids"]) <= now[variant["id"]]


def test_unknown_talk_track_filter_or_kind_is_422_saying_what_is_allowed(client) -> None:  # type: ignore[no-untyped-def]
    w = world(client)
    colour = client.get("/api/v1/talk-tracks?colour=red", headers=w.rep.headers)
    kind = client.get("/api/v1/talk-tracks?kind=video", headers=w.rep.headers)
    assert colour.status_code == 422 and "Unknown parameter(s) colour" in colour.json()["detail"]
    assert kind.status_code == 422 and "step, topic" in kind.json()["detail"]

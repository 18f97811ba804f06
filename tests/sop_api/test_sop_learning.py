"""What reviews teach the matcher reaches every call of the SOP: automatic and requested re-matches,
the learning status (API, CLI), and the reviewed-lines cache following re-matched reviewed calls."""

from __future__ import annotations

from rich.console import Console
from typer.testing import CliRunner

from app.audit.models import AuditEvent
from app.config import get_settings
from app.db import session_scope
from app.sop.cli import sop_app
from app.users.models import Role
from tests.factories import make_team, make_user
from tests.sop_api.test_sop_review import CALL, DISCOVERY, _label, _matched_call


def _rematch_after(monkeypatch, n: int) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TALKTRACK_SOP_REVIEW_REMATCH_AFTER", str(n))
    get_settings.cache_clear()


def _second_call(client, rep):  # type: ignore[no-untyped-def]
    """Another call of b2b-discovery with the same lines (plus one), matched before any review."""
    second = CALL + b"\nRep: Thanks again, talk soon.\n"
    call_id = client.post("/api/v1/calls", headers=rep, files={"file": ("d.txt", second)},
                          data={"sop_id": "b2b-discovery"}).json()["id"]
    return call_id, client.get(f"/api/v1/calls/{call_id}/sop", headers=rep).json()


def _a_rep_line_to_move(body):  # type: ignore[no-untyped-def]
    rows = body["result"]["utterances"]
    return next(u for u in rows[len(rows) // 3:] if u["role"] == "rep" and u["step"] not in (None, "qualify-timeline")
                and len(u["text"]) > 40)


def test_enough_reviews_rematch_the_sops_calls_with_what_they_taught(client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _rematch_after(monkeypatch, 2)
    manager, rep, call_id, first = _matched_call(client)
    other_id, other = _second_call(client, rep)
    line = _a_rep_line_to_move(first)
    before = _label(other, line["index"])
    assert not any("qualify-timeline" in e for e in before["evidence"])
    review = {"corrections": [{"index": line["index"], "step": "qualify-timeline"}]}
    once = client.put(f"/api/v1/calls/{call_id}/sop/review", headers=manager, json=review)
    assert once.status_code == 200 and once.json()["sop_rematch_queued"] is False
    unchanged = client.get(f"/api/v1/calls/{other_id}/sop", headers=rep).json()
    assert unchanged["matched_at"] == other["matched_at"]  # one review change: not yet
    status = client.get("/api/v1/sops/b2b-discovery/learning", headers=manager).json()
    assert status["review_changes_since_rematch"] == 1 and status["last_rematch"] is None
    twice = client.put(f"/api/v1/calls/{call_id}/sop/review", headers=manager, json=review | {"complete": True})
    assert twice.status_code == 200 and twice.json()["sop_rematch_queued"] is True
    # The second change re-matched every call of the SOP (jobs run in-process in tests): the other
    # call's line now carries the reviewed line as evidence for qualify-timeline.
    after = client.get(f"/api/v1/calls/{other_id}/sop", headers=rep).json()
    assert after["matched_at"] != other["matched_at"]
    moved = _label(after, line["index"])
    if moved["step"] == "qualify-timeline":
        assert f'example: "{line["text"].strip()}" (1.00)' in moved["evidence"]
    else:
        assert "context: chosen over 'qualify-timeline', which scored higher alone" in moved["evidence"], moved
    # The reviewed call keeps its correction through its own re-match.
    assert _label(client.get(f"/api/v1/calls/{call_id}/sop", headers=rep).json(), line["index"])["step"] == "qualify-timeline"
    status = client.get("/api/v1/sops/b2b-discovery/learning", headers=manager).json()
    assert status["review_changes_since_rematch"] == 0
    assert status["last_rematch"]["calls"] == 2


def test_with_the_setting_off_reviews_never_rematch_on_their_own(client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _rematch_after(monkeypatch, 0)
    manager, rep, call_id, first = _matched_call(client)
    other_id, other = _second_call(client, rep)
    line = _a_rep_line_to_move(first)
    for complete in (False, True, False):
        body = client.put(f"/api/v1/calls/{call_id}/sop/review", headers=manager,
                          json={"corrections": [{"index": line["index"], "step": "off-sop"}], "complete": complete}).json()
        assert body["sop_rematch_queued"] is False
    assert client.get(f"/api/v1/calls/{other_id}/sop", headers=rep).json()["matched_at"] == other["matched_at"]
    status = client.get("/api/v1/sops/b2b-discovery/learning", headers=manager).json()
    assert status["review_changes_since_rematch"] == 3 and status["rematch_after"] == 0
    # Asked for, it happens at once, and it is audited.
    asked = client.post("/api/v1/sops/b2b-discovery/rematch", headers=manager)
    assert asked.status_code == 202, asked.text
    assert client.get(f"/api/v1/calls/{other_id}/sop", headers=rep).json()["matched_at"] != other["matched_at"]
    status = client.get("/api/v1/sops/b2b-discovery/learning", headers=manager).json()
    assert status["review_changes_since_rematch"] == 0 and status["last_rematch"]["calls"] == 2
    with session_scope() as session:
        events = session.query(AuditEvent).filter(AuditEvent.action == "sop.rematch").all()
        assert [(e.target_type, e.target_id) for e in events] == [("sop", "b2b-discovery")]


def test_learning_status_shows_lines_per_step_only_from_visible_calls(client) -> None:  # type: ignore[no-untyped-def]
    manager, rep, call_id, first = _matched_call(client)
    line = _a_rep_line_to_move(first)
    client.put(f"/api/v1/calls/{call_id}/sop/review", headers=manager,
               json={"corrections": [{"index": line["index"], "step": "qualify-timeline"}]})
    mine = client.get("/api/v1/sops/b2b-discovery/learning", headers=manager).json()
    steps = {s["step_id"]: s for s in mine["steps"]}
    assert steps["qualify-timeline"]["learned"] == 1
    assert steps["qualify-timeline"]["learned_examples"] == [line["text"].strip()]
    assert steps["qualify-timeline"]["examples"] >= 5  # the SOP file's own
    assert sum(s["learned"] for s in mine["steps"]) == 1  # a partial review teaches its corrected lines only
    assert mine["reviewed_calls"] == 1 and mine["complete_reviews"] == 0
    # Another team's manager sees that the matcher learned a line, but not the line itself.
    stranger = make_user(Role.manager, team_id=make_team("Team B")).headers
    theirs = {s["step_id"]: s for s in client.get("/api/v1/sops/b2b-discovery/learning", headers=stranger).json()["steps"]}
    assert theirs["qualify-timeline"]["learned"] == 1 and theirs["qualify-timeline"]["learned_examples"] == []
    assert client.get("/api/v1/sops/b2b-discovery/learning", headers=rep).status_code == 403
    assert client.post("/api/v1/sops/b2b-discovery/rematch", headers=rep).status_code == 403
    assert client.get("/api/v1/sops/no-such-sop/learning", headers=manager).status_code == 404
    assert client.get("/api/v1/sops/b2b-discovery/learning?version=1", headers=manager).json()["version"] == 1
    assert client.get("/api/v1/sops/b2b-discovery/learning?version=9", headers=manager).status_code == 404
    assert client.get("/api/v1/sops/b2b-discovery/learning?version=0", headers=manager).status_code == 422
    assert client.post("/api/v1/sops/no-such-sop/rematch", headers=manager).status_code == 404


def test_reviewed_lines_follow_a_reviewed_call_matched_again(client) -> None:  # type: ignore[no-untyped-def]
    """A complete review covers the version it was made against: once a new version re-matched the
    call, only its corrected lines still teach, and the cached lines say so without a new review."""
    from app.sop import matching, review
    from app.sop import service as sop_service

    manager, rep, call_id, first = _matched_call(client)
    line = _a_rep_line_to_move(first)
    client.put(f"/api/v1/calls/{call_id}/sop/review", headers=manager,
               json={"corrections": [{"index": line["index"], "step": "qualify-timeline"}], "complete": True})
    with session_scope() as session:
        row = sop_service.get_version(session=session, sop_id="b2b-discovery")
        sop = sop_service.definition_of(row)
        complete = matching.reviewed_lines(session, sop, row.version)
    assert sum(len(v) for v in complete.values()) > 1
    admin = make_user(Role.admin).headers
    changed = DISCOVERY.replace("name: ", "name: Revised ", 1)
    assert client.post("/api/v1/sops", headers=admin, content=changed.encode()).json()["version"] == 2
    body = client.get(f"/api/v1/calls/{call_id}/sop", headers=rep).json()
    assert body["sop_version"] == 2 and body["result"]["review"]["complete"] is False
    with session_scope() as session:
        row = sop_service.get_version(session=session, sop_id="b2b-discovery")
        sop = sop_service.definition_of(row)
        cached = matching.reviewed_lines(session, sop, row.version)
        fresh = review.reviewed_examples(session=session, sop=sop, per_step=get_settings().sop_review_examples_per_step)
    assert cached == fresh == {"qualify-timeline": (line["text"].strip(),)}


def test_cli_learning_and_rematch(client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _manager, rep, call_id, first = _matched_call(client)
    monkeypatch.setattr("app.db.init_db", lambda: None)  # the test database is already at head
    monkeypatch.setattr("app.sop.cli.console", Console(width=300))  # wide: lines are matched whole
    line = _a_rep_line_to_move(first)
    runner = CliRunner()
    assert runner.invoke(sop_app, ["review", str(call_id), "--set", f"{line['index']}=qualify-timeline"]).exit_code == 0
    shown = runner.invoke(sop_app, ["learning", "b2b-discovery"])
    assert shown.exit_code == 0, shown.output
    assert "qualify-timeline" in shown.output and line["text"].strip()[:40] in shown.output
    assert "1 review change(s) since the calls were last re-matched" in shown.output
    unknown = runner.invoke(sop_app, ["learning", "no-such-sop"])
    assert unknown.exit_code == 1 and "no-such-sop" in unknown.output
    matched_at = client.get(f"/api/v1/calls/{call_id}/sop", headers=rep).json()["matched_at"]
    here = runner.invoke(sop_app, ["rematch", "b2b-discovery"])
    assert here.exit_code == 0, here.output
    assert "re-matched 1 call(s) of b2b-discovery" in here.output
    again = client.get(f"/api/v1/calls/{call_id}/sop", headers=rep).json()
    assert again["matched_at"] != matched_at
    assert _label(again, line["index"])["step"] == "qualify-timeline"  # the correction survives
    assert "0 review change(s)" in runner.invoke(sop_app, ["learning", "b2b-discovery"]).output
    queued = runner.invoke(sop_app, ["rematch", "b2b-discovery", "--queue"])
    assert queued.exit_code == 0 and "queued" in queued.output
    # The queued job ran (jobs run in-process in tests): the call was matched once more.
    assert client.get(f"/api/v1/calls/{call_id}/sop", headers=rep).json()["matched_at"] != again["matched_at"]
    assert runner.invoke(sop_app, ["rematch", "no-such-sop"]).exit_code == 1


def test_a_sop_index_is_cached_per_content_not_only_id_and_version(client) -> None:  # type: ignore[no-untyped-def]
    """A database rebuilt under a running process may hold another definition under the same id and
    version: the process must not match with the first one's examples."""
    from app import ml
    from app.sop import matching
    from app.sop.loader import load_sop, sop_hash
    from app.sop.models import SopVersion

    embedder = ml.get_embedder()
    first = load_sop(DISCOVERY, source="a.yaml")
    other = load_sop(DISCOVERY.replace("id: tailored-value", "id: value-tailored", 1), source="b.yaml")
    rows = [SopVersion(sop_id=d.id, version=1, definition=d.model_dump(mode="json"), content_hash=sop_hash(d))
            for d in (first, other)]
    a = matching.sop_index(first, rows[0], embedder)
    b = matching.sop_index(other, rows[1], embedder)
    assert "tailored-value" in a.step_ids and "value-tailored" in b.step_ids
    assert matching.sop_index(first, rows[0], embedder) is a  # the same version again: cached


def test_the_review_queue_puts_the_most_expected_wrong_labels_first(client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("app.sop.cli.console", Console(width=300))
    monkeypatch.setattr("app.db.init_db", lambda: None)
    manager, rep, call_id, first = _matched_call(client)
    other_id, other = _second_call(client, rep)
    body = client.get("/api/v1/sops/b2b-discovery/review-queue", headers=manager)
    assert body.status_code == 200, body.text
    queue = body.json()["calls"]
    expected = {
        c["call_id"]: round(sum(1 - u["score"] for u in c["result"]["utterances"] if u["score"] is not None), 2)
        for c in (first, other)
    }
    lines = {c["call_id"]: len(c["result"]["utterances"]) for c in (first, other)}
    share = {i: expected[i] / lines[i] for i in expected}
    average = sum(expected.values()) / sum(lines.values())
    priority = {i: (expected[i] + 10 * average) / (lines[i] + 10) for i in expected}  # shrunk for short calls
    assert [q["call_id"] for q in queue] == sorted(expected, key=lambda i: (-round(priority[i], 4), -expected[i], i))
    assert {q["call_id"]: q["expected_wrong"] for q in queue} == expected
    assert all(abs(q["expected_wrong_share"] - share[q["call_id"]]) < 1e-3 for q in queue)
    assert all(abs(q["priority"] - priority[q["call_id"]]) < 1e-3 for q in queue)
    for q in queue:
        source = first if q["call_id"] == call_id else other
        assert q["unsure_lines"] == sum(u["score"] < 0.7 for u in source["result"]["utterances"])
        assert q["partially_reviewed"] is False
    # A partial review: its corrected lines count as certain. A complete review leaves the queue.
    line = _a_rep_line_to_move(first)
    client.put(f"/api/v1/calls/{call_id}/sop/review", headers=manager,
               json={"corrections": [{"index": line["index"], "step": "qualify-timeline"}]})
    partial = {q["call_id"]: q for q in client.get("/api/v1/sops/b2b-discovery/review-queue", headers=manager).json()["calls"]}
    assert partial[call_id]["partially_reviewed"] is True
    assert partial[call_id]["expected_wrong"] == round(expected[call_id] - (1 - line["score"]), 2)
    client.put(f"/api/v1/calls/{call_id}/sop/review", headers=manager, json={"corrections": [], "complete": True})
    left = client.get("/api/v1/sops/b2b-discovery/review-queue?limit=1", headers=manager).json()["calls"]
    assert [q["call_id"] for q in left] == [other_id]
    # Who may see it: coaches of the calls' team; a rep is refused, another team sees nothing.
    assert client.get("/api/v1/sops/b2b-discovery/review-queue", headers=rep).status_code == 403
    stranger = make_user(Role.manager, team_id=make_team("Team B")).headers
    assert client.get("/api/v1/sops/b2b-discovery/review-queue", headers=stranger).json()["calls"] == []
    assert client.get("/api/v1/sops/no-such-sop/review-queue", headers=manager).status_code == 404
    assert client.get("/api/v1/sops/b2b-discovery/review-queue?limit=0", headers=manager).status_code == 422
    shown = CliRunner().invoke(sop_app, ["review-queue", "b2b-discovery"])
    assert shown.exit_code == 0, shown.output
    assert f"{expected[other_id]:.1f}" in shown.output and "to review next" in shown.output
    assert CliRunner().invoke(sop_app, ["review-queue", "no-such-sop"]).exit_code == 1


def test_automatic_rematches_wait_for_the_interval_then_the_periodic_check_runs_them(client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from app.sop import learning
    from app.sop.models import SopLearning

    _rematch_after(monkeypatch, 1)
    monkeypatch.setenv("TALKTRACK_SOP_REVIEW_REMATCH_INTERVAL_H", "6")
    get_settings.cache_clear()
    manager, rep, call_id, first = _matched_call(client)
    other_id, _other = _second_call(client, rep)
    review = {"corrections": [{"index": _a_rep_line_to_move(first)["index"], "step": "off-sop"}]}
    assert client.put(f"/api/v1/calls/{call_id}/sop/review", headers=manager, json=review).json()["sop_rematch_queued"]
    after_first = client.get(f"/api/v1/calls/{other_id}/sop", headers=rep).json()["matched_at"]
    # Within the interval: counted, not re-matched, and the periodic check leaves it too.
    assert client.put(f"/api/v1/calls/{call_id}/sop/review", headers=manager,
                      json=review | {"complete": True}).json()["sop_rematch_queued"] is False
    assert learning.relearn_due() == []
    assert client.get(f"/api/v1/calls/{other_id}/sop", headers=rep).json()["matched_at"] == after_first
    status = client.get("/api/v1/sops/b2b-discovery/learning", headers=manager).json()
    assert status["review_changes_since_rematch"] == 1 and status["rematch_interval_h"] == 6
    # Seven hours later the periodic check (the relay runs it about once a minute) re-matches.
    with session_scope() as session:
        row = session.get(SopLearning, "b2b-discovery")
        row.rematched_at = row.rematched_at - timedelta(hours=7)
    assert learning.relearn_due() == ["b2b-discovery"]
    assert client.get(f"/api/v1/calls/{other_id}/sop", headers=rep).json()["matched_at"] != after_first
    assert client.get("/api/v1/sops/b2b-discovery/learning", headers=manager).json()["review_changes_since_rematch"] == 0
    assert learning.relearn_due() == []  # nothing left to do


def test_rebuilding_an_index_after_a_review_embeds_only_the_new_lines(client) -> None:  # type: ignore[no-untyped-def]
    from app import ml
    from app.sop import matching
    from app.sop.loader import load_sop, sop_hash
    from app.sop.models import SopVersion

    class Counting:
        def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
            self.inner, self.name, self.dim, self.texts = inner, inner.name, inner.dim, []

        def embed(self, texts, kind="query"):  # type: ignore[no-untyped-def]
            self.texts += list(texts)
            return self.inner.embed(texts, kind=kind)

    embedder = Counting(ml.get_embedder())
    matching._vectors.clear()  # other tests in this process embedded the same examples
    sop = load_sop(DISCOVERY, source="m.yaml")
    row = SopVersion(sop_id=sop.id, version=7, definition=sop.model_dump(mode="json"), content_hash=sop_hash(sop))
    first = matching.sop_index(sop, row, embedder)
    assert first.embedder == embedder.name  # the learned emissions check the model by this name
    assert len(embedder.texts) == sum(len(step.examples) + 1 for _stage, step in sop.steps())
    embedder.texts.clear()
    line = "Memo test: when would you want the new forecast live?"
    again = matching.sop_index(sop, row, embedder, {"qualify-timeline": (line,)})
    assert embedder.texts == [line]  # only the new line was embedded
    assert line in again.texts[again.step_ids.index("qualify-timeline")]
    plain = ml.get_embedder().embed([line], kind="query")[0]
    vectors = again.vectors[again.step_ids.index("qualify-timeline")]
    assert max(float(v @ plain) for v in vectors) > 0.999  # and its vector is the embedder's own

"""A person's corrections of a call's SOP labels: API, re-match, export, CLI."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from app.audit.models import AuditEvent
from app.db import session_scope
from app.sop.cli import sop_app
from app.sop.evaluation import load_eval_call
from app.users.models import Role
from tests.factories import make_team, make_user

SHIPPED = Path(__file__).resolve().parents[2] / "sop_definitions"
DISCOVERY = (SHIPPED / "b2b-discovery.en.yaml").read_text(encoding="utf-8")
CALL = (Path(__file__).resolve().parents[1] / "fixtures" / "transcripts" / "en_discovery.txt").read_bytes()


def _matched_call(client):  # type: ignore[no-untyped-def]
    """(manager headers, rep headers, call id, first result) for the fixture call matched against b2b-discovery."""
    admin = make_user(Role.admin)
    client.post("/api/v1/sops", headers=admin.headers, content=DISCOVERY.encode())
    team = make_team()
    rep = make_user(Role.rep, team_id=team)
    manager = make_user(Role.manager, team_id=team)
    call_id = client.post("/api/v1/calls", headers=rep.headers, files={"file": ("c.txt", CALL)},
                          data={"sop_id": "b2b-discovery"}).json()["id"]
    first = client.get(f"/api/v1/calls/{call_id}/sop", headers=rep.headers)
    assert first.status_code == 200, first.text
    return manager.headers, rep.headers, call_id, first.json()


def _label(body, index):  # type: ignore[no-untyped-def]
    return next(u for u in body["result"]["utterances"] if u["index"] == index)


def _a_labelled_step(body):  # type: ignore[no-untyped-def]
    """(utterance indexes, step) of the first path visit to a step the matcher visited only once."""
    visits = {}
    for seg in body["result"]["path"]:
        visits[seg["step"]] = visits.get(seg["step"], 0) + 1
    for seg in body["result"]["path"]:
        if visits[seg["step"]] == 1:
            return seg["utterances"], seg["step"]
    raise AssertionError("no step visited once")


def test_a_correction_changes_the_label_path_and_deviations(client) -> None:  # type: ignore[no-untyped-def]
    manager, rep, call_id, first = _matched_call(client)
    indexes, step = _a_labelled_step(first)
    assert step not in {m["step_id"] for m in first["result"]["deviations"]["missed"]}
    # Every utterance of that visit is off-SOP in the reviewer's eyes: the step disappears from the path.
    corrections = [{"index": i, "step": "off-sop"} for i in indexes]
    response = client.put(f"/api/v1/calls/{call_id}/sop/review", headers=manager,
                          json={"corrections": corrections})
    assert response.status_code == 200, response.text
    body = response.json()
    for i in indexes:
        row = _label(body, i)
        assert row["step"] is None and row["corrected"] is True and row["score"] == 1.0
        assert any("corrected by" in e and step in e for e in row["evidence"])
    assert step not in [seg["step"] for seg in body["result"]["path"]]
    review = body["result"]["review"]
    assert review["corrected"] == sorted(indexes) and review["changed"] == sorted(indexes)
    assert review["complete"] is False
    # The matcher's own labels stay beside the effective ones.
    matcher = {lab["index"]: lab["step_id"] for lab in body["result"]["matcher"]["labels"]}
    assert all(matcher[i] == step for i in indexes)
    # What a rep reads afterwards is the corrected result.
    again = client.get(f"/api/v1/calls/{call_id}/sop", headers=rep).json()
    assert _label(again, indexes[0])["step"] is None


def test_correcting_a_required_step_away_reports_it_missed(client) -> None:  # type: ignore[no-untyped-def]
    manager, _rep, call_id, first = _matched_call(client)
    required = {p["step"] for p in first["result"]["prescribed"] if p["required"]}
    taken = [seg for seg in first["result"]["path"] if seg["step"] in required]
    step = taken[0]["step"]
    indexes = [i for seg in first["result"]["path"] if seg["step"] == step for i in seg["utterances"]]
    body = client.put(f"/api/v1/calls/{call_id}/sop/review", headers=manager,
                      json={"corrections": [{"index": i, "step": None} for i in indexes],
                            "complete": True}).json()
    assert step in {m["step_id"] for m in body["result"]["deviations"]["missed"]}
    assert body["adherence"] < first["adherence"]
    assert body["result"]["review"]["complete"] is True
    # A complete review confirms the labels it left alone: certain, and said so.
    untouched = next(u for u in body["result"]["utterances"] if u["index"] not in indexes and u["step"])
    assert untouched["score"] == 1.0 and any("complete review" in e for e in untouched["evidence"])


def test_removing_the_review_brings_the_matcher_labels_back(client) -> None:  # type: ignore[no-untyped-def]
    manager, _rep, call_id, first = _matched_call(client)
    indexes, _step = _a_labelled_step(first)
    client.put(f"/api/v1/calls/{call_id}/sop/review", headers=manager,
               json={"corrections": [{"index": indexes[0], "step": None}]})
    response = client.delete(f"/api/v1/calls/{call_id}/sop/review", headers=manager)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["result"]["review"] is None and "matcher" not in body["result"]
    assert [u["step"] for u in body["result"]["utterances"]] == [u["step"] for u in first["result"]["utterances"]]
    assert body["adherence"] == first["adherence"]
    assert client.delete(f"/api/v1/calls/{call_id}/sop/review", headers=manager).status_code == 409


def test_corrections_survive_a_new_sop_version(client) -> None:  # type: ignore[no-untyped-def]
    manager, rep, call_id, first = _matched_call(client)
    indexes, _step = _a_labelled_step(first)
    client.put(f"/api/v1/calls/{call_id}/sop/review", headers=manager,
               json={"corrections": [{"index": indexes[0], "step": "off-sop"}], "complete": True})
    admin = make_user(Role.admin)
    changed = DISCOVERY.replace("name: ", "name: Revised ", 1)
    client.post("/api/v1/sops", headers=admin.headers, content=changed.encode())
    body = client.get(f"/api/v1/calls/{call_id}/sop", headers=rep).json()
    assert body["sop_version"] == 2
    assert _label(body, indexes[0])["step"] is None and _label(body, indexes[0])["corrected"] is True
    # Reviewed completely against version 1: the rest are version 2's matcher labels, said so.
    assert body["result"]["review"]["complete"] is False
    assert any("reviewed completely against version 1" in n for n in body["result"]["notes"])


def test_a_correction_to_a_removed_step_is_dropped_with_a_note(client) -> None:  # type: ignore[no-untyped-def]
    manager, rep, call_id, first = _matched_call(client)
    off = next(u["index"] for u in first["result"]["utterances"] if u["step"] != "tailored-value")
    client.put(f"/api/v1/calls/{call_id}/sop/review", headers=manager,
               json={"corrections": [{"index": off, "step": "tailored-value"}]})
    admin = make_user(Role.admin)
    renamed = DISCOVERY.replace("id: tailored-value", "id: value-tailored", 1)
    assert renamed != DISCOVERY
    assert client.post("/api/v1/sops", headers=admin.headers, content=renamed.encode()).status_code == 201
    body = client.get(f"/api/v1/calls/{call_id}/sop", headers=rep).json()
    assert body["sop_version"] == 2
    assert any("no longer applied" in n and "tailored-value" in n for n in body["result"]["notes"])
    assert _label(body, off)["step"] != "tailored-value"


def test_bad_corrections_are_422_and_change_nothing(client) -> None:  # type: ignore[no-untyped-def]
    manager, rep, call_id, first = _matched_call(client)
    url = f"/api/v1/calls/{call_id}/sop/review"
    unknown_step = client.put(url, headers=manager, json={"corrections": [{"index": 0, "step": "no-such-step"}]})
    assert unknown_step.status_code == 422 and "no-such-step" in unknown_step.text and "qualify-budget" in unknown_step.text
    unknown_index = client.put(url, headers=manager, json={"corrections": [{"index": 9999, "step": None}]})
    assert unknown_index.status_code == 422 and "9999" in unknown_index.text
    twice = client.put(url, headers=manager, json={"corrections": [{"index": 0, "step": None}, {"index": 0, "step": None}]})
    assert twice.status_code == 422 and "twice" in twice.text
    hostile = client.put(url, headers=manager, json={"corrections": [{"index": 0, "step": "<script>x</script>'; drop"}]})
    assert hostile.status_code == 422
    extra = client.put(url, headers=manager, json={"corrections": [], "labels": {}})
    assert extra.status_code == 422
    after = client.get(f"/api/v1/calls/{call_id}/sop", headers=rep).json()
    assert after["result"] == first["result"]


def test_reps_cannot_review_and_other_teams_cannot_see(client) -> None:  # type: ignore[no-untyped-def]
    _manager, rep, call_id, _first = _matched_call(client)
    url = f"/api/v1/calls/{call_id}/sop/review"
    assert client.put(url, headers=rep, json={"corrections": []}).status_code == 403
    stranger = make_user(Role.manager, team_id=make_team("Team B"))
    assert client.put(url, headers=stranger.headers, json={"corrections": []}).status_code == 404
    assert client.put("/api/v1/calls/424242/sop/review", headers=stranger.headers,
                      json={"corrections": []}).status_code == 404


def test_reviews_are_audited(client) -> None:  # type: ignore[no-untyped-def]
    manager, _rep, call_id, _first = _matched_call(client)
    client.put(f"/api/v1/calls/{call_id}/sop/review", headers=manager, json={"corrections": [], "complete": True})
    with session_scope() as session:
        events = [e for e in session.query(AuditEvent).all() if e.action == "sop.review"]
    assert len(events) == 1 and events[0].target_id == str(call_id)


def test_reviewed_calls_export_as_labelled_calls_the_eval_reads(client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    manager, _rep, call_id, first = _matched_call(client)
    listed = client.get("/api/v1/sops/b2b-discovery/reviews", headers=manager).json()
    assert listed["calls"] == []  # nothing reviewed yet
    indexes, _step = _a_labelled_step(first)
    client.put(f"/api/v1/calls/{call_id}/sop/review", headers=manager,
               json={"corrections": [{"index": indexes[0], "step": None}]})
    assert client.get("/api/v1/sops/b2b-discovery/reviews", headers=manager).json()["calls"] == []
    partial = client.get("/api/v1/sops/b2b-discovery/reviews?complete_only=false", headers=manager).json()
    assert len(partial["calls"]) == 1
    client.put(f"/api/v1/calls/{call_id}/sop/review", headers=manager,
               json={"corrections": [{"index": indexes[0], "step": None}], "complete": True})
    doc = client.get("/api/v1/sops/b2b-discovery/reviews", headers=manager).json()["calls"][0]
    path = tmp_path / f"{doc['id']}.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    call = load_eval_call(path)  # the evaluation set's own reader accepts it
    assert call.sop.split(".")[0] == "b2b-discovery" and call.deviations is not None
    assert call.gold[indexes[0]] is None
    assert len(call.utterances) == len(first["result"]["utterances"])
    assert client.get("/api/v1/sops/no-such-sop/reviews", headers=manager).status_code == 404


def test_cli_review_and_export(client, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _manager, rep, call_id, first = _matched_call(client)
    monkeypatch.setattr("app.db.init_db", lambda: None)  # the test database is already at head
    indexes, step = _a_labelled_step(first)
    runner = CliRunner(env={"COLUMNS": "300"})  # wide: messages are matched whole
    bad = runner.invoke(sop_app, ["review", str(call_id), "--set", "twelve=x"])
    assert bad.exit_code == 1 and "INDEX=STEP" in bad.output
    missing = runner.invoke(sop_app, ["review", "424242", "--set", "0=off-sop"])
    assert missing.exit_code == 1 and "does not exist" in missing.output
    unknown = runner.invoke(sop_app, ["review", str(call_id), "--set", "0=nope"])
    assert unknown.exit_code == 1 and "has no step 'nope'" in unknown.output
    nothing = runner.invoke(sop_app, ["export-reviews", "b2b-discovery", "--out", str(tmp_path / "x")])
    assert nothing.exit_code == 1 and "no completely reviewed call" in nothing.output
    done = runner.invoke(sop_app, ["review", str(call_id), "--set", f"{indexes[0]}=off-sop", "--complete"])
    assert done.exit_code == 0, done.output
    assert "review complete" in " ".join(done.output.split())  # the console may wrap the summary line
    body = client.get(f"/api/v1/calls/{call_id}/sop", headers=rep).json()
    assert _label(body, indexes[0])["step"] is None
    out = tmp_path / "reviewed"
    exported = runner.invoke(sop_app, ["export-reviews", "b2b-discovery", "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    files = sorted(out.glob("*.json"))
    assert [f.name for f in files] == [f"call-{call_id}.json"]
    assert load_eval_call(files[0]).gold[indexes[0]] is None
    cleared = runner.invoke(sop_app, ["review", str(call_id), "--clear"])
    assert cleared.exit_code == 0, cleared.output
    body = client.get(f"/api/v1/calls/{call_id}/sop", headers=rep).json()
    assert _label(body, indexes[0])["step"] == step


def test_reviewed_lines_become_examples_the_next_calls_are_matched_with(client) -> None:  # type: ignore[no-untyped-def]
    from app.sop.loader import load_sop
    from app.sop.matcher import is_filler
    from app.sop.review import reviewed_examples

    manager, rep, call_id, first = _matched_call(client)
    rows = first["result"]["utterances"]
    # A rep line the matcher put in some step, which the reviewer moves to qualify-timeline.
    line = next(u for u in rows[len(rows) // 3:] if u["role"] == "rep" and u["step"] not in (None, "qualify-timeline")
                and len(u["text"]) > 40)
    assert not any("qualify-timeline" in e for e in line["evidence"])
    sop = load_sop(DISCOVERY, source="b2b-discovery.en.yaml")
    with session_scope() as session:
        assert reviewed_examples(session=session, sop=sop, per_step=30) == {}  # nothing reviewed yet
    client.put(f"/api/v1/calls/{call_id}/sop/review", headers=manager,
               json={"corrections": [{"index": line["index"], "step": "qualify-timeline"}]})
    with session_scope() as session:
        partial = reviewed_examples(session=session, sop=sop, per_step=30)
    assert partial == {"qualify-timeline": (line["text"].strip(),)}  # a partial review: only the corrected line
    body = client.put(f"/api/v1/calls/{call_id}/sop/review", headers=manager,
                      json={"corrections": [{"index": line["index"], "step": "qualify-timeline"}],
                            "complete": True}).json()
    with session_scope() as session:
        complete = reviewed_examples(session=session, sop=sop, per_step=30)
        capped = reviewed_examples(session=session, sop=sop, per_step=1)
        assert reviewed_examples(session=session, sop=sop, per_step=0) == {}  # the setting's "off"
    speaker = {s.id: str(s.speaker) for _st, s in sop.steps()}
    expected = {u["text"].strip() for u in body["result"]["utterances"]
                if u["step"] and u["role"] == speaker[u["step"]] and not is_filler(u["text"])}
    texts = {t for lines in complete.values() for t in lines}
    assert line["text"].strip() in complete["qualify-timeline"]
    assert texts == expected  # every confirmed line of the step's own speaker, nothing else
    assert all(len(lines) == 1 for lines in capped.values())
    # The next call of this SOP is matched with those lines among the examples: the moved line now
    # scores highest for qualify-timeline on its own (context may still keep it where it was).
    second = CALL + b"\nRep: Thanks again, talk soon.\n"
    new_id = client.post("/api/v1/calls", headers=rep, files={"file": ("d.txt", second)},
                         data={"sop_id": "b2b-discovery"}).json()["id"]
    same = _label(client.get(f"/api/v1/calls/{new_id}/sop", headers=rep).json(), line["index"])
    if same["step"] == "qualify-timeline":
        assert f'example: "{line["text"].strip()}" (1.00)' in same["evidence"]
    else:
        assert "context: chosen over 'qualify-timeline', which scored higher alone" in same["evidence"], same

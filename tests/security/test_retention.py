"""Retention deletes each team's calls past N days with everything derived from them; dry-run deletes nothing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from app.calls.models import Call
from app.db import session_scope, utcnow
from app.privacy import retention
from app.transcripts.models import UtteranceEmbedding, UtteranceRow
from app.users.models import Role, Team
from tests.factories import make_team
from tests.security.helpers import person, transcript, upload


def _ago(days: int) -> str:
    return (utcnow() - timedelta(days=days)).isoformat()


@pytest.fixture
def calls(client: TestClient) -> dict[str, int]:
    kept_team, short_team = make_team("Keeps forever"), make_team("Thirty days")
    with session_scope() as session:
        session.get(Team, short_team).retention_days = 30
    rep_short, rep_kept = person(Role.rep, team_id=short_team), person(Role.rep, team_id=kept_team)
    return {
        "old": upload(client, rep_short, occurred_at=_ago(100)),
        "recent": upload(client, rep_short, occurred_at=_ago(10)),
        "old_other_team": upload(client, rep_kept, occurred_at=_ago(400)),
    }


def _count(model, call_ids: list[int]) -> int:  # type: ignore[no-untyped-def]
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(model).where(model.call_id.in_(call_ids))) or 0


def _media(call_id: int, var: Path) -> Path:
    with session_scope() as session:
        return var / "media" / session.get(Call, call_id).media_path


def test_dry_run_lists_the_expired_calls_and_deletes_nothing(calls: dict[str, int], env: Path) -> None:
    with session_scope() as session:
        result = retention.run(session=session, dry_run=True)
    assert [e.call_id for e in result.expired] == [calls["old"]]
    assert result.expired[0].age_days >= 99 and result.expired[0].retention_days == 30
    assert result.deleted == 0
    assert _count(UtteranceRow, [calls["old"]]) > 0 and _media(calls["old"], env).exists()


def test_run_deletes_call_media_utterances_embeddings_and_calls_hooks(
    calls: dict[str, int], env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[list[int]] = []
    monkeypatch.setattr(retention, "DELETE_HOOKS", [])
    retention.register_delete_hook(lambda _session, ids: seen.append(ids))
    media = _media(calls["old"], env)
    assert _count(UtteranceEmbedding, [calls["old"]]) > 0
    with session_scope() as session:
        result = retention.run(session=session, dry_run=False)
    assert result.deleted == 1 and seen == [[calls["old"]]]
    with session_scope() as session:
        assert session.get(Call, calls["old"]) is None
        assert session.get(Call, calls["recent"]) is not None and session.get(Call, calls["old_other_team"])
    assert _count(UtteranceRow, [calls["old"]]) == 0 and _count(UtteranceEmbedding, [calls["old"]]) == 0
    assert not media.exists() and _media(calls["recent"], env).exists()


def test_calls_still_in_the_pipeline_are_left_for_the_next_run(calls: dict[str, int]) -> None:
    with session_scope() as session:
        session.get(Call, calls["old"]).status = "transcribing"
    with session_scope() as session:
        assert retention.run(session=session, dry_run=False).deleted == 0


def test_api_preview_and_run_are_audited(client: TestClient, calls: dict[str, int]) -> None:
    admin = person(Role.admin)
    preview = client.get("/api/v1/retention/preview", headers=admin.headers).json()
    assert preview["dry_run"] is True and [i["call_id"] for i in preview["items"]] == [calls["old"]]
    ran = client.post("/api/v1/retention/run", headers=admin.headers).json()
    assert ran["deleted"] == 1
    events = client.get("/api/v1/audit?action=retention.run", headers=admin.headers).json()["items"]
    assert [e["detail"]["dry_run"] for e in events] == [False, True]
    assert events[0]["detail"]["call_ids"] == [calls["old"]]


def test_cli_dry_run_then_run(calls: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    import app.db
    from app.privacy.cli import retention_app

    monkeypatch.setattr(app.db, "init_db", lambda url=None: None)  # schema built from metadata in tests
    runner = CliRunner()
    dry = runner.invoke(retention_app, ["run", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "1 call(s) would be deleted" in dry.output and "Thirty days" in dry.output
    assert _count(UtteranceRow, [calls["old"]]) > 0
    real = runner.invoke(retention_app, ["run"])
    assert real.exit_code == 0 and "1 call(s) deleted" in real.output
    assert _count(UtteranceRow, [calls["old"]]) == 0


def test_call_without_occurred_at_ages_from_its_upload(client: TestClient) -> None:
    team = make_team("Thirty")
    with session_scope() as session:
        session.get(Team, team).retention_days = 30
    rep = person(Role.rep, team_id=team)
    call_id = upload(client, rep, transcript("fresh"))
    with session_scope() as session:
        assert retention.expired_calls(session=session) == []
        assert session.get(Call, call_id) is not None

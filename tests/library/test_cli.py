"""`talktrack search` and `talktrack talk-tracks` print readable tables."""

from __future__ import annotations

from typer.testing import CliRunner

from tests.library.helpers import EN_CALL, upload, world


def _cli():  # type: ignore[no-untyped-def]
    from app.cli import _mount_optional, app

    _mount_optional()
    return app


def test_search_command_prints_matches_with_their_moment(client) -> None:  # type: ignore[no-untyped-def]
    w = world(client)
    call_id = upload(client, w.rep, EN_CALL)
    result = CliRunner().invoke(_cli(), ["search", "forecast spreadsheet", "--type", "snippet", "--limit", "5"])
    assert result.exit_code == 0, result.output
    assert "search: forecast spreadsheet" in result.output and f"{call_id} @" in result.output


def test_search_command_rejects_an_empty_query(client) -> None:  # type: ignore[no-untyped-def]
    world(client)
    result = CliRunner().invoke(_cli(), ["search", "  "])
    assert result.exit_code == 1 and "empty" in result.output


def test_talk_tracks_command_prints_ranked_variants(client) -> None:  # type: ignore[no-untyped-def]
    w = world(client)
    upload(client, w.rep, EN_CALL)
    step = client.get("/api/v1/talk-tracks?kind=step", headers=w.rep.headers).json()[0]["key"]
    result = CliRunner().invoke(_cli(), ["talk-tracks", step])
    assert result.exit_code == 0, result.output
    assert "rank" in result.output and "moments" in result.output
    missing = CliRunner().invoke(_cli(), ["talk-tracks", "no-such-step"])
    assert missing.exit_code == 1 and "no talk track" in missing.output

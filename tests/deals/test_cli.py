"""`talktrack deals import|export` and `talktrack pipeline …` through the real command."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from app.cli import _mount_optional, app
from app.users.models import Role
from tests.factories import make_team, make_user

runner = CliRunner()
_mount_optional()


def test_import_reports_rejected_lines_and_exits_2(env: Path, process, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rep = make_user(Role.rep, team_id=make_team())
    csv_file = tmp_path / "deals.csv"
    csv_file.write_text(f"Account,Amount,Stage,Owner\nAcme,100,lead,{rep.email}\nBeta,abc,lead,{rep.email}\n",
                        encoding="utf-8")
    result = runner.invoke(app, ["deals", "import", str(csv_file), "--as", rep.email, "--process", process,
                                 "--format", "json"])
    assert result.exit_code == 2, result.output
    report = json.loads(result.output)
    assert report["imported"] == 1 and report["rejected"] == [{"line": 3, "reason": "amount 'abc' is not a number"}]


def test_pipeline_forecast_prints_json_with_the_formula(env: Path, process, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    team = make_team()
    rep = make_user(Role.rep, team_id=team)
    make_user(Role.admin)
    csv_file = tmp_path / "deals.csv"
    csv_file.write_text(f"Account,Amount,Stage,Owner,Close Date\nAcme,1000,qualify,{rep.email},{date(2026, 11, 2)}\n")
    assert runner.invoke(app, ["deals", "import", str(csv_file), "--process", process]).exit_code == 0
    result = runner.invoke(app, ["pipeline", "forecast", "--team", "Team A", "--period", "2026-Q4", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["totals"][0]["weighted"] == "400.00"
    table = runner.invoke(app, ["pipeline", "funnel", "--process", process])
    assert table.exit_code == 0 and "Qualify" in table.output


def test_unknown_period_is_a_clear_error(env: Path, process) -> None:  # type: ignore[no-untyped-def]
    make_user(Role.admin)
    result = runner.invoke(app, ["pipeline", "conversion", "--process", process, "--period", "Q4"])
    assert result.exit_code == 1 and "2026-Q4" in result.output

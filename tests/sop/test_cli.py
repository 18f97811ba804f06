import json
from pathlib import Path

from typer.testing import CliRunner

from app.sop.cli import sop_app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def test_validate_shipped_files_exits_zero():
    files = sorted(str(p) for p in (ROOT / "sop_definitions").glob("*.yaml"))
    result = runner.invoke(sop_app, ["validate", *files])
    assert result.exit_code == 0, result.output
    assert result.output.count("ok ") == len(files)


def test_validate_invalid_file_exits_one_and_lists_line_and_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "id: bad\nversion: 1\nname: B\nlanguage: en\nstages:\n  - id: s\n    name: S\n"
        "    steps:\n      - id: x\n        name: X\n        examples: [one, two]\n",
        encoding="utf-8",
    )
    result = runner.invoke(sop_app, ["validate", str(bad)], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "11" in result.output and "stages[0].steps[0].examples" in result.output
    assert "at least 5 examples required, found 2" in result.output


def test_validate_missing_file_exits_one(tmp_path):
    result = runner.invoke(sop_app, ["validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1 and "cannot read file" in result.output


def test_match_prints_json_with_path_and_adherence(tmp_path):
    transcript = tmp_path / "call.txt"
    transcript.write_text(
        "Rep: Hi Sarah, thanks so much for making the time today.\n"
        "Customer: Sure, happy to.\n"
        "Rep: Have you set aside a budget for this project?\n"
        "Customer: We have some money allocated, yes.\n",
        encoding="utf-8",
    )
    sop = ROOT / "sop_definitions" / "b2b-discovery.en.yaml"
    result = runner.invoke(
        sop_app,
        [
            "match",
            "--sop",
            str(sop),
            "--transcript",
            str(transcript),
            "--format",
            "json",
            "--embedder",
            "hashing",
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["sop"] == {"id": "b2b-discovery", "version": doc["sop"]["version"], "name": doc["sop"]["name"],
                          "language": "en"}
    assert [u["index"] for u in doc["utterances"]] == [0, 1, 2, 3]
    assert set(doc["utterances"][0]) >= {"index", "role", "start", "end", "text", "step", "stage", "score"}
    assert set(doc["deviations"]) == {"missed", "out_of_order", "repeated", "off_sop"}
    assert doc["path"] and 0.0 <= doc["adherence"]["score"] <= 1.0 and doc["adherence"]["formula"]
    assert any(row["status"] == "missed" for row in doc["prescribed"]), "a 4-line call misses required steps"

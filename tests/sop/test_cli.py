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


TWO_STEPS = """\
id: tiny-call
version: 1
name: Tiny call
language: en
stages:
  - id: only
    name: Only stage
    steps:
      - id: ask-budget
        name: Ask the budget
        required: true
        examples:
          - Have you set aside a budget for this project?
          - What budget do you have for this project?
          - Is there money allocated for the project?
          - How much budget is set aside for this?
          - Do you have a budget range for the project?
      - id: book-meeting
        name: Book the next meeting
        required: true
        examples:
          - Shall we book a meeting next Tuesday at ten?
          - Can we put a meeting in the calendar for next week?
          - Let us book the next meeting for Thursday.
          - Would a meeting next Monday work for you?
          - I will send a calendar invite for our next meeting.
"""


def test_match_table_shows_prescribed_beside_actual_and_the_deviations(tmp_path):
    sop = tmp_path / "tiny.yaml"
    sop.write_text(TWO_STEPS, encoding="utf-8")
    both = tmp_path / "both.txt"
    both.write_text("Rep: Have you set aside a budget for this project?\nCustomer: Yes, some.\n"
                    "Rep: Shall we book a meeting next Tuesday at ten?\nCustomer: Tuesday works.\n", encoding="utf-8")
    args = ["match", "--sop", str(sop), "--format", "table", "--embedder", "hashing", "--transcript"]
    wide = CliRunner(env={"COLUMNS": "200"})
    done = wide.invoke(sop_app, [*args, str(both)])
    assert done.exit_code == 0, done.output
    assert "Prescribed vs actual" in done.output and "Actual path" in done.output
    assert done.output.count("✓ done") == 2
    assert "No deviations" in done.output and "Adherence 1.00" in done.output
    half = tmp_path / "half.txt"
    half.write_text("Rep: Have you set aside a budget for this project?\nCustomer: Yes, some.\n", encoding="utf-8")
    missed = wide.invoke(sop_app, [*args, str(half)])
    assert missed.exit_code == 0, missed.output
    assert "No deviations" not in missed.output
    assert "missed" in missed.output and "book-meeting" in missed.output


def test_match_says_when_the_call_is_in_another_language_or_has_no_rep(tmp_path):
    sop = tmp_path / "tiny.yaml"
    sop.write_text(TWO_STEPS, encoding="utf-8")
    chinese = tmp_path / "zh.txt"
    chinese.write_text("销售：您好，请问咱们这个项目有预算吗？\n客户：有一些预算。\n", encoding="utf-8")
    args = ["match", "--sop", str(sop), "--embedder", "hashing", "--transcript"]
    wide = CliRunner(env={"COLUMNS": "300"})
    table = wide.invoke(sop_app, [*args, str(chinese)])
    assert table.exit_code == 0, table.output
    assert "note:" in table.output and "The call is in zh but the SOP's examples are in en" in table.output
    doc = json.loads(wide.invoke(sop_app, [*args, str(chinese), "--format", "json"]).stdout)
    assert any("The call is in zh" in n for n in doc["notes"])
    customer_only = tmp_path / "customer.txt"
    customer_only.write_text("Customer: We have a budget for this project.\nCustomer: Next Tuesday works.\n",
                             encoding="utf-8")
    doc = json.loads(wide.invoke(sop_app, [*args, str(customer_only), "--format", "json"]).stdout)
    assert any("No utterance is attributed to the rep" in n for n in doc["notes"])
    assert not any("The call is in" in n for n in doc["notes"])


def test_match_with_stages_holds_a_process_call_to_them_and_refuses_unknown_ones(tmp_path):
    sop = ROOT / "tests" / "fixtures" / "deals" / "five-stage.en.yaml"
    call = tmp_path / "call.txt"
    call.write_text("Rep: Hi, this is Sam from Acme, thanks for taking my call.\nCustomer: Hello.\n"
                    "Rep: Hi there, do you have a minute?\nCustomer: Sure.\n", encoding="utf-8")
    args = ["match", "--sop", str(sop), "--transcript", str(call), "--embedder", "hashing", "--format", "json"]
    def status(doc: dict, step: str) -> str:  # type: ignore[type-arg]
        return next(p["status"] for p in doc["prescribed"] if p["step"] == step)

    inferred = json.loads(runner.invoke(sop_app, args).stdout)
    assert status(inferred, "budget") == "not_in_scope"  # only the greeting stage was worked on
    given = runner.invoke(sop_app, [*args, "--stage", "lead", "--stage", "qualify"])
    assert given.exit_code == 0, given.output
    doc = json.loads(given.stdout)
    assert status(doc, "budget") == "skipped_optional"  # qualify is expected of this call now
    assert any("given stages: lead, qualify" in n for n in doc["notes"])
    unknown = runner.invoke(sop_app, [*args, "--stage", "closed"])
    assert unknown.exit_code == 1 and "unknown --stage closed" in unknown.output and "lead, qualify" in unknown.output


def test_match_cuts_a_long_turn_of_another_tools_transcript_at_its_sentences(tmp_path):
    """A text transcript gives whole turns; a turn of 15 s or more is cut at sentence ends as the
    pipeline cuts ASR words, so a rep who asks the budget and books the meeting in one turn gets both."""
    sop = tmp_path / "tiny.en.yaml"
    sop.write_text(TWO_STEPS, encoding="utf-8")
    transcript = tmp_path / "call.txt"
    transcript.write_text(
        "Customer: Thanks for calling back, it has been a busy week over here.\n"
        "Rep: No problem at all, I appreciate you picking up. Have you set aside a budget for this "
        "project yet, or is that still being worked out with finance on your side? And shall we book "
        "a meeting next Tuesday at ten to go through the numbers together with your team?\n",
        encoding="utf-8",
    )
    args = ["match", "--sop", str(sop), "--transcript", str(transcript), "--format", "json", "--embedder", "hashing"]
    result = runner.invoke(sop_app, args)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    rep = [u for u in doc["utterances"] if u["role"] == "rep"]
    assert len(rep) == 2 and rep[1]["text"].startswith("And shall we book a meeting")
    assert [u["index"] for u in doc["utterances"]] == [0, 1, 2]
    assert rep[0]["end"] == rep[1]["start"]

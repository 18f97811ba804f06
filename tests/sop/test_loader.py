import pytest

from app.sop.loader import SopValidationError, load_sop, sop_hash
from tests.sop.helpers import tiny_sop, tiny_sop_yaml

HEADER = "id: demo\nversion: 1\nname: Demo\nlanguage: en\nstages:\n"


def issues_of(text: str) -> list[tuple[int, str, str]]:
    with pytest.raises(SopValidationError) as info:
        load_sop(text, source="b2b.yaml")
    return [(i.line, i.field_path, i.message) for i in info.value.issues]


def stage(steps: str, *, sid: str = "st", extra: str = "") -> str:
    return f"  - id: {sid}\n    name: S\n{extra}    steps:\n{steps}"


def step(sid: str = "x", *, n: int = 5, extra: str = "") -> str:
    ex = "".join(f"          - example {i}\n" for i in range(n))
    return f"      - id: {sid}\n        name: X\n{extra}        examples:\n{ex}"


def test_too_few_examples_points_at_the_examples_line():
    text = HEADER + stage(step(n=2))
    assert issues_of(text) == [
        (11, "stages[0].steps[0].examples", "at least 5 examples required, found 2")
    ]


def test_unknown_speaker_names_the_value_and_line():
    text = HEADER + stage(step(extra="        speaker: boss\n"))
    [(line, path, msg)] = issues_of(text)
    assert (line, path) == (11, "stages[0].steps[0].speaker") and "'boss'" in msg


def test_probability_above_one_is_rejected_on_its_line():
    text = HEADER + stage(step(), extra="    win_probability: 1.5\n")
    [(line, path, msg)] = issues_of(text)
    assert (line, path) == (8, "stages[0].win_probability") and "1.5" in msg


def test_duplicate_step_id_across_stages_is_reported_at_the_second_id():
    text = HEADER + stage(step("dup"), sid="one") + stage(step("dup"), sid="two")
    [(line, path, msg)] = issues_of(text)
    assert (line, path) == (20, "stages[1].steps[0].id") and "stages[0].steps[0]" in msg


def test_decreasing_win_probability_is_an_error():
    text = (
        HEADER
        + stage(step("a"), sid="one", extra="    win_probability: 0.5\n")
        + stage(step("b"), sid="two", extra="    win_probability: 0.2\n")
    )
    [(line, path, msg)] = issues_of(text)
    assert (line, path) == (20, "stages[1].win_probability") and "must not decrease" in msg


def test_reply_to_must_name_a_rep_step_from_a_customer_step():
    rep, customer = step("ask"), step("answer", extra="        speaker: customer\n        reply_to: ask\n")
    load_sop(HEADER + stage(rep + customer), source="ok.yaml")  # the valid form loads
    [(line, path, msg)] = issues_of(HEADER + stage(rep + step("answer", extra="        reply_to: ask\n")))
    assert path == "stages[0].steps[1].reply_to" and "customer steps" in msg and line == 19
    [(_l, _p, msg)] = issues_of(HEADER + stage(rep + step("answer", extra="        speaker: customer\n        reply_to: nope\n")))
    assert "'nope' is not a step" in msg
    other = step("other", extra="        speaker: customer\n")
    [(_l, _p, msg)] = issues_of(HEADER + stage(other + step("answer", extra="        speaker: customer\n        reply_to: other\n")))
    assert "must name a rep step" in msg
    second = step("again", extra="        speaker: customer\n        reply_to: ask\n")
    [(_l, path, msg)] = issues_of(HEADER + stage(rep + customer + second))
    assert path == "stages[0].steps[2].reply_to" and "already has a reply step ('answer')" in msg


def test_bad_slug_unknown_field_and_missing_field_are_all_reported_together():
    text = "id: Not A Slug\nversion: 1\nname: Demo\ncolour: red\nstages:\n" + stage(step(n=1))
    found = issues_of(text)
    assert [(line, path) for line, path, _m in found] == [
        (1, "id"),
        (1, "language"),
        (4, "colour"),
        (11, "stages[0].steps[0].examples"),
    ]
    assert "required field is missing" in found[1][2]


def test_malformed_yaml_gives_one_issue_with_the_parser_line():
    [(line, _p, msg)] = issues_of("id: a\nversion: 1\n  name: bad indent\n")
    assert line == 3 and msg.startswith("malformed YAML")


def test_duplicate_yaml_key_is_reported_not_silently_dropped():
    [(line, path, msg)] = issues_of(
        "id: a\nid: b\nversion: 1\nname: N\nlanguage: en\nstages:\n" + stage(step())
    )
    assert (line, path) == (2, "id") and "first written on line 1" in msg


def test_issue_string_names_file_line_and_field():
    with pytest.raises(SopValidationError) as info:
        load_sop(HEADER + stage(step(n=2)), source="b2b.yaml")
    assert (
        str(info.value.issues[0])
        == "b2b.yaml:11 stages[0].steps[0].examples: at least 5 examples required, found 2"
    )
    assert info.value.status_code == 422


def test_hash_ignores_layout_and_changes_with_content():
    reformatted = "# comment\n" + tiny_sop_yaml().replace("name: Tiny", "name:   Tiny")
    assert sop_hash(load_sop(reformatted, source="t.yaml")) == sop_hash(tiny_sop())
    edited = tiny_sop_yaml().replace('"alpha 0"', '"alpha zero"')
    assert sop_hash(load_sop(edited, source="t.yaml")) != sop_hash(tiny_sop())

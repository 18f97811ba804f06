from app.sop.loader import diff_sops, load_sop
from tests.sop.helpers import tiny_sop, tiny_sop_yaml


def edited(old: str, new: str):
    text = tiny_sop_yaml()
    assert old in text
    return load_sop(text.replace(old, new), source="t.yaml")


def kinds(changes) -> set[tuple[str, str]]:
    return {(c.kind, c.path) for c in changes}


def test_identical_versions_have_no_changes():
    assert diff_sops(tiny_sop(), tiny_sop()) == []


def test_added_removed_and_renamed_steps():
    new = edited("{id: d, name: D,", "{id: dd, name: D,")
    new2 = load_sop(
        tiny_sop_yaml().replace("{id: d, name: D,", "{id: d, name: Delta,"), source="t.yaml"
    )
    assert ("step_renamed", "dd") in kinds(diff_sops(tiny_sop(), new))  # same examples, new id
    assert ("step_renamed", "d") in kinds(diff_sops(tiny_sop(), new2))  # same id, new name
    removed = load_sop(tiny_sop_yaml().replace('"delta ', '"other '), source="t.yaml")
    assert ("examples_removed", "d") in kinds(diff_sops(tiny_sop(), removed))
    assert ("examples_added", "d") in kinds(diff_sops(tiny_sop(), removed))


def test_step_order_change_names_the_moved_step():
    text = tiny_sop_yaml()
    line_a = next(line for line in text.splitlines() if "{id: a," in line)
    line_b = next(line for line in text.splitlines() if "{id: b," in line)
    swapped = text.replace(line_a, "@@").replace(line_b, line_a).replace("@@", line_b)
    [change] = [
        c
        for c in diff_sops(tiny_sop(), load_sop(swapped, source="t.yaml"))
        if c.kind == "step_order_changed"
    ]
    assert change.detail["moved"] in (["a"], ["b"])


def test_stage_attribute_change_and_new_step():
    new = edited("    name: Two\n", "    name: Two\n    approval: manager\n")
    assert ("stage_changed", "s2") in kinds(diff_sops(tiny_sop(), new))
    more = tiny_sop_yaml() + '      - {id: f, name: F, examples: ["f1", "f2", "f3", "f4", "f5"]}\n'
    assert ("step_added", "f") in kinds(diff_sops(tiny_sop(), load_sop(more, source="t.yaml")))

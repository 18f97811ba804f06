from pathlib import Path

import pytest

from app.sop.loader import load_sop_file
from app.sop.schema import MIN_EXAMPLES, SopKind

SOP_DIR = Path(__file__).resolve().parents[2] / "sop_definitions"
SHIPPED = sorted(SOP_DIR.glob("*.yaml"))


def test_four_sop_files_are_shipped():
    assert {p.name for p in SHIPPED} >= {
        "b2b-discovery.en.yaml",
        "product-demo.en.yaml",
        "telesales-invitation.zh.yaml",
        "project-sales-8-stage.zh.yaml",
    }


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_sop_is_valid_with_enough_examples(path):
    sop = load_sop_file(str(path))
    assert sop.language.value == path.name.split(".")[-2]
    assert all(len(step.examples) >= MIN_EXAMPLES for _stage, step in sop.steps())


def test_eight_stage_process_has_increasing_probabilities_and_manager_approvals():
    sop = load_sop_file(str(SOP_DIR / "project-sales-8-stage.zh.yaml"))
    probs = [stage.win_probability for stage in sop.stages]
    assert sop.kind == SopKind.PROCESS and len(sop.stages) == 8
    assert probs == sorted(probs) and None not in probs
    assert any(stage.approval.value == "manager" for stage in sop.stages)
    assert all(stage.required_feedback and stage.expected_days for stage in sop.stages)

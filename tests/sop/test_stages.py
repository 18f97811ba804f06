"""A call's known stages (its deal's stage, or the upload's): what the call is held to, when they fit."""

import numpy as np
import pytest

from app.sop.compare import compare_path
from app.sop.matcher import MatchInputError, MatchResult, index_from_vectors, match_call
from tests.sop.helpers import example_vectors, mix, tiny_sop, utterances

A, B, C, D, E = range(5)


def _match(vecs: list[np.ndarray], stages: list[str] | None):  # type: ignore[no-untyped-def]
    sop = tiny_sop(kind="process")
    utts = utterances([f"utterance {i}" for i in range(len(vecs))])
    index = index_from_vectors(sop, example_vectors(sop))
    return sop, utts, match_call(utts, index, utterance_vectors=np.stack(vecs), stage_ids=stages)


# Mostly stage s2 (c, d); two lines sound like b (stage s1).
S2_CALL = [mix({C: 1}), mix({C: 1}), mix({B: 1}), mix({B: 1}), mix({D: 1}), mix({D: 1})]


def test_given_stages_that_fit_the_call_are_what_it_is_held_to() -> None:
    sop, utts, free = _match(S2_CALL, None)
    assert compare_path(free, sop, utts).scope_stage_ids == ("s2",)
    assert "a" in {m.step_id for m in compare_path(free, sop, utts, stage_ids=["s1", "s2"]).missed}
    _sop, _u, res = _match(S2_CALL, ["s1", "s2"])  # the deal says this meeting covered both stages
    assert res.stages_given == res.stages_used == ("s1", "s2")
    assert res.stage_share == 1.0
    assert [lab.step_id for lab in res.labels] == [lab.step_id for lab in free.labels]  # labels unchanged
    cmp = compare_path(res, sop, utts)
    assert cmp.scope_stage_ids == ("s1", "s2") and {m.step_id for m in cmp.missed} == {"a"}
    assert any("given stages: s1, s2" in n for n in cmp.notes)


def test_given_stages_that_do_not_fit_are_not_used_and_a_note_says_so() -> None:
    s1_call = [mix({A: 1}), mix({A: 1}), mix({B: 1}), mix({B: 1})]
    sop, utts, res = _match(s1_call, ["s2"])  # a stale deal stage
    assert res.stages_given == ("s2",) and res.stages_used == () and res.stage_share == 0.0
    cmp = compare_path(res, sop, utts)
    assert cmp.scope_stage_ids == ("s1",)  # inferred from the path instead
    notes = " ".join(cmp.notes)
    assert "not used" in notes and "0%" in notes


def test_the_share_is_of_on_sop_utterances_and_a_third_is_enough() -> None:
    _sop, _u, res = _match(S2_CALL, ["s1"])
    assert res.stage_share == pytest.approx(2 / 6, abs=1e-3) and res.stages_used == ("s1",)


def test_unknown_stage_ids_are_an_error_naming_the_sops_stages() -> None:
    with pytest.raises(MatchInputError, match=r"unknown stage ids \['s9'\].*s1, s2"):
        _match(S2_CALL, ["s2", "s9"])


def test_the_stages_survive_a_stored_result() -> None:
    _sop, _u, res = _match(S2_CALL, ["s2"])
    back = MatchResult.from_dict(res.to_dict())
    assert (back.stages_given, back.stages_used, back.stage_share) == (res.stages_given, res.stages_used, res.stage_share)

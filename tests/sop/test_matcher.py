from dataclasses import replace

import numpy as np

from app.sop.compare import compare_path
from app.sop.matcher import MatchParams, index_from_vectors, is_filler, match_call
from tests.sop.helpers import example_vectors, mix, tiny_sop, utterances

A, B, C, D, E = range(5)


def run(
    vecs: list[np.ndarray],
    texts: list[str] | None = None,
    roles: list[str] | None = None,
    params: MatchParams | None = None,
):
    sop = tiny_sop()
    utts = utterances(texts or [f"utterance {i}" for i in range(len(vecs))])
    if roles:
        utts = [replace(u, role=r) for u, r in zip(utts, roles)]
    res = match_call(
        utts,
        sop,
        utterance_vectors=np.stack(vecs),
        example_vectors=example_vectors(sop),
        params=params or MatchParams(),
    )
    return sop, utts, res


def steps_of(res) -> list[str | None]:
    return [lab.step_id for lab in res.labels]


def test_clean_call_follows_the_prescribed_path():
    _sop, _u, res = run([mix({A: 1}), mix({B: 1}), mix({C: 1}), mix({D: 1})])
    assert steps_of(res) == ["a", "b", "c", "d"]
    assert [seg.step_id for seg in res.path] == ["a", "b", "c", "d"]
    assert res.path[2].stage_id == "s2" and res.path[2].start == 20.0


def test_viterbi_smooths_a_noisy_middle_utterance_that_argmax_mislabels():
    noisy = mix({B: 0.7, D: 0.75})  # alone it looks slightly more like d
    vecs = [mix({A: 1}), mix({B: 1}), noisy, mix({B: 1}), mix({C: 1})]
    *_, alone = run(vecs, params=MatchParams(decode="argmax"))
    *_, decoded = run(vecs)
    assert steps_of(alone)[2] == "d"
    assert steps_of(decoded) == ["a", "b", "b", "b", "c"]
    assert any(e.startswith("context:") for e in decoded.labels[2].evidence)


def test_filler_inherits_the_label_of_its_context():
    vecs = [mix({A: 1}), mix({B: 1}), mix({D: 1}), mix({B: 1})]  # the filler's own vector says d
    _s, _u, res = run(vecs, texts=["a", "b", "Okay, yeah.", "b again"])
    assert steps_of(res)[2] == "b"
    assert res.labels[2].evidence[0].startswith("filler")


def test_unrelated_utterance_is_off_sop_with_the_closest_step_as_evidence():
    vecs = [mix({A: 1}), mix({}, noise_axis=9), mix({}, noise_axis=8), mix({B: 1})]
    _s, _u, res = run(vecs)
    assert steps_of(res) == ["a", None, None, "b"]
    assert "off-SOP: closest step" in res.labels[1].evidence[0]


def test_customer_utterance_cannot_start_a_rep_step():
    vecs = [mix({A: 1}), mix({A: 0.3, C: 1})]
    _s, _u, res = run(vecs, roles=["rep", "customer"])
    assert steps_of(res)[1] != "c"


def test_skipped_required_step_is_reported_missed_after_the_previous_step():
    vecs = [mix({A: 1}), mix({A: 1}), mix({B: 1}), mix({D: 1}), mix({D: 1})]
    sop, utts, res = run(vecs)
    assert steps_of(res) == ["a", "a", "b", "d", "d"]
    cmp = compare_path(res, sop, utts)
    assert [(m.step_id, m.expected_after, m.expected_at) for m in cmp.missed] == [("c", "b", 30.0)]


def test_stored_example_vectors_without_the_name_row_are_accepted():
    sop = tiny_sop()
    vecs = {k: v[:-1] for k, v in example_vectors(sop).items()}  # examples only
    index = index_from_vectors(sop, vecs)
    res = match_call(utterances(["x"]), index, utterance_vectors=mix({C: 1})[None, :])
    assert steps_of(res) == ["c"]


def test_posterior_scores_are_probabilities():
    _s, _u, res = run([mix({A: 1}), mix({B: 0.7, D: 0.75}), mix({B: 1})])
    assert all(0.0 <= lab.score <= 1.0 for lab in res.labels)
    assert res.labels[0].score > 0.5


def test_filler_detection_en_and_zh():
    assert (
        is_filler("Okay.")
        and is_filler("yeah, sure")
        and is_filler("嗯嗯")
        and is_filler("好的好的")
    )
    assert (
        not is_filler("没时间")
        and not is_filler("Tuesday works")
        and not is_filler("What's your budget?")
    )


def _reply_call(reply_to: bool):
    from app.sop.loader import load_sop
    from tests.sop.helpers import Utt, tiny_sop_yaml

    text = tiny_sop_yaml()
    if reply_to:
        text = text.replace("{id: e, name: E, speaker: customer,", "{id: e, name: E, speaker: customer, reply_to: d,")
    sop = load_sop(text, source="tiny.yaml")
    vecs = example_vectors(sop)
    index = index_from_vectors(sop, vecs)
    roles = ["rep", "rep", "rep", "rep", "customer", "rep"]
    steps = ["a", "b", "c", "d", "d", "d"]  # the customer answers the rep's d in d's own words
    utts = [Utt(i, r, i * 10.0, i * 10.0 + 10.0, f"u{i}") for i, r in enumerate(roles)]
    vectors = np.stack([vecs[s][0] for s in steps])
    return match_call(utts, index, utterance_vectors=vectors)


def test_a_customer_answer_inside_a_rep_step_carries_its_reply_step_when_the_sop_declares_one():
    plain, declared = _reply_call(reply_to=False), _reply_call(reply_to=True)
    assert [lab.step_id for lab in plain.labels] == ["a", "b", "c", "d", "d", "d"]
    assert [lab.step_id for lab in declared.labels] == ["a", "b", "c", "d", "e", "d"]
    # The posterior mass moves with the label (the reply step is present, not missed), and the
    # evidence is the rep step's, saying why.
    assert declared.labels[4].score >= plain.labels[4].score and declared.presence["e"][1] == 4
    assert declared.labels[4].similarity == plain.labels[4].similarity
    assert "the customer's answer to 'd'" in declared.labels[4].evidence[-1]

"""Exporters: exact output for small inputs, and parse(export(x)) ≈ x for every format."""

from __future__ import annotations

import pytest

from app.transcripts.formats import (
    Utterance,
    Word,
    export_transcript,
    parse_transcript,
    to_json,
    to_srt,
    to_text,
    to_webvtt,
)
from tests.transcripts.helpers import parse_fixture, utt

SMALL = [
    utt(0, "rep", 0.5, 3661.5, "Hi <Marcus> & team.", speaker="Dana Whitfield"),
    utt(1, "customer", 3662.0, 3663.25, "Hello."),
    utt(2, "unknown", 3664.0, 3665.0, "Who else is here?", speaker="Alice"),
]


def _same(
    a: list[Utterance] | tuple[Utterance, ...], b: tuple[Utterance, ...], *, times: bool = True
) -> None:
    assert [(u.speaker, u.role, u.text) for u in a] == [(u.speaker, u.role, u.text) for u in b]
    if times:
        assert all(
            abs(x.start - y.start) < 0.0005 and abs(x.end - y.end) < 0.0005 for x, y in zip(a, b)
        )


def test_webvtt_export_uses_voice_tags_role_classes_and_escapes() -> None:
    assert to_webvtt(SMALL) == (
        "WEBVTT\n\n"
        "1\n00:00:00.500 --> 01:01:01.500\n<v.rep Dana Whitfield>Hi &lt;Marcus&gt; &amp; team.\n\n"
        "2\n01:01:02.000 --> 01:01:03.250\n<v Customer>Hello.\n\n"
        "3\n01:01:04.000 --> 01:01:05.000\n<v Alice>Who else is here?\n"
    )


def test_srt_export_uses_prefixes_and_comma_milliseconds() -> None:
    assert to_srt(SMALL[:2]) == (
        "1\n00:00:00,500 --> 01:01:01,500\nDana Whitfield (Rep): Hi <Marcus> & team.\n\n"
        "2\n01:01:02,000 --> 01:01:03,250\nCustomer: Hello.\n"
    )


def test_text_export_uses_role_labels_and_optional_timestamps() -> None:
    assert to_text(SMALL[1:]) == "Customer: Hello.\nAlice: Who else is here?\n"
    assert to_text(SMALL[1:2], timestamps=True) == "[01:01:02.000] Customer: Hello.\n"


def test_chinese_text_export_uses_chinese_labels_and_full_width_colon() -> None:
    lines = [
        utt(0, "rep", 0, 1, "您好。", speaker="李明"),
        utt(1, "customer", 1, 2, "你好。", speaker="客户"),
    ]
    assert to_text(lines, language="zh") == "李明 (销售)：您好。\n客户：你好。\n"


def test_unparseable_speaker_name_falls_back_to_role_label() -> None:
    assert to_text([utt(0, "customer", 0, 1, "Hi.", speaker="john from acme")]) == "Customer: Hi.\n"


def test_json_round_trip_is_lossless() -> None:
    original = parse_fixture("en_discovery.json")
    with_none = Utterance(
        40, "Rep", "rep", 400.0, 401.0, "Bye.", (Word(400.0, 401.0, " Bye.", None),)
    )
    utterances = (*original.utterances, with_none)
    again = parse_transcript(to_json(utterances, language="en", duration_s=402.0).encode())
    assert again.utterances == utterances
    assert (again.language, again.duration_s, again.timing_estimated) == ("en", 402.0, False)


def test_json_round_trip_keeps_the_estimated_timing_flag() -> None:
    text = parse_fixture("zh_invite.txt")
    again = parse_transcript(
        to_json(text.utterances, language="zh", timing_estimated=True).encode()
    )
    assert again.timing_estimated is True and again.utterances == text.utterances


@pytest.mark.parametrize("exporter", [to_webvtt, to_srt])
def test_cue_formats_round_trip_speakers_roles_text_and_times(exporter: object) -> None:
    original = parse_fixture("en_discovery.json").utterances
    again = parse_transcript(exporter(original).encode()).utterances  # type: ignore[operator]
    _same(original, again)


@pytest.mark.parametrize("exporter", [to_webvtt, to_srt, to_text])
def test_small_example_round_trips_through_every_cue_and_text_format(exporter: object) -> None:
    again = parse_transcript(exporter(SMALL).encode()).utterances  # type: ignore[operator]
    _same(SMALL, again, times=exporter is not to_text)


def test_text_round_trip_keeps_speakers_roles_and_text_with_estimated_times() -> None:
    original = parse_fixture("zh_invite_megaview.json").utterances
    again = parse_transcript(to_text(original, language="zh").encode())
    _same(original, again.utterances, times=False)
    assert again.timing_estimated is True


def test_text_round_trip_with_timestamps_keeps_start_times() -> None:
    original = parse_fixture("en_discovery.json").utterances
    again = parse_transcript(to_text(original, timestamps=True).encode())
    assert [u.start for u in again.utterances] == [u.start for u in original]
    assert again.timing_estimated is False


def test_export_transcript_dispatches_and_rejects_unknown_formats() -> None:
    assert export_transcript(SMALL[1:2], fmt="text") == "Customer: Hello.\n"
    with pytest.raises(ValueError, match="use one of json, webvtt, srt, text"):
        export_transcript(SMALL, fmt="docx")

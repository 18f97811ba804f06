"""Parsers: each format from the hand-written call fixtures and the lenient variants."""

from __future__ import annotations

import json

import pytest

from app.transcripts.formats import estimate_duration_s, parse_transcript, sniff_format
from tests.transcripts.helpers import EN_NAMES, fixture_bytes, parse_fixture


def test_own_json_reads_speakers_roles_words_and_header_fields() -> None:
    parsed = parse_fixture("en_discovery.json")
    first = parsed.utterances[0]
    assert (parsed.source_format, len(parsed.utterances), parsed.language) == (
        "talktrack_json",
        40,
        "en",
    )
    assert parsed.duration_s == 313.35 and parsed.timing_estimated is False
    assert (first.speaker, first.role, first.start) == ("Dana Whitfield", "rep", 0.52)
    assert first.words[0].text == " Hi" and first.words[0].probability == 0.91
    assert [u.role for u in parsed.utterances[:4]] == ["rep", "customer", "rep", "customer"]


def test_webvtt_matches_the_json_call_text_and_times() -> None:
    ours = parse_fixture("en_discovery.json").utterances
    vtt = parse_fixture("en_discovery.vtt").utterances
    assert [u.text for u in vtt] == [u.text for u in ours]
    assert all(
        abs(a.start - b.start) < 0.001 and abs(a.end - b.end) < 0.001 for a, b in zip(ours, vtt)
    )


def test_webvtt_skips_header_and_note_and_joins_wrapped_cue_lines() -> None:
    vtt = parse_fixture("en_discovery.vtt").utterances
    assert (
        vtt[4].text
        == "To start, could you walk me through how your team builds the quarterly forecast right now?"
    )
    assert vtt[9].text.startswith("That's the painful part.")  # <i>…</i></v> stripped
    assert "our P&L" in vtt[19].text  # &amp; decoded


def test_webvtt_voice_names_have_unknown_role_without_a_mapping() -> None:
    vtt = parse_fixture("en_discovery.vtt").utterances
    assert {(u.speaker, u.role) for u in vtt} == {
        ("Dana Whitfield", "unknown"),
        ("Marcus Chen", "unknown"),
    }


def test_roles_mapping_assigns_roles_to_named_speakers() -> None:
    vtt = parse_fixture("en_discovery.vtt", roles=EN_NAMES).utterances
    assert [u.role for u in vtt[:2]] == ["rep", "customer"]


def test_srt_with_crlf_and_role_prefixes_matches_the_json_call() -> None:
    ours = parse_fixture("en_discovery.json").utterances
    srt = parse_fixture("en_discovery.srt")
    assert srt.source_format == "srt"
    assert [(u.speaker, u.role, u.text) for u in srt.utterances][:2] == [
        ("Rep", "rep", ours[0].text),
        ("Customer", "customer", ours[1].text),
    ]
    assert [round(u.end, 3) for u in srt.utterances] == [u.end for u in ours]


def test_plain_text_joins_continuation_lines_and_estimates_times() -> None:
    ours = parse_fixture("en_discovery.json").utterances
    text = parse_fixture("en_discovery.txt")
    assert text.timing_estimated is True
    assert [(u.role, u.text) for u in text.utterances] == [(u.role, u.text) for u in ours]
    first, second = text.utterances[:2]
    assert first.start == 0.0 and first.end == round(estimate_duration_s(first.text), 3)
    assert second.start == first.end


def test_speaking_rate_estimate_is_150_words_per_minute_and_4_characters_per_second() -> None:
    assert estimate_duration_s("one two three four five") == 2.0
    assert estimate_duration_s("我们现在用的") == 1.5
    assert estimate_duration_s("ok") == 0.5  # minimum turn


def test_megaview_json_converts_milliseconds_and_maps_roles() -> None:
    parsed = parse_fixture("zh_invite_megaview.json")
    raw = json.loads(fixture_bytes("zh_invite_megaview.json"))["data"]["segments"]
    first = parsed.utterances[0]
    assert (parsed.source_format, len(parsed.utterances), parsed.language) == (
        "megaview_json",
        26,
        "zh",
    )
    assert (first.speaker, first.role, first.start, first.end) == (
        "李明",
        "rep",
        raw[0]["begin_time"] / 1000,
        raw[0]["end_time"] / 1000,
    )
    assert parsed.utterances[1].role == "customer"


def test_chinese_text_with_full_and_half_width_colons_matches_megaview() -> None:
    megaview = parse_fixture("zh_invite_megaview.json").utterances
    text = parse_fixture("zh_invite.txt")
    assert text.language == "zh"
    assert [(u.role, u.text) for u in text.utterances] == [(u.role, u.text) for u in megaview]


def test_megaview_bare_list_in_seconds_with_other_role_is_unknown() -> None:
    data = [
        {"begin": 0.5, "end": 2.25, "role": "host_salesman", "text": "Hi"},
        {"begin": 2.5, "end": 3.0, "role": "host_assistant", "text": "Hello"},
    ]
    parsed = parse_transcript(json.dumps(data).encode())
    assert [(u.speaker, u.role, u.start) for u in parsed.utterances] == [
        ("Rep", "rep", 0.5),
        ("host_assistant", "unknown", 2.5),
    ]


def test_megaview_integer_seconds_with_short_segments_stay_seconds() -> None:
    data = {
        "segments": [
            {"begin_time": 0, "end_time": 4, "role": "host_salesman", "content": "Hi"},
            {"begin_time": 5, "end_time": 9, "role": "customer_contact", "content": "Yes"},
        ]
    }
    assert [u.end for u in parse_transcript(json.dumps(data).encode()).utterances] == [4.0, 9.0]


def test_megaview_ms_keys_are_always_milliseconds() -> None:
    data = {
        "data": {"list": [{"start_ms": 10, "end_ms": 40, "role": "customer_contact", "text": "Hm"}]}
    }
    assert parse_transcript(json.dumps(data).encode()).utterances[0].end == 0.04


def test_megaview_integer_times_past_four_hours_are_milliseconds() -> None:
    data = [
        {"begin_time": 14_000, "end_time": 14_050, "role": "host_salesman", "text": "Hi"},
        {"begin_time": 14_100, "end_time": 14_500, "role": "customer_contact", "text": "Hey"},
    ]
    assert parse_transcript(json.dumps(data).encode()).utterances[1].end == 14.5


def test_megaview_speaker_name_can_be_remapped_by_caller() -> None:
    data = [
        {"begin": 0.0, "end": 1.0, "role": "customer_contact", "speaker_name": "Li", "text": "Hi"}
    ]
    assert (
        parse_transcript(json.dumps(data).encode(), roles={"Li": "rep"}).utterances[0].role == "rep"
    )


@pytest.mark.parametrize(
    "label,role",
    [
        ("Salesperson", "rep"),
        ("Sales", "rep"),
        ("Agent", "rep"),
        ("Prospect", "customer"),
        ("Client", "customer"),
        ("customer", "customer"),
        ("销售", "rep"),
        ("客户", "customer"),
    ],
)
def test_text_role_words_map_to_roles(label: str, role: str) -> None:
    parsed = parse_transcript(f"{label}: Hello there.\n".encode())
    assert (parsed.utterances[0].speaker, parsed.utterances[0].role) == (label, role)


def test_text_named_speaker_is_unknown_unless_mapped() -> None:
    data = b"Alice: Hi, Bob.\nBob Stone: Hi.\n"
    assert [u.role for u in parse_transcript(data).utterances] == ["unknown", "unknown"]
    mapped = parse_transcript(data, roles={"alice": "rep", "Bob Stone": "customer"}).utterances
    assert [u.role for u in mapped] == ["rep", "customer"]


def test_text_role_hint_in_parentheses_sets_the_role() -> None:
    parsed = parse_transcript("Dana Whitfield (Rep): Hi.\n王建国（客户）：你好。\n".encode())
    assert [(u.speaker, u.role) for u in parsed.utterances] == [
        ("Dana Whitfield", "rep"),
        ("王建国", "customer"),
    ]


def test_text_colon_inside_a_sentence_continues_the_turn() -> None:
    parsed = parse_transcript(b"Rep: The plan is simple.\nso the price is: forty a seat.\n")
    assert len(parsed.utterances) == 1
    assert parsed.utterances[0].text == "The plan is simple. so the price is: forty a seat."


def test_text_with_timestamps_on_every_turn_uses_them() -> None:
    parsed = parse_transcript(b"[00:00:05] Rep: Hi there.\n[00:00:09.250] Customer: Hello.\n")
    assert parsed.timing_estimated is False
    assert [(u.start, u.end) for u in parsed.utterances] == [
        (5.0, 9.25),
        (9.25, 9.75),
    ]  # last: 1 word → 0.5 s minimum


def test_language_is_detected_from_cjk_share_and_can_be_forced() -> None:
    assert parse_transcript("客户：我们用的是 Salesforce CRM 系统。\n".encode()).language == "zh"
    assert parse_transcript("Rep: We met 王总 yesterday.\n".encode()).language == "en"
    assert parse_transcript(b"Rep: Hi.\n", language="zh").language == "zh"


def test_format_is_sniffed_from_content_not_the_filename() -> None:
    data = json.dumps(
        {"utterances": [{"start": 0, "end": 1, "text": "Hi", "role": "rep"}]}
    ).encode()
    parsed = parse_transcript(data, filename="call.txt", content_type="text/plain")
    assert parsed.source_format == "talktrack_json"
    assert sniff_format("1\n00:00:01,000 --> 00:00:02,000\nRep: hi\n") == "srt"
    assert sniff_format("[00:00:01] Rep: hi") == "text"


def test_control_and_bidi_characters_are_removed_from_text_and_names() -> None:
    parsed = parse_transcript("Rep\u202e: Hi\x07 there\x1b[31m.\n".encode())
    assert (parsed.utterances[0].speaker, parsed.utterances[0].text) == ("Rep", "Hi there[31m.")


def test_utf16_and_gb18030_text_is_decoded() -> None:
    assert parse_transcript("Rep: Hi.\n".encode("utf-16")).utterances[0].text == "Hi."
    assert parse_transcript("销售：您好。\n".encode("gb18030")).utterances[0].text == "您好。"


def test_unsorted_json_utterances_are_sorted_and_reindexed() -> None:
    data = {
        "utterances": [
            {"start": 5, "end": 6, "text": "B", "role": "customer"},
            {"start": 1, "end": 2, "text": "A", "role": "rep"},
        ]
    }
    parsed = parse_transcript(json.dumps(data).encode())
    assert [(u.index, u.text) for u in parsed.utterances] == [(0, "A"), (1, "B")]


def test_srt_cue_with_two_dialogue_lines_splits_time_by_text_length() -> None:
    data = b"1\n00:00:00,000 --> 00:00:03,000\n- Rep: Hello there\n- Customer: Hi\n"
    first, second = parse_transcript(data).utterances
    assert (first.role, first.text, first.end) == ("rep", "Hello there", pytest.approx(3 * 11 / 13))
    assert (second.role, second.start, second.end) == ("customer", first.end, 3.0)


def test_vtt_cue_without_speaker_continues_the_previous_speaker() -> None:
    data = b"WEBVTT\n\n00:01.000 --> 00:02.000\n<v.rep Dana>Hello.\n\n00:02.000 --> 00:03.000\nStill me.\n"
    parsed = parse_transcript(data).utterances
    assert [(u.speaker, u.role, u.start) for u in parsed] == [
        ("Dana", "rep", 1.0),
        ("Dana", "rep", 2.0),
    ]

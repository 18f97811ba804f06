"""Every rejection names the format, the place, the problem and the fix."""

from __future__ import annotations

import json
import random

import pytest

from app.transcripts.formats import MAX_UTTERANCES, TranscriptFormatError, parse_transcript
from tests.transcripts.helpers import fixture_bytes


def _error(data: bytes, **kwargs: object) -> str:
    with pytest.raises(TranscriptFormatError) as info:
        parse_transcript(data, **kwargs)  # type: ignore[arg-type]
    return str(info.value)


def _own(**fields: object) -> bytes:
    item = {"speaker": "Rep", "role": "rep", "start": 0.0, "end": 1.0, "text": "Hi"} | fields
    return json.dumps({"utterances": [{k: v for k, v in item.items() if v is not ...}]}).encode()


def test_file_over_the_size_limit_is_rejected_with_sizes() -> None:
    message = _error(b"Rep: " + b"a" * 200, max_bytes=100, filename="call.txt")
    assert message.startswith(
        "Uploaded transcript, file 'call.txt': it is 205 bytes, over the 100 byte limit"
    )


def test_empty_file_is_rejected() -> None:
    assert "the file is empty. Upload a transcript" in _error(b"  \n\t\n")


def test_binary_with_nul_bytes_is_rejected() -> None:
    assert "the content is binary, not text" in _error(bytes(range(256)) * 4)


def test_random_bytes_without_nul_are_rejected() -> None:
    rng = random.Random(7)
    data = bytes(rng.randrange(1, 256) for _ in range(4000))
    message = _error(data)
    assert "binary" in message or "not UTF-8" in message


def test_invalid_json_names_line_and_column() -> None:
    message = _error(fixture_bytes("malformed/trailing_comma.json"))
    assert message.startswith("JSON transcript, line 5, column 3: invalid JSON (Expecting value)")
    assert "python -m json.tool" in message


def test_random_utf16_is_rejected_as_binary() -> None:
    rng = random.Random(11)
    assert "binary" in _error(b"\xff\xfe" + bytes(rng.randrange(1, 256) for _ in range(4000)))


def test_deeply_nested_json_is_rejected() -> None:
    assert "nested too deeply" in _error(b"[" * 200_000)


def test_json_without_utterances_or_segments_is_rejected() -> None:
    message = _error(b'{"call": {"id": 3}}')
    assert "JSON transcript, top level: found neither an 'utterances' list" in message


def test_own_json_missing_text_names_the_utterance() -> None:
    assert (
        "Talktrack JSON transcript, utterance 0: missing required field 'text'. Add 'text'"
        in _error(_own(text=...))
    )


def test_own_json_invalid_role_lists_allowed_roles() -> None:
    assert "role 'boss' is not rep, customer or unknown" in _error(_own(role="boss"))


def test_own_json_end_before_start_is_rejected() -> None:
    message = _error(fixture_bytes("malformed/end_before_start.json"))
    assert message == (
        "Talktrack JSON transcript, utterance 0: end 3.000s is before start 5.000s. "
        "Swap or correct the two times"
    )


def test_non_finite_time_is_rejected() -> None:
    assert "'start' is nan, not a finite number" in _error(_own(start=float("nan")))


def test_negative_time_is_rejected() -> None:
    assert "'end' is negative (-1.0)" in _error(_own(end=-1.0))


def test_text_that_is_not_a_string_is_rejected() -> None:
    assert "'text' is list, not text" in _error(_own(text=["Hi"]))


def test_overlong_speaker_name_is_rejected() -> None:
    assert "the speaker name is 65 characters, over 64" in _error(_own(speaker="x" * 65))


def test_megaview_segment_missing_begin_time_names_the_segment() -> None:
    message = _error(fixture_bytes("malformed/megaview_missing_begin.json"))
    assert message.startswith(
        "Megaview JSON transcript, segment 2: missing required field 'begin_time'"
    )
    assert "also accepted: start, begin" in message


def test_megaview_segment_that_is_not_an_object_is_rejected() -> None:
    assert "segment 0: expected an object, got str" in _error(b'["hello"]')


def test_webvtt_bad_timestamp_names_the_line_and_format() -> None:
    message = _error(fixture_bytes("malformed/bad_timestamp.vtt"))
    assert message.startswith(
        "WebVTT transcript, line 8: cue timing '00:00:2.500 --> 00:00:04.000'"
    )
    assert "Write times like 00:01:02.500 --> 00:01:04.000" in message


def test_srt_cue_without_timing_line_names_the_cue() -> None:
    message = _error(fixture_bytes("malformed/missing_timing.srt"))
    assert message.startswith("SRT transcript, line 5: cue '2' has no timing line")


def test_cue_minutes_over_59_are_rejected() -> None:
    assert "minutes or seconds over 59" in _error(b"WEBVTT\n\n00:61:00.000 --> 01:02:00.000\nhi\n")


def test_cue_ending_before_it_starts_is_rejected() -> None:
    assert "cue ends before it starts" in _error(b"1\n00:00:05,000 --> 00:00:01,000\nRep: hi\n")


def test_webvtt_header_must_be_exact() -> None:
    assert "WebVTT transcript, line 1: the first line must be 'WEBVTT'" in _error(b"WEBVTTX\n\n")


def test_text_before_any_speaker_prefix_is_rejected() -> None:
    message = _error(fixture_bytes("malformed/no_prefix.txt"))
    assert message.startswith(
        "Plain text transcript, line 1: 'Discovery call notes, Brightline, Oct 7' comes before any speaker prefix"
    )
    assert "'Rep: …' / 'Customer: …'" in message


def test_more_than_the_utterance_limit_is_rejected() -> None:
    message = _error(b"Rep: hi\n" * (MAX_UTTERANCES + 1))
    assert "Plain text transcript, line 50001: more than 50,000 utterances" in message


def test_json_with_too_many_utterances_is_rejected_before_parsing_them() -> None:
    data = json.dumps({"utterances": [{}] * (MAX_UTTERANCES + 1)}).encode()
    assert "more than 50,000 utterances" in _error(data)


def test_huge_single_utterance_is_rejected() -> None:
    message = _error(b"Rep: " + b"word " * 12_000)
    assert "one utterance is 59,999 characters, over 50,000" in message


def test_transcript_with_no_text_is_rejected() -> None:
    assert "no utterance with text was found" in _error(b"WEBVTT\n\nNOTE only a note\n")


def test_roles_mapping_with_an_unknown_role_is_rejected() -> None:
    assert "role 'boss' is not rep, customer or unknown" in _error(
        b"Alice: hi\n", roles={"Alice": "boss"}
    )


def test_format_error_is_a_value_error_with_parts() -> None:
    with pytest.raises(ValueError) as info:
        parse_transcript(b"")
    assert (info.value.format, info.value.where) == ("Uploaded", "file")  # type: ignore[attr-defined]

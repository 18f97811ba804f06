"""build_utterances: turns from speaker-labelled ASR words."""

from __future__ import annotations

import pytest

from app.transcripts.formats import ParsedTranscript, Utterance, Word
from app.transcripts.turns import (
    build_utterances,
    ends_sentence,
    normalise_turns,
    split_at_sentences,
)

ROLES = {"A": "rep", "B": "customer"}


def _w(start: float, end: float, text: str) -> Word:
    return Word(start, end, text, 0.9)


def test_consecutive_words_of_one_speaker_form_one_turn() -> None:
    words = [
        (_w(0.0, 0.4, " Hello"), "A"),
        (_w(0.5, 0.9, " there."), "A"),
        (_w(1.2, 1.5, " Hi."), "B"),
    ]
    turns = build_utterances(words, roles=ROLES)
    assert [(u.index, u.speaker, u.role, u.start, u.end, u.text) for u in turns] == [
        (0, "A", "rep", 0.0, 0.9, "Hello there."),
        (1, "B", "customer", 1.2, 1.5, "Hi."),
    ]
    assert turns[0].words == (words[0][0], words[1][0])


def test_a_pause_longer_than_max_gap_splits_the_turn() -> None:
    words = [
        (_w(0.0, 0.5, " Okay."), "A"),
        (_w(2.1, 2.5, " So,"), "A"),
        (_w(2.6, 3.0, " next"), "A"),
    ]
    turns = build_utterances(words, roles=ROLES, max_gap_s=1.5)
    assert [u.text for u in turns] == ["Okay.", "So, next"]


def test_a_pause_at_max_gap_does_not_split() -> None:
    words = [(_w(0.0, 0.5, " Okay"), "A"), (_w(2.0, 2.5, " then"), "A")]
    assert len(build_utterances(words, roles=ROLES, max_gap_s=1.5)) == 1


def test_long_turn_splits_at_the_first_sentence_end_after_sentence_s() -> None:
    words = [(_w(i, i + 0.9, f" w{i}." if i in (3, 7) else f" w{i}"), "A") for i in range(10)]
    turns = build_utterances(words, roles=ROLES, sentence_s=5.0)
    assert [u.text.split()[0] for u in turns] == ["w0", "w8"]


def test_sentence_s_zero_gives_one_utterance_per_sentence() -> None:
    words = [(_w(i, i + 0.9, f" w{i}." if i in (3, 7) else f" w{i}"), "A") for i in range(10)]
    turns = build_utterances(words, roles=ROLES, sentence_s=0.0)
    assert [u.text for u in turns] == ["w0 w1 w2 w3.", "w4 w5 w6 w7.", "w8 w9"]


def test_turn_without_sentence_end_is_cut_at_max_len() -> None:
    words = [(_w(i, i + 0.9, f" w{i}"), "A") for i in range(25)]
    turns = build_utterances(words, roles=ROLES, sentence_s=5.0, max_len_s=10.0)
    assert [(u.start, u.end) for u in turns] == [(0, 10.9), (11, 21.9), (22, 24.9)]


def test_chinese_words_join_without_spaces_and_english_with_one() -> None:
    words = [
        (_w(0, 0.3, "我们"), "B"),
        (_w(0.3, 0.5, "现在"), "B"),
        (_w(0.5, 0.7, "用"), "B"),
        (_w(0.7, 1.2, " Salesforce"), "B"),
        (_w(1.2, 1.5, " CRM"), "B"),
        (_w(1.5, 1.7, "。"), "B"),
    ]
    assert build_utterances(words, roles=ROLES)[0].text == "我们现在用Salesforce CRM。"


def test_words_without_leading_spaces_and_split_punctuation_join_cleanly() -> None:
    words = [
        (_w(0, 0.2, "We"), "A"),
        (_w(0.2, 0.4, "don"), "A"),
        (_w(0.4, 0.5, "'t"), "A"),
        (_w(0.5, 0.8, "know"), "A"),
        (_w(0.8, 0.9, "?"), "A"),
    ]
    assert build_utterances(words, roles=ROLES)[0].text == "We don't know?"


def test_unmapped_speaker_gets_unknown_role_and_blank_words_are_dropped() -> None:
    words = [(_w(1.0, 1.2, " Hi"), "C"), (_w(0.0, 0.1, "  "), "A")]
    turns = build_utterances(words, roles=ROLES)
    assert [(u.speaker, u.role, u.text) for u in turns] == [("C", "unknown", "Hi")]


def test_words_out_of_order_are_sorted_by_start() -> None:
    words = [(_w(1.0, 1.4, " world"), "A"), (_w(0.0, 0.4, " Hello"), "A")]
    assert build_utterances(words, roles=ROLES)[0].text == "Hello world"


def test_invalid_role_in_mapping_is_rejected() -> None:
    with pytest.raises(ValueError, match="rep, customer or unknown"):
        build_utterances([], roles={"A": "seller"})


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        (" done.", True),
        ("吗？", True),
        (" really?!", True),
        (" Mr.", False),
        (" Dr.", False),
        (" U.S.", False),
        (" e.g.", False),
        (" J.", False),
        (" so,", False),
        (" No.", True),
    ],
)
def test_sentence_ends_skip_abbreviations(word: str, expected: bool) -> None:
    assert ends_sentence(word) is expected


def test_a_title_does_not_cut_a_long_turn() -> None:
    texts = [" I", " spoke", " with", " your", " colleague", " Mr.", " Chen", " about", " it."]
    words = [(_w(i, i + 0.9, t), "A") for i, t in enumerate(texts)]
    assert len(build_utterances(words, roles=ROLES, sentence_s=2.0)) == 1


def _utt(text: str, start: float, end: float, words: tuple[Word, ...] = ()) -> Utterance:
    return Utterance(3, "A", "rep", start, end, text, words)


def test_split_at_sentences_cuts_a_long_turn_where_a_sentence_ends_once_the_piece_is_long_enough():
    text = "Thanks for the time. I spoke with Mr. Chen about the renewal. So today, three things. Okay?"
    pieces = split_at_sentences(_utt(text, 10.0, 30.0), sentence_s=6.0)
    # Times by characters (20 s over 90): "Thanks for the time." ends at 4.4 s, too soon; "renewal."
    # at 13.6 s ends the first piece; "three things." closes the second after 5.1 s, too soon.
    assert [p.text for p in pieces] == [
        "Thanks for the time. I spoke with Mr. Chen about the renewal.",
        "So today, three things. Okay?",
    ]
    assert pieces[0].start == 10.0 and pieces[-1].end == 30.0 and pieces[0].end == pieces[1].start
    assert " ".join(p.text for p in pieces) == text  # the text as written, nothing lost
    assert split_at_sentences(_utt("No sentence end here at all", 0.0, 30.0)) == [_utt("No sentence end here at all", 0.0, 30.0)]


def test_split_at_sentences_gives_each_piece_its_own_words_and_reads_chinese():
    text = "您好，我是华信的小王。上次跟您聊过续约的事情。今天想确认一下时间，可以吗？"
    words = tuple(Word(i * 0.5, i * 0.5 + 0.4, ch, 0.9) for i, ch in enumerate(text))  # 0.5 s a character
    pieces = split_at_sentences(_utt(text, 0.0, len(text) * 0.5, words), sentence_s=4.0)
    assert [p.text for p in pieces] == ["您好，我是华信的小王。", "上次跟您聊过续约的事情。", "今天想确认一下时间，可以吗？"]
    assert sum(len(p.words) for p in pieces) == len(words)
    assert "".join(w.text for w in pieces[1].words) == pieces[1].text


def _parsed(utterances, fmt: str) -> ParsedTranscript:
    return ParsedTranscript(tuple(utterances), "en", 60.0, fmt)


def test_normalise_turns_cuts_other_tools_long_turns_and_reindexes():
    long_turn = "First we set up. That took a while. Then we tested it all. Then it shipped. Done now."
    short = Utterance(0, "B", "customer", 0.0, 3.0, "Hi. How are you? Fine.")
    parsed = _parsed([short, Utterance(1, "A", "rep", 3.0, 23.0, long_turn)], "webvtt")
    out = normalise_turns(parsed)
    assert out.utterances[0] == short  # under SPLIT_IMPORTED_S: as written, sentences and all
    assert len(out.utterances) > 2 and [u.index for u in out.utterances] == list(range(len(out.utterances)))
    assert {u.speaker for u in out.utterances[1:]} == {"A"}
    assert normalise_turns(out) == out  # idempotent: an exported call re-imports the same
    assert normalise_turns(_parsed(parsed.utterances, "talktrack_json")).utterances == parsed.utterances


def test_caption_cues_cut_mid_sentence_rejoin_the_speakers_next_cue():
    cues = [
        Utterance(0, "Sam", "rep", 0.0, 1.5, "So the reason I"),
        Utterance(1, "Sam", "rep", 1.6, 3.5, "called is your renewal."),
        Utterance(2, "Sam", "rep", 3.6, 5.0, "Does Tuesday work?"),  # after a sentence end: its own
        Utterance(3, "Ana", "customer", 5.2, 5.6, "Yes, I"),
        Utterance(4, "Sam", "rep", 5.7, 6.0, "Great"),  # another speaker in between: not joined
        Utterance(5, "Ana", "customer", 6.1, 7.0, "think so"),
        Utterance(6, "Ana", "customer", 9.0, 9.5, "maybe"),  # after a 2 s pause: not joined
    ]
    for fmt in ("webvtt", "srt"):
        out = normalise_turns(_parsed(cues, fmt)).utterances
        assert [(u.speaker, u.role, u.start, u.end, u.text) for u in out] == [
            ("Sam", "rep", 0.0, 3.5, "So the reason I called is your renewal."),
            ("Sam", "rep", 3.6, 5.0, "Does Tuesday work?"),
            ("Ana", "customer", 5.2, 5.6, "Yes, I"),
            ("Sam", "rep", 5.7, 6.0, "Great"),
            ("Ana", "customer", 6.1, 7.0, "think so"),
            ("Ana", "customer", 9.0, 9.5, "maybe"),
        ]
        assert [u.index for u in out] == list(range(6))
    assert normalise_turns(_parsed(cues, "text")).utterances == tuple(cues)  # not captions: as written

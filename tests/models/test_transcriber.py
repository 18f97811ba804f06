import dataclasses
import re

import pytest

from models import ModelError, TranscribeOptions, TranscriptionResult
from tests.models.helpers import AUDIO, cer, dialog_turns, wer

# Measured: tiny.en at beam 5 scores WER 0.15 on the dialog (espeak's f3 voice: "a tool to coach
# our" → "to call Cal State"); base scores 0.06. 0.25 leaves room for int8/CPU differences while
# still failing on a dropped turn (one missing turn alone costs ≥ 0.2).
TINY_EN_MAX_WER = 0.25
# Measured with base + zh prompt: 你好世界 0.25, 一二…十 (written as digits) 1.0, 千字文 0.33.
ZH_MAX_CER = 0.5
TRADITIONAL_ONLY = set("們這個說時對會國過來還點體學開關現東長門問話裡")


def _dialog_text() -> str:
    return " ".join(t.text for t in dialog_turns()).replace("fifty thousand dollars", "$50,000")


@pytest.mark.ml
def test_tiny_en_transcribes_the_dialog_within_wer(tiny_en, dialog_mono) -> None:
    result = tiny_en.transcribe(dialog_mono, TranscribeOptions(language="en"))
    assert wer(_dialog_text(), result.text) <= TINY_EN_MAX_WER, result.text


@pytest.mark.ml
def test_every_turn_of_the_dialog_is_transcribed(tiny_en, dialog_mono) -> None:
    words = tiny_en.transcribe(dialog_mono, TranscribeOptions(language="en")).words
    for turn in dialog_turns():
        assert any(turn.start - 0.3 <= w.start <= turn.end for w in words), turn


@pytest.mark.ml
def test_word_timestamps_are_ordered_and_inside_the_audio(dialog_words) -> None:
    starts = [w.start for w in dialog_words]
    assert starts == sorted(starts)
    assert all(0 <= w.start <= w.end <= 12.6 and 0 <= w.probability <= 1 for w in dialog_words)


@pytest.mark.ml
def test_progress_callback_reaches_the_total(tiny_en) -> None:
    calls: list[tuple[float, float]] = []
    tiny_en.transcribe(AUDIO / "excerpt.mp3", TranscribeOptions(language="en"),
                       progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1][0] == calls[-1][1] == pytest.approx(3.5, abs=0.1)
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)


@pytest.mark.ml
def test_result_is_frozen(tiny_en) -> None:
    result = tiny_en.transcribe(AUDIO / "excerpt.flac", TranscribeOptions(language="en"))
    assert isinstance(result, TranscriptionResult) and result.model_name == "tiny.en"
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.language = "zh"  # type: ignore[misc]


@pytest.mark.ml
def test_english_only_model_refuses_chinese(tiny_en) -> None:
    with pytest.raises(ModelError, match="English-only"):
        tiny_en.transcribe(AUDIO / "zh_nihao_shijie.wav", TranscribeOptions(language="zh"))


@pytest.mark.ml
@pytest.mark.parametrize("clip", ["nihao_shijie", "pangrama"])
def test_base_transcribes_mandarin_in_simplified_within_cer(whisper_base, clip: str) -> None:
    # word timestamps off: on these short clips base hallucinates on the last 0.5 s after the
    # final timestamp and burns ~15 s in temperature fallbacks before discarding it
    options = TranscribeOptions(language="zh", word_timestamps=False)
    result = whisper_base.transcribe(AUDIO / f"zh_{clip}.wav", options)
    reference = (AUDIO / f"zh_{clip}.txt").read_text().strip()
    assert re.search(r"[\u4e00-\u9fff]", result.text)
    assert not TRADITIONAL_ONLY & set(result.text)
    assert cer(reference, result.text) <= ZH_MAX_CER, result.text


@pytest.mark.ml
def test_base_detects_mandarin_when_no_language_is_given(whisper_base) -> None:
    result = whisper_base.transcribe(AUDIO / "zh_pangrama.wav", TranscribeOptions(word_timestamps=False))
    assert result.language == "zh" and result.language_probability > 0.8


@pytest.mark.ml
def test_traditional_output_is_converted_to_simplified() -> None:
    from models.transcriber import _to_simplified

    assert _to_simplified("這個會議們說") == "这个会议们说"


@pytest.mark.ml
def test_long_audio_goes_through_the_batched_pipeline_and_keeps_every_turn(whisper_base, dialog_mono) -> None:
    """Five copies of the dialog (62 s, past batched_min_seconds): same words, word times in order."""
    import numpy as np

    gap = np.zeros(8000, dtype=dialog_mono.dtype)
    long = np.concatenate([part for _ in range(5) for part in (dialog_mono, gap)])
    assert len(long) / 16000 >= 60
    result = whisper_base.transcribe(long, TranscribeOptions(language="en"))
    assert whisper_base._batched_pipeline is not None, "audio over a minute must use the batched pipeline"
    reference = " ".join([_dialog_text()] * 5)
    assert wer(reference, result.text) <= 0.15, result.text
    starts = [w.start for w in result.words]
    assert starts == sorted(starts) and starts[-1] > 50

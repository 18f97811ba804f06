from pathlib import Path

import numpy as np
import pytest

from models import AudioDecodeError, load, probe
from tests.models.helpers import AUDIO

EXCERPT_S = 3.5


@pytest.mark.parametrize("name", ["excerpt.mp3", "excerpt.m4a", "excerpt.ogg", "excerpt.flac", "excerpt.webm"])
def test_each_format_decodes_to_its_duration_at_16k(name: str) -> None:
    audio = load(AUDIO / name)
    assert audio.dtype == np.float32
    assert abs(len(audio) / 16_000 - EXCERPT_S) <= 0.1


@pytest.mark.parametrize("name", ["excerpt.mp3", "excerpt.m4a", "excerpt.ogg", "excerpt.flac", "excerpt.webm"])
def test_probe_reports_duration_and_codec(name: str) -> None:
    info = probe(AUDIO / name)
    assert abs(info.duration_s - EXCERPT_S) <= 0.1
    assert info.channels == 1 and info.codec


def test_stereo_file_splits_into_two_channels_of_the_same_length() -> None:
    left, right = load(AUDIO / "excerpt_stereo.m4a", split_stereo=True)
    assert len(left) == len(right) and abs(len(left) / 16_000 - EXCERPT_S) <= 0.1
    assert probe(AUDIO / "dialog_en_stereo.flac").channels == 2


def test_stereo_channels_hold_different_parties() -> None:
    left, right = load(AUDIO / "dialog_en_stereo.flac", split_stereo=True)
    first_turn = slice(0, 16_000 * 3)  # the rep speaks first, on the left
    assert np.abs(left[first_turn]).mean() > 5 * np.abs(right[first_turn]).mean()


def test_split_stereo_on_a_mono_file_is_refused() -> None:
    with pytest.raises(AudioDecodeError, match="2-channel"):
        load(AUDIO / "excerpt.flac", split_stereo=True)


def test_corrupt_file_raises_audio_decode_error_saying_how_to_fix() -> None:
    with pytest.raises(AudioDecodeError, match=r"corrupt.*re-export"):
        load(AUDIO / "corrupt.wav")


def test_zero_byte_file_raises_audio_decode_error() -> None:
    with pytest.raises(AudioDecodeError, match="empty"):
        probe(AUDIO / "empty.mp3")
    with pytest.raises(AudioDecodeError, match="empty"):
        load(AUDIO / "empty.mp3")


def test_missing_file_raises_audio_decode_error(tmp_path: Path) -> None:
    with pytest.raises(AudioDecodeError, match="does not exist"):
        load(tmp_path / "nope.wav")


def test_file_without_audio_stream_raises_audio_decode_error(tmp_path: Path) -> None:
    text = tmp_path / "notes.wav"
    text.write_text("Rep: hello\nCustomer: hi\n" * 20)
    with pytest.raises(AudioDecodeError):
        load(text)

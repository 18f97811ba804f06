"""Session-wide real models for the ml tests: each loads once per test session."""

from __future__ import annotations

import numpy as np
import pytest

from tests.models.helpers import AUDIO


@pytest.fixture(scope="session")
def tiny_en():
    from models import get_transcriber

    return get_transcriber("tiny.en")


@pytest.fixture(scope="session")
def whisper_base():
    from models import get_transcriber

    return get_transcriber("base")


@pytest.fixture(scope="session")
def e5():
    from models import get_embedder

    return get_embedder("e5")


@pytest.fixture(scope="session")
def dialog_mono() -> np.ndarray:
    from models import load

    return load(AUDIO / "dialog_en_mono.wav")


@pytest.fixture(scope="session")
def dialog_words(tiny_en, dialog_mono):
    from models import TranscribeOptions

    return tiny_en.transcribe(dialog_mono, TranscribeOptions(language="en")).words

"""Speech to text with faster-whisper: one model per process, results as frozen dataclasses."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from models.config import get_model_settings
from models.errors import ModelError, ModelUnavailableError

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

ZH_PROMPT = "以下是普通话的句子。"  # nudges Whisper towards Simplified Mandarin punctuation/script
ProgressCallback = Callable[[float, float], None]  # (seconds done, total seconds)


@dataclass(frozen=True, slots=True)
class TranscribeOptions:
    """Per-call options; ``None`` means the setting's default (or detection, for language)."""

    language: str | None = None
    initial_prompt: str | None = None
    vad_filter: bool = True
    word_timestamps: bool = True
    beam_size: int | None = None


@dataclass(frozen=True, slots=True)
class Word:
    """One recognised word with its time span in seconds."""

    start: float
    end: float
    text: str
    probability: float


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of speech as Whisper segmented it."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()


@dataclass(frozen=True, slots=True)
class TranscriptionResult:
    """A whole file's transcript."""

    language: str
    language_probability: float
    duration_s: float
    segments: tuple[Segment, ...]
    model_name: str
    words: tuple[Word, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "words", tuple(w for s in self.segments for w in s.words))

    @property
    def text(self) -> str:
        """The segments' text joined with spaces (no spaces for Chinese/Japanese)."""
        sep = "" if self.language in ("zh", "ja") else " "
        return sep.join(s.text.strip() for s in self.segments).strip()


@runtime_checkable
class Transcriber(Protocol):
    """Anything that turns an audio file or 16 kHz mono samples into a transcript."""

    model_name: str

    def transcribe(
        self, audio: str | Path | np.ndarray, options: TranscribeOptions = ...,
        *, progress: ProgressCallback | None = None,
    ) -> TranscriptionResult: ...


def model_for_language(language: str | None) -> str:
    """The configured model name; ``auto`` is the bundled multilingual base for every language.

    why not tiny.en for English: on our stereo call fixture tiny.en's word error rate was 0.235
    against base's 0.059 (beam 5, same run); base is ~2x slower but still ~10x real time on
    2 CPU cores. Set TALKTRACK_WHISPER_MODEL=tiny.en where throughput matters more.
    """
    name = get_model_settings().whisper_model
    if name != "auto":
        return name
    return "base"


def resolve_model_path(name: str) -> str:
    """A CTranslate2 model directory (bundled, assembled, or as given) or a hub name."""
    from models import bundled

    if name == "tiny.en":
        return str(bundled.whisper_tiny_en_dir())
    if name == "base":
        return str(bundled.whisper_base_dir())
    return name


def _load_model(path: str, device: str) -> Any:
    from faster_whisper import WhisperModel

    s = get_model_settings()
    return WhisperModel(
        path, device=device, compute_type=s.whisper_compute_type, cpu_threads=s.cpu_threads,
        download_root=str(Path(s.model_cache_dir) / "hub"), local_files_only=s.hf_offline,
    )


def _smoke_test(model: Any) -> None:
    """Run one tiny decode: CUDA libraries (libcublas) are only loaded at the first matmul."""
    import numpy as np

    segments, _ = model.transcribe(np.zeros(8000, np.float32), language="en", vad_filter=False)
    list(segments)


def load_whisper(path: str, device: str = "auto") -> tuple[Any, str]:
    """Load a WhisperModel on ``device`` (auto: cuda if it works, else cpu); return it and the device."""
    import ctranslate2

    if device == "auto":
        device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    try:
        model = _load_model(path, device)
        if device == "cuda":
            _smoke_test(model)
        return model, device
    except RuntimeError as exc:
        if device == "cuda" and get_model_settings().whisper_device == "auto":
            # why: registry ctranslate2 wheels need CUDA 12 (libcublas.so.12); CUDA 13 hosts fail
            log.warning("transcriber.cuda_unavailable: %s; falling back to cpu", exc)
            return _load_model(path, "cpu"), "cpu"
        raise ModelUnavailableError(f"Cannot load Whisper model '{path}' on {device}: {exc}") from exc
    except (OSError, ValueError) as exc:
        raise ModelUnavailableError(
            f"Cannot load Whisper model '{path}': {exc}. Use 'tiny.en' or 'base' (bundled), a "
            "CTranslate2 model directory, or a hub name with TALKTRACK_HF_OFFLINE=false."
        ) from exc


def _to_simplified(text: str) -> str:
    return _opencc().convert(text)


@lru_cache(maxsize=1)
def _opencc() -> Any:
    from opencc import OpenCC

    return OpenCC("t2s")


class WhisperTranscriber:
    """faster-whisper with the settings that worked on calls (see ../shared/MODELS.md)."""

    def __init__(self, model_name: str = "base", *, device: str | None = None) -> None:
        settings = get_model_settings()
        self.model_name = model_name
        self._model, self.device = load_whisper(
            resolve_model_path(model_name), device or settings.whisper_device
        )
        self.multilingual: bool = bool(self._model.model.is_multilingual)
        self._lock = threading.Lock()  # why: one CTranslate2 model is not safe to share mid-generate

    def transcribe(
        self, audio: str | Path | np.ndarray, options: TranscribeOptions = TranscribeOptions(),
        *, progress: ProgressCallback | None = None,
    ) -> TranscriptionResult:
        """Transcribe a file path or 16 kHz mono float32 samples; the generator is fully consumed."""
        from models.audio import load

        samples = load(audio) if isinstance(audio, (str, Path)) else audio
        language = options.language
        if not self.multilingual and language not in (None, "en"):
            raise ModelError(
                f"Model '{self.model_name}' is English-only but language '{language}' was requested: "
                "use the multilingual 'base' model (TALKTRACK_WHISPER_MODEL=base or auto)."
            )
        prompt = options.initial_prompt or (ZH_PROMPT if language == "zh" else None)
        with self._lock:
            return self._run(samples, options, language, prompt, progress)

    def _run(
        self, samples: np.ndarray, options: TranscribeOptions, language: str | None,
        prompt: str | None, progress: ProgressCallback | None,
    ) -> TranscriptionResult:
        beam = options.beam_size or get_model_settings().beam_size
        try:
            settings = get_model_settings()
            lang = language if self.multilingual else "en"
            seconds = len(samples) / 16000
            if settings.batched_min_seconds and seconds >= settings.batched_min_seconds and options.vad_filter:
                raw, info = self._batched().transcribe(
                    samples, language=lang, initial_prompt=prompt, vad_filter=True,
                    word_timestamps=options.word_timestamps, beam_size=beam, batch_size=settings.batch_size,
                    condition_on_previous_text=False,
                )
            else:
                raw, info = self._model.transcribe(
                    samples, language=lang, initial_prompt=prompt,
                    vad_filter=options.vad_filter, word_timestamps=options.word_timestamps,
                    beam_size=beam, condition_on_previous_text=False,
                )
            segments = []
            for seg in raw:  # consume the lazy generator here, inside the lock
                segments.append(seg)
                if progress:
                    progress(min(seg.end, info.duration), info.duration)
        except RuntimeError as exc:
            raise ModelError(f"Whisper failed on this audio: {exc}") from exc
        if progress:
            progress(info.duration, info.duration)
        return self._result(segments, info)

    def _batched(self) -> Any:
        """The batched pipeline over the same loaded model (created once, on first long call)."""
        if getattr(self, "_batched_pipeline", None) is None:
            from faster_whisper import BatchedInferencePipeline

            self._batched_pipeline = BatchedInferencePipeline(self._model)
        return self._batched_pipeline

    def _result(self, segments: list[Any], info: Any) -> TranscriptionResult:
        fix = _to_simplified if info.language == "zh" else (lambda t: t)
        return TranscriptionResult(
            language=info.language, language_probability=float(info.language_probability),
            duration_s=float(info.duration), model_name=self.model_name,
            segments=tuple(
                Segment(
                    start=float(s.start), end=float(s.end), text=fix(s.text.strip()),
                    words=tuple(
                        Word(float(w.start), float(w.end), fix(w.word), float(w.probability))
                        for w in (s.words or ())
                    ),
                )
                for s in segments
            ),
        )


@lru_cache(maxsize=4)
def _cached_transcriber(model_name: str) -> WhisperTranscriber:
    return WhisperTranscriber(model_name)


def get_transcriber(model_name: str | None = None, *, language: str | None = None) -> WhisperTranscriber:
    """Process-wide transcriber; without a name, the configured model for ``language``."""
    return _cached_transcriber(model_name or model_for_language(language))

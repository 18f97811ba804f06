"""Talktrack's ML wrappers: transcription, speaker attribution, sentence embeddings.

Importing this package is cheap: torch, ctranslate2 and sentence-transformers load only when a
model is first built (get_transcriber / get_embedder / diarize_mono).
"""

from models.audio import AudioInfo, load, probe
from models.config import ModelSettings, get_model_settings
from models.diarizer import (
    ChannelAttribution,
    Diarization,
    SpeakerTurn,
    VoiceprintMatch,
    attribute_stereo,
    diarize_mono,
    match_voiceprint,
    voiceprint,
)
from models.embedder import Embedder, HashingEmbedder, SentenceTransformerEmbedder, get_embedder
from models.errors import AudioDecodeError, ModelError, ModelUnavailableError
from models.transcriber import (
    Segment,
    TranscribeOptions,
    Transcriber,
    TranscriptionResult,
    WhisperTranscriber,
    Word,
    get_transcriber,
    model_for_language,
)

__all__ = [
    "AudioDecodeError", "AudioInfo", "ChannelAttribution", "Diarization", "Embedder",
    "HashingEmbedder", "ModelError", "ModelSettings", "ModelUnavailableError", "Segment",
    "SentenceTransformerEmbedder", "SpeakerTurn", "TranscribeOptions", "Transcriber",
    "TranscriptionResult", "VoiceprintMatch", "WhisperTranscriber", "Word", "attribute_stereo",
    "diarize_mono", "get_embedder", "get_model_settings", "get_transcriber", "load",
    "match_voiceprint", "model_for_language", "probe", "voiceprint",
]

"""Who spoke when: per-word channel energy for stereo; VAD + d-vectors + KMeans for mono."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from models.errors import ModelError

SAMPLE_RATE = 16_000
MIN_CLUSTER_S = 1.0  # segments shorter than this carry too little voice to place a centroid
MAX_SEGMENT_S = 3.0  # longer VAD segments are cut, so a turn change without a pause can show up
# KMeans centroids more similar than this are one voice. Measured on the espeak fixtures only:
# two voices -> 0.65, one voice forced into two clusters -> 0.77. A thin margin: re-measure on
# real calls (a shared phone channel pulls two voices' centroids closer).
SAME_SPEAKER_COSINE = 0.72
VOICEPRINT_MIN_COSINE = 0.75  # below this the enrolled rep is not confidently either speaker


class TimedWord(Protocol):
    """Anything with a start and end in seconds (e.g. models.transcriber.Word)."""

    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float: ...


@dataclass(frozen=True, slots=True)
class ChannelAttribution:
    """The channel a word was spoken on; confidence = its RMS share of both channels (0.5–1)."""

    channel: int
    confidence: float


@dataclass(frozen=True, slots=True)
class SpeakerTurn:
    """A stretch of one speaker; confidence = own-centroid similarity share (0.5–1)."""

    start: float
    end: float
    speaker: int
    confidence: float


@dataclass(frozen=True, slots=True)
class Diarization:
    """Mono diarization: turns, and one mean d-vector per speaker (index = speaker id)."""

    turns: tuple[SpeakerTurn, ...]
    speaker_embeddings: np.ndarray  # (n_speakers, 256), L2-normalised

    @property
    def num_speakers(self) -> int:
        """How many distinct voices were found (0, 1 or 2)."""
        return len(self.speaker_embeddings)


@dataclass(frozen=True, slots=True)
class VoiceprintMatch:
    """Which speaker the enrolled voice is, how similar, and whether that clears the threshold."""

    speaker: int
    similarity: float
    is_match: bool


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


def attribute_stereo(
    words: Sequence[TimedWord], left: np.ndarray, right: np.ndarray, sr: int = SAMPLE_RATE
) -> tuple[ChannelAttribution, ...]:
    """Give each word to the channel (0 left, 1 right) with the higher RMS over its span."""
    out = []
    for w in words:
        a, b = max(0, int(w.start * sr)), max(int(w.end * sr), int(w.start * sr) + 1)
        el, er = _rms(left[a:b]), _rms(right[a:b])
        total = el + er
        channel = 0 if el >= er else 1
        out.append(ChannelAttribution(channel, max(el, er) / total if total > 0 else 0.5))
    return tuple(out)


def speech_segments(audio: np.ndarray, sr: int = SAMPLE_RATE) -> list[tuple[float, float]]:
    """Speech spans (seconds) from faster-whisper's bundled silero VAD, cut to ≤ MAX_SEGMENT_S."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    if sr != SAMPLE_RATE:
        raise ModelError(f"diarize_mono needs {SAMPLE_RATE} Hz audio, got {sr} Hz: use models.audio.load.")
    # why: the default 2 s minimum silence merges quick turn-taking into one segment
    opts = VadOptions(min_silence_duration_ms=150, speech_pad_ms=30, min_speech_duration_ms=200)
    spans = []
    for ts in get_speech_timestamps(audio, opts, sampling_rate=sr):
        start, end = ts["start"] / sr, ts["end"] / sr
        pieces = max(1, int(np.ceil((end - start) / MAX_SEGMENT_S)))
        edges = np.linspace(start, end, pieces + 1)
        spans.extend(zip(edges[:-1].tolist(), edges[1:].tolist()))
    return spans


def _cluster(emb: np.ndarray, durations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Speaker centroids (k, d) from the long segments, and each segment's label."""
    from sklearn.cluster import KMeans

    long_ = durations >= MIN_CLUSTER_S
    if long_.sum() < 2:
        long_ = durations >= 0  # too little long speech: cluster everything
    centroids = _normalise(emb[long_].mean(axis=0, keepdims=True))
    if long_.sum() >= 2:
        km = KMeans(n_clusters=2, n_init=10, random_state=0).fit(emb[long_])
        two = _normalise(km.cluster_centers_)
        if float(two[0] @ two[1]) < SAME_SPEAKER_COSINE:
            centroids = two
    labels = np.argmax(emb @ centroids.T, axis=1)  # short segments join the nearest centroid
    return centroids, labels


def _normalise(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _relabel_by_first_turn(centroids: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = list(dict.fromkeys(labels.tolist()))  # speaker 0 is whoever speaks first
    mapping = np.array([order.index(k) for k in range(len(centroids))])
    return centroids[order], mapping[labels]


def _merge(turns: list[SpeakerTurn], max_gap_s: float = 1.0) -> tuple[SpeakerTurn, ...]:
    merged: list[SpeakerTurn] = []
    for t in turns:
        prev = merged[-1] if merged else None
        if prev and prev.speaker == t.speaker and t.start - prev.end <= max_gap_s:
            d1, d2 = prev.end - prev.start, t.end - t.start
            conf = (prev.confidence * d1 + t.confidence * d2) / max(d1 + d2, 1e-9)
            merged[-1] = SpeakerTurn(prev.start, t.end, t.speaker, conf)
        else:
            merged.append(t)
    return tuple(merged)


def diarize_mono(audio: np.ndarray, sr: int = SAMPLE_RATE) -> Diarization:
    """Split mono 16 kHz audio into speaker turns (at most two speakers)."""
    from models.voice import embed_many

    spans = speech_segments(audio, sr)
    if not spans:
        return Diarization((), np.zeros((0, 256), np.float32))
    emb = embed_many([audio[int(a * sr) : int(b * sr)] for a, b in spans])
    centroids, labels = _relabel_by_first_turn(*_cluster(emb, np.array([b - a for a, b in spans])))
    sims = np.clip(emb @ centroids.T, 0.0, None)
    turns = []
    for (a, b), k, s in zip(spans, labels, sims):
        conf = 1.0 if len(centroids) == 1 else float(s[k] / max(s.sum(), 1e-9))
        turns.append(SpeakerTurn(round(a, 3), round(b, 3), int(k), conf))
    speakers = [_normalise(emb[labels == k].mean(axis=0, keepdims=True))[0] for k in range(len(centroids))]
    return Diarization(_merge(turns), np.stack(speakers))


def voiceprint(audio: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Mean d-vector (256,) of an enrolment sample of one voice (≥ 3 s of speech recommended)."""
    from models.voice import embed_many

    spans = speech_segments(audio, sr) or [(0.0, len(audio) / sr)]
    emb = embed_many([audio[int(a * sr) : int(b * sr)] for a, b in spans])
    weights = np.array([b - a for a, b in spans])[:, None]
    return _normalise((emb * weights).sum(axis=0, keepdims=True))[0]


def match_voiceprint(
    speaker_embeddings: np.ndarray | Mapping[int, np.ndarray], print_: np.ndarray,
    *, min_similarity: float = VOICEPRINT_MIN_COSINE,
) -> VoiceprintMatch:
    """Which speaker embedding is closest (cosine) to an enrolled voiceprint."""
    items = dict(speaker_embeddings) if isinstance(speaker_embeddings, Mapping) else dict(enumerate(speaker_embeddings))
    if not items:
        raise ModelError("No speaker embeddings to match: the audio contained no detectable speech.")
    vp = print_ / np.linalg.norm(print_)
    sims = {k: float(np.dot(v / np.linalg.norm(v), vp)) for k, v in items.items()}
    best = max(sims, key=sims.__getitem__)
    return VoiceprintMatch(best, sims[best], sims[best] >= min_similarity)

"""Resemblyzer d-vectors computed without librosa's numba paths (slow first compile, 0.11 quirks)."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from models.config import get_model_settings

if TYPE_CHECKING:
    from collections.abc import Sequence

SAMPLE_RATE = 16_000
N_FFT, HOP, N_MELS = 400, 160, 40  # resemblyzer.hparams: 25 ms window, 10 ms step, 40 mels
PARTIAL_FRAMES, PARTIAL_STEP = 160, 80  # 1.6 s windows, 50% overlap
TARGET_DBFS = -30.0
EMBED_DIM = 256


@lru_cache(maxsize=1)
def _mel_basis() -> np.ndarray:
    os.environ.setdefault("NUMBA_CACHE_DIR", str(get_model_settings().model_cache_dir / "numba"))
    import librosa

    return librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS).astype(np.float32)


def mel_frames(wav: np.ndarray) -> np.ndarray:
    """Power mel spectrogram (frames, 40) equal to resemblyzer's wav_to_mel_spectrogram."""
    padded = np.pad(wav.astype(np.float32), N_FFT // 2)  # librosa center=True, pad_mode=constant
    n = 1 + (len(padded) - N_FFT) // HOP
    idx = np.arange(N_FFT)[None, :] + HOP * np.arange(n)[:, None]
    window = np.hanning(N_FFT + 1)[:-1].astype(np.float32)  # periodic Hann, as scipy fftbins=True
    power = np.abs(np.fft.rfft(padded[idx] * window, axis=1)) ** 2
    return (power.astype(np.float32) @ _mel_basis().T).astype(np.float32)


def _normalise_volume(wav: np.ndarray) -> np.ndarray:
    rms = float(np.sqrt(np.mean(wav.astype(np.float64) ** 2)))
    if rms <= 1e-9:
        return wav
    gain = 10 ** ((TARGET_DBFS - 20 * np.log10(rms)) / 20)
    return wav * gain if gain > 1 else wav  # resemblyzer: increase_only


@lru_cache(maxsize=1)
def get_voice_encoder() -> Any:
    """Resemblyzer's VoiceEncoder on cpu (its weights ship in the wheel), loaded once."""
    os.environ.setdefault("NUMBA_CACHE_DIR", str(get_model_settings().model_cache_dir / "numba"))
    from resemblyzer import VoiceEncoder

    return VoiceEncoder("cpu", verbose=False).eval()


def _windows(mel: np.ndarray) -> np.ndarray:
    if len(mel) < PARTIAL_FRAMES:
        mel = np.pad(mel, ((0, PARTIAL_FRAMES - len(mel)), (0, 0)))
    starts = range(0, len(mel) - PARTIAL_FRAMES + 1, PARTIAL_STEP)
    return np.stack([mel[s : s + PARTIAL_FRAMES] for s in starts])


def embed_many(wavs: Sequence[np.ndarray]) -> np.ndarray:
    """One L2-normalised 256-d d-vector per clip (mean of 1.6 s partials), shape (n, 256)."""
    import torch

    if not wavs:
        return np.zeros((0, EMBED_DIM), np.float32)
    parts = [_windows(mel_frames(_normalise_volume(w))) for w in wavs]
    with torch.inference_mode():
        partials = get_voice_encoder()(torch.from_numpy(np.concatenate(parts))).numpy()
    bounds = np.cumsum([0] + [len(p) for p in parts])
    means = np.stack([partials[a:b].mean(axis=0) for a, b in zip(bounds[:-1], bounds[1:])])
    return (means / np.linalg.norm(means, axis=1, keepdims=True)).astype(np.float32)

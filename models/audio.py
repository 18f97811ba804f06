"""Probe and decode audio files (PyAV / FFmpeg), mapping every failure to AudioDecodeError."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, overload

from models.errors import AudioDecodeError

if TYPE_CHECKING:
    import numpy as np

SAMPLE_RATE = 16_000
SUPPORTED = "wav, mp3, m4a/aac, ogg/opus, flac or webm"


@dataclass(frozen=True, slots=True)
class AudioInfo:
    """What a file holds, read from its container without decoding all of it."""

    duration_s: float
    channels: int
    sample_rate: int
    codec: str


def _fail(path: Path, what: str) -> AudioDecodeError:
    # why replace: FFmpeg's messages carry the absolute path, which users must not see.
    what = what.replace(str(path), path.name)
    return AudioDecodeError(
        f"Cannot read audio from '{path.name}': {what}. "
        f"Upload a {SUPPORTED} file with at least one audio stream (mono, or stereo with one party "
        f"per channel); re-export it with e.g. `ffmpeg -i INPUT -ar 16000 OUTPUT.wav` if unsure."
    )


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise _fail(path, "the file does not exist")
    if path.stat().st_size == 0:
        raise _fail(path, "the file is empty (0 bytes)")


def probe(path: str | Path) -> AudioInfo:
    """Duration, channels, sample rate and codec of the first audio stream."""
    import av

    path = Path(path)
    _check_file(path)
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise _fail(path, "the file has no audio stream")
            stream = container.streams.audio[0]
            duration = _duration_s(container, stream)
            info = AudioInfo(duration, stream.codec_context.channels, stream.codec_context.sample_rate,
                             stream.codec_context.name)
    except av.FFmpegError as exc:
        raise _fail(path, f"the data is corrupt or in an unsupported format ({exc})") from exc
    if info.duration_s <= 0:
        raise _fail(path, "the audio stream has zero length")
    return info


def _duration_s(container: object, stream: object) -> float:
    # why: the stream duration is exact when the container records it; the container's is a
    # fallback (webm/ogg often only have that one)
    if stream.duration is not None and stream.time_base is not None:  # type: ignore[attr-defined]
        return float(stream.duration * stream.time_base)  # type: ignore[attr-defined]
    if container.duration is not None:  # type: ignore[attr-defined]
        return container.duration / 1_000_000  # type: ignore[attr-defined]
    return 0.0


@overload
def load(path: str | Path, *, split_stereo: Literal[False] = ...) -> np.ndarray: ...
@overload
def load(path: str | Path, *, split_stereo: Literal[True]) -> tuple[np.ndarray, np.ndarray]: ...


def load(path: str | Path, *, split_stereo: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Decode to float32 at 16 kHz: mono mix, or (left, right) when ``split_stereo``."""
    import av
    from faster_whisper import decode_audio

    path = Path(path)
    _check_file(path)
    if split_stereo and (channels := probe(path).channels) != 2:
        # why: decode_audio would silently deinterleave a mono file into two half-speed halves
        raise _fail(path, f"split_stereo needs a 2-channel file, this one has {channels}")
    try:
        audio = decode_audio(str(path), sampling_rate=SAMPLE_RATE, split_stereo=split_stereo)
    except (av.FFmpegError, ValueError, IndexError) as exc:
        # IndexError/ValueError: PyAV has no audio stream to pick, or the resampler got no frames
        raise _fail(path, f"the data is corrupt, unsupported or has no audio stream ({exc})") from exc
    first = audio[0] if split_stereo else audio
    if first.size == 0:
        raise _fail(path, "no audio samples could be decoded (zero-length audio)")
    return audio

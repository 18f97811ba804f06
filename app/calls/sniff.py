"""Decide what an upload is from its bytes, not from its name or declared type."""

from __future__ import annotations

from dataclasses import dataclass

AUDIO_FORMATS = ("wav", "mp3", "aac", "m4a", "ogg", "flac", "webm")


@dataclass(frozen=True)
class Sniffed:
    kind: str  # audio | text | unknown
    format: str  # wav, mp3, m4a, ogg, flac, webm, aac, text, unknown


def sniff(head: bytes) -> Sniffed:
    """Classify by magic bytes; text when it decodes as UTF-8/UTF-16/GB18030 without control junk."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return Sniffed("audio", "wav")
    if head[:3] == b"ID3":
        return Sniffed("audio", "mp3")
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xF6) == 0xF0:
        return Sniffed("audio", "aac")  # ADTS
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0:
        return Sniffed("audio", "mp3")  # MPEG frame sync
    if head[4:8] == b"ftyp":
        return Sniffed("audio", "m4a")
    if head[:4] == b"OggS":
        return Sniffed("audio", "ogg")
    if head[:4] == b"fLaC":
        return Sniffed("audio", "flac")
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return Sniffed("audio", "webm")
    if _looks_like_text(head):
        return Sniffed("text", "text")
    return Sniffed("unknown", "unknown")


def _looks_like_text(head: bytes) -> bool:
    if not head:
        return False
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    sample = head[:4000]
    for encoding in ("utf-8", "gb18030"):
        try:
            text = sample.decode(encoding)
        except UnicodeDecodeError as exc:
            # A multi-byte character cut at the end of the sample is fine.
            if exc.start < len(sample) - 4:
                continue
            text = sample[: exc.start].decode(encoding)
        controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\r\n\t\f")
        return controls <= max(1, len(text) // 100)
    return False


def decode_text(data: bytes) -> str:
    """Decode a transcript file: UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")

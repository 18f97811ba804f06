"""Plain helpers for transcript tests: fixture loading and utterance building."""

from __future__ import annotations

from pathlib import Path

from app.transcripts.formats import ParsedTranscript, Role, Utterance, parse_transcript

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "transcripts"
EN_NAMES = {"Dana Whitfield": "rep", "Marcus Chen": "customer"}


def fixture_bytes(name: str) -> bytes:
    """Raw bytes of a transcript fixture."""
    return (FIXTURES / name).read_bytes()


def parse_fixture(name: str, **kwargs: object) -> ParsedTranscript:
    """Parse a transcript fixture."""
    return parse_transcript(fixture_bytes(name), filename=name, **kwargs)  # type: ignore[arg-type]


def utt(
    index: int, role: Role, start: float, end: float, text: str, speaker: str | None = None
) -> Utterance:
    """An utterance; the speaker defaults to the role word."""
    return Utterance(
        index,
        speaker or {"rep": "Rep", "customer": "Customer"}.get(role, "Unknown"),
        role,
        start,
        end,
        text,
    )

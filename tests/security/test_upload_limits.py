"""Uploads: size refused while streaming (never read whole), content sniffed, names never paths."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.users.models import Role
from tests.factories import make_team
from tests.security.helpers import person, transcript

LIMIT = 1024 * 1024  # 1 MiB for these tests; BodyLimit allows the limit + 1 MiB of form overhead
CHUNK = 64 * 1024


@pytest.fixture
def small_limit(env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from app.config import get_settings

    monkeypatch.setenv("TALKTRACK_MAX_UPLOAD_BYTES", str(LIMIT))
    get_settings.cache_clear()
    return env


def _leftovers(var: Path) -> list[Path]:
    media = var / "media"
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


def _multipart_head(boundary: str) -> bytes:
    return (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.wav\"\r\n"
            "Content-Type: audio/wav\r\n\r\nRIFF\x00\x00\x00\x00WAVEfmt ").encode()


def _drive(app, headers: list[tuple[bytes, bytes]], chunks: Iterator[bytes]) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """Send a request straight into the ASGI app; returns (status, bytes the app pulled from the client)."""
    pulled = 0
    status: list[int] = []

    async def receive() -> dict:  # type: ignore[type-arg]
        nonlocal pulled
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict) -> None:  # type: ignore[type-arg]
        if message["type"] == "http.response.start":
            status.append(message["status"])

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/api/v1/calls", "raw_path": b"/api/v1/calls", "query_string": b"",
             "root_path": "", "headers": headers, "client": ("127.0.0.1", 5000), "server": ("test", 80)}
    asyncio.run(app(scope, receive, send))
    return status[0], pulled


def _endless(boundary: str, total: int) -> Iterator[bytes]:
    """A lazily generated multipart body of `total` bytes: nothing of it exists up front."""
    yield _multipart_head(boundary)
    filler = b"\x01" * CHUNK
    for _ in range(total // CHUNK):
        yield filler


def _app_and_headers(small_limit: Path, length: int | None) -> tuple:  # type: ignore[type-arg]
    from app.main import create_app

    rep = person(Role.rep, team_id=make_team())
    boundary = "tt-boundary"
    headers = [(b"authorization", f"Bearer {rep.token}".encode()),
               (b"content-type", f"multipart/form-data; boundary={boundary}".encode())]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    return create_app(), headers, boundary


def test_declared_10gb_upload_is_refused_before_reading_the_body(small_limit: Path) -> None:
    app, headers, boundary = _app_and_headers(small_limit, length=10 * 1024**3)
    status, pulled = _drive(app, headers, _endless(boundary, 10 * 1024**3))
    assert status == 413
    assert pulled <= CHUNK  # not a byte of the 10 GB beyond what the server had to look at
    assert _leftovers(small_limit) == []


def test_chunked_upload_streaming_past_the_limit_is_cut_off(small_limit: Path) -> None:
    app, headers, boundary = _app_and_headers(small_limit, length=None)  # no Content-Length: chunked
    status, pulled = _drive(app, headers, _endless(boundary, 10 * 1024**3))
    assert status == 413
    assert pulled <= LIMIT + 1024 * 1024 + 2 * CHUNK  # stopped at the limit, not at 10 GB
    assert _leftovers(small_limit) == []


def test_file_over_the_limit_inside_an_allowed_body_is_refused_and_not_kept(
    small_limit: Path, client: TestClient
) -> None:
    rep = person(Role.rep, team_id=make_team())
    data = b"RIFF\x00\x00\x00\x00WAVE" + b"\x00" * (LIMIT + 10)
    response = client.post("/api/v1/calls", headers=rep.headers, files={"file": ("a.wav", data)})
    assert response.status_code == 413 and response.json()["error"] == "PayloadTooLarge"
    assert _leftovers(small_limit) == []


@pytest.mark.parametrize("name,data", [
    ("call.mp3", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + bytes(range(256)) * 8),  # a Windows executable
    ("call.txt", bytes(range(256)) * 16),  # binary junk named as text
    ("call.wav", b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 8),
])
def test_content_is_sniffed_not_trusted_from_the_name(client: TestClient, env: Path, name: str, data: bytes) -> None:
    rep = person(Role.rep, team_id=make_team())
    response = client.post("/api/v1/calls", headers=rep.headers, files={"file": (name, data)})
    assert response.status_code == 415, response.text
    assert _leftovers(env) == []


def test_transcript_named_wav_is_handled_as_a_transcript(client: TestClient) -> None:
    rep = person(Role.rep, team_id=make_team())
    response = client.post("/api/v1/calls", headers=rep.headers, files={"file": ("call.wav", transcript())})
    assert response.status_code == 202
    call = client.get(f"/api/v1/calls/{response.json()['id']}", headers=rep.headers).json()
    assert call["source_kind"] == "transcript"


@pytest.mark.parametrize("name", [
    "../../etc/passwd", "..\\..\\windows\\system32\\config", "/etc/shadow", "a/../../../b.txt",
    "call\x00.txt", "....//....//x", "%2e%2e%2fetc%2fpasswd",
])
def test_file_names_never_become_paths(client: TestClient, env: Path, name: str) -> None:
    rep = person(Role.rep, team_id=make_team())
    response = client.post("/api/v1/calls", headers=rep.headers, files={"file": (name, transcript())})
    assert response.status_code == 202, response.text
    call = client.get(f"/api/v1/calls/{response.json()['id']}", headers=rep.headers).json()
    assert "/" not in call["original_filename"] and "\\" not in call["original_filename"]
    assert "\x00" not in call["original_filename"]
    media = (env / "media").resolve()
    stored = [p.resolve() for p in media.rglob("*") if p.is_file()]
    assert stored and all(media in p.parents and p.name.startswith(call["sha256"]) for p in stored)
    assert not (env / "etc").exists() and not (env.parent / "etc").exists()


@pytest.mark.parametrize("field,value", [
    ("title", "t" * 301), ("rep", "r" * 255), ("team", "x" * 121), ("deal_ref", "d" * 121),
    ("language", "english-please"), ("sop_id", "../../etc"),
])
def test_over_long_or_malformed_text_fields_answer_422(client: TestClient, env: Path, field: str, value: str) -> None:
    rep = person(Role.rep, team_id=make_team())
    response = client.post("/api/v1/calls", headers=rep.headers, files={"file": ("c.txt", transcript())},
                           data={field: value})
    assert response.status_code == 422, response.text
    assert _leftovers(env) == []

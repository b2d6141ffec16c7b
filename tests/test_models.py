"""Real loading code for the dense model and the cross-encoder, on models that are on disk:
the packaged MiniLM and a tiny BERT cross-encoder the test builds and saves itself."""

import logging
import re

import pytest
import torch

from tools.ingest.documents import Document
from tools.ingest.pipeline import ingest_documents
from tools.kb.dense import build_dense_model
from tools.kb.factory import build_knowledge_base, build_retrieval_stack
from tools.kb.results import RetrievedChunk
from tools.kb.retriever import HybridRetriever
from tools.rerank.factory import build_reranker
from tools.settings import DenseSettings

DOCS = [
    Document("a", "Núi", "Fansipan là ngọn núi cao nhất Việt Nam.", "a"),
    Document("b", "Biển", "Vịnh Hạ Long có gần hai nghìn hòn đảo.", "b"),
    Document("c", "Ẩm thực", "Phở là món ăn nổi tiếng của Hà Nội.", "c"),
]


def test_missing_dense_model_falls_back_to_sparse_only(settings, caplog):
    with caplog.at_level(logging.WARNING):
        model = build_dense_model(DenseSettings(model="vinarag-test/no-such-model"))
    assert model is None
    assert "not available locally" in caplog.text and "sparse-only" in caplog.text
    stack = build_retrieval_stack(
        settings.model_copy(update={"dense": DenseSettings(model="vinarag-test/no-such-model")}),
        location=":memory:",
    )
    try:
        assert stack.kb.has_dense is False and stack.retriever.mode == "sparse"
    finally:
        stack.close()


def test_dense_model_loads_and_hybrid_uses_it(settings, minilm_path):
    dense = build_dense_model(DenseSettings(model=minilm_path))
    assert dense is not None and dense.dim == 384
    kb = build_knowledge_base(settings, location=":memory:", dense=dense)
    try:
        ingest_documents(DOCS, kb, settings)
        assert kb.has_dense
        hybrid = settings.retrieval.model_copy(update={"dense_weight": 0.3})
        retriever = HybridRetriever(kb, hybrid, settings.sparse)
        assert retriever.mode == "hybrid" and retriever.weights()["dense"] == 0.3
        hits = retriever.retrieve("núi cao nhất")
        assert hits[0].doc_id == "a" and "dense" in hits[0].view_scores
        dense_only = HybridRetriever(
            kb, hybrid.model_copy(update={"mode": "dense"}), settings.sparse
        )
        assert (
            len(dense_only.retrieve("mountain", top_k=3)) == 3
        )  # dense answers without shared terms
    finally:
        kb.client.close()


def test_a_dense_model_with_other_dimensions_is_refused(settings, minilm_path):
    from tools.kb.dense import DenseModel
    from tools.kb.store import StoreError

    dense = build_dense_model(DenseSettings(model=minilm_path))
    kb = build_knowledge_base(settings, dense=dense)
    kb.client.close()
    with pytest.raises(StoreError, match="384-dim"):
        build_knowledge_base(settings, dense=DenseModel(dense.embeddings, "other", 768))


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory) -> str:
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    folder = tmp_path_factory.mktemp("cross-encoder")
    text = " ".join(f"{d.title} {d.text}" for d in DOCS).lower()
    words = set(re.findall(r"[^\W_]+", text))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(words)]
    (folder / "vocab.txt").write_text("\n".join(vocab), "utf-8")
    tokenizer = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=64,
        num_labels=1,
    )
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


def test_cross_encoder_loads_from_disk_and_orders_by_model_score(settings, tiny_cross_encoder):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    configured = settings.model_copy(
        update={
            "rerank": settings.rerank.model_copy(
                update={"kind": "cross_encoder", "model": tiny_cross_encoder}
            )
        }
    )
    reranker = build_reranker(configured)
    assert reranker.name == "cross_encoder"
    chunks = [RetrievedChunk(d.doc_id, d.doc_id, d.title, d.text, "", 0, 1.0) for d in DOCS]
    ranked = reranker.rerank("núi cao nhất", chunks, top_n=3)

    tokenizer = AutoTokenizer.from_pretrained(tiny_cross_encoder)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_cross_encoder).eval()
    with torch.no_grad():
        batch = tokenizer(
            ["núi cao nhất"] * 3,
            [f"{c.title}. {c.text}" for c in chunks],
            padding=True,
            return_tensors="pt",
        )
        logits = model(**batch).logits.squeeze(-1).tolist()
    expected = [c.doc_id for _, c in sorted(zip(logits, chunks, strict=True), key=lambda p: -p[0])]
    assert [c.doc_id for c in ranked] == expected
    assert sorted(c.score for c in ranked) != [1.0, 1.0, 1.0]


def test_unavailable_cross_encoder_falls_back_to_proximity(settings, caplog):
    configured = settings.model_copy(
        update={
            "rerank": settings.rerank.model_copy(update={"kind": "cross_encoder", "model": "x/y"})
        }
    )
    with caplog.at_level(logging.WARNING):
        assert build_reranker(configured).name == "proximity"
    assert "not available locally" in caplog.text

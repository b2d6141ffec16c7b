"""Real loading code for the cross-encoder, on a tiny BERT the test builds and saves itself
(the dense embedders are in test_embedders.py)."""

import logging
import re

import pytest
import torch

from tools.ingest.documents import Document
from tools.kb.results import RetrievedChunk
from tools.rerank.factory import build_reranker

DOCS = [
    Document("a", "Núi", "Fansipan là ngọn núi cao nhất Việt Nam.", "a"),
    Document("b", "Biển", "Vịnh Hạ Long có gần hai nghìn hòn đảo.", "b"),
    Document("c", "Ẩm thực", "Phở là món ăn nổi tiếng của Hà Nội.", "c"),
]


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

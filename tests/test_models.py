"""Real loading code for the cross-encoder, on a tiny BERT the test builds and saves itself
(the dense embedders are in test_embedders.py)."""

import logging

import pytest
import torch

from tests.helpers import passage, write_tiny_bert
from tools.corpus.documents import Document
from tools.rerank.factory import build_reranker

DOCS = [
    Document("a", "Núi", "Fansipan là ngọn núi cao nhất Việt Nam.", "a"),
    Document("b", "Biển", "Vịnh Hạ Long có gần hai nghìn hòn đảo.", "b"),
    Document("c", "Ẩm thực", "Phở là món ăn nổi tiếng của Hà Nội.", "c"),
]


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory) -> str:
    from transformers import BertForSequenceClassification

    folder = tmp_path_factory.mktemp("cross-encoder")
    write_tiny_bert(folder, [f"{d.title} {d.text}" for d in DOCS], BertForSequenceClassification)
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
    chunks = [passage(d.doc_id, d.text, title=d.title) for d in DOCS]
    ranked = reranker.rerank("núi cao nhất", chunks, top_n=3)

    tokenizer = AutoTokenizer.from_pretrained(tiny_cross_encoder)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_cross_encoder).eval()
    with torch.no_grad():
        batch = tokenizer(
            ["núi cao nhất"] * 3,
            [f"{c['title']}. {c['text']}" for c in chunks],
            padding=True,
            return_tensors="pt",
        )
        logits = model(**batch).logits.squeeze(-1).tolist()
    order = sorted(zip(logits, chunks, strict=True), key=lambda p: -p[0])
    assert [c["doc_id"] for c in ranked] == [c["doc_id"] for _, c in order]
    assert sorted(c["score"] for c in ranked) != [1.0, 1.0, 1.0]


def test_unavailable_cross_encoder_falls_back_to_proximity(settings, caplog):
    configured = settings.model_copy(
        update={
            "rerank": settings.rerank.model_copy(update={"kind": "cross_encoder", "model": "x/y"})
        }
    )
    with caplog.at_level(logging.WARNING):
        assert build_reranker(configured).name == "proximity"
    assert "not available locally" in caplog.text

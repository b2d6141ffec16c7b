"""Integration: the bundled demo knowledge base, ingested on disk, answers its own questions."""

import json

from tools.demo import DEMO_DOCUMENTS, DEMO_QUESTIONS
from tools.ingest.pipeline import ingest_paths
from tools.kb.factory import build_retrieval_stack


def test_demo_questions_retrieve_the_document_that_holds_the_answer(settings):
    questions = [json.loads(line) for line in DEMO_QUESTIONS.read_text("utf-8").splitlines()]
    stack = build_retrieval_stack(settings)
    try:
        report = ingest_paths([DEMO_DOCUMENTS], stack.kb, settings, progress=False)
        assert len(report.added) >= 30 and not report.failed and not report.warnings
        top1 = 0
        for item in questions:
            hits = stack.reranker.rerank(
                item["question"], stack.retriever.retrieve(item["question"]), 3
            )
            assert item["doc_id"] in [h["doc_id"] for h in hits], item["question"]
            top1 += hits[0]["doc_id"] == item["doc_id"] and item["answer"] in hits[0]["text"]
        assert top1 >= len(questions) - 1
    finally:
        stack.close()

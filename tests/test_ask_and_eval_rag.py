"""`vinarag ask` and `vinarag eval rag` as a user runs them."""

import json

import pytest

pytestmark = pytest.mark.slow


def test_ask_prints_answer_sources_and_path(vinarag):
    assert vinarag("demo").returncode == 0
    text = vinarag("ask", "Ai", "là", "tác", "giả", "Truyện", "Kiều?")
    assert text.returncode == 0, text.stderr
    assert (
        "Nguyễn Du" in text.stdout and "Nguồn:" in text.stdout and "[1] Truyện Kiều" in text.stdout
    )
    assert "extractive" in text.stdout and "check_grounding" in text.stdout
    result = json.loads(vinarag("ask", "--json", "Ai là tác giả Truyện Kiều?").stdout)
    assert {"answer", "sources", "citations", "grounded", "path", "cache_hit"} <= set(result)
    first = vinarag("ask", "--thread", "t1", "Vịnh Hạ Long có bao nhiêu hòn đảo?")
    assert "2.000" in first.stdout
    follow = json.loads(
        vinarag("ask", "--thread", "t1", "--json", "Còn được UNESCO công nhận năm nào?").stdout
    )
    assert "1994" in follow["answer"] and follow["path"][1]["node"] == "rewrite_query"
    assert vinarag("ask", " ").returncode == 2
    chat = vinarag(
        "chat", stdin="Vịnh Hạ Long có bao nhiêu hòn đảo?\n\nCòn được UNESCO công nhận năm nào?\n"
    )
    assert chat.returncode == 0 and "2.000" in chat.stdout and "1994" in chat.stdout
    bad = vinarag("ask", "--filters", "[1]", "x")
    assert bad.returncode == 2 and "JSON object" in bad.stderr


def test_eval_rag_on_a_slice(vinarag, shared_data, tmp_path):
    out = tmp_path / "rag.json"
    result = vinarag(
        "eval",
        "rag",
        "--corpus",
        str(shared_data / "corpus.jsonl"),
        "--queries",
        str(shared_data / "queries.jsonl"),
        "--limit",
        "40",
        "--json",
        str(out),
        "--quiet",
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text("utf-8"))
    answers = data["answers"]
    for key in (
        "contains_gold",
        "token_f1",
        "citation_valid",
        "grounded_rate",
        "fallback_rate",
        "median_answer_chars",
    ):
        assert key in answers
    assert answers["citation_valid"] == 1.0 and answers["contains_gold"] >= 0.6
    assert answers["cache_hit_rate_second_pass"] == 1.0 - answers["fallback_rate"]
    latency = data["latency"]
    assert set(latency["end_to_end"]) == {"p50_ms", "p95_ms"} and "retrieve" in latency["nodes"]
    assert latency["cache_hit_p50_ms"] < latency["end_to_end"]["p50_ms"]
    assert not (tmp_path / "data").exists()

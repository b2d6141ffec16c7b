"""`vinarag ask` and `vinarag chat` as a user runs them (`eval rag`: test_evals.py)."""

import json

import pytest


@pytest.mark.slow
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


@pytest.mark.slow
def test_ask_and_chat_ask_back_which_law(vinarag, tmp_path):
    """A question two laws could answer: the question back and its options; with a thread,
    the pick answers it; `chat` takes the pick as the next line."""
    from evals.law_sample import LAW_VERSIONS

    laws = tmp_path / "laws"
    laws.mkdir()
    for version in LAW_VERSIONS:  # the urban law in two versions, and the rural law
        (laws / f"{version.doc_id}.txt").write_text(version.text, "utf-8")
    assert vinarag("ingest", "--quiet", str(laws)).returncode == 0
    asked = vinarag("ask", "Luật này có hiệu lực từ ngày nào?")
    assert asked.returncode == 0 and "Bạn hỏi về văn bản nào?" in asked.stdout
    assert "1. Luật Vườn cây đô thị 2025 (99/2025/QH15)" in asked.stdout  # the version in force
    assert "--thread" in asked.stderr  # how to answer it
    first = vinarag("ask", "--thread", "law", "Luật này có hiệu lực từ ngày nào?")
    assert "2. Luật Vườn cây nông thôn 2025 (98/2025/QH15)" in first.stdout
    picked = json.loads(vinarag("ask", "--thread", "law", "--json", "nông thôn").stdout)
    assert "01 tháng 7 năm 2026" in picked["answer"] and "clarification" not in picked
    chat = vinarag("chat", stdin="Luật này có hiệu lực từ ngày nào?\n1\n")
    assert "Bạn hỏi về văn bản nào?" in chat.stdout and "01 tháng 01 năm 2026" in chat.stdout
    assert "Trả lời theo Luật Vườn cây đô thị 2025 (99/2025/QH15)" in chat.stdout  # its notes

"""`vinarag ask` and `vinarag chat` as a user runs them (`eval rag`: test_evals.py)."""

import json


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

"""Questions typed without tone marks: detection, the stripped space the question is compared
in, and the whole graph answering them from the demo knowledge base with the documents' own
marked text."""

from __future__ import annotations

import json

import pytest

from graph import build_graph
from tools.cache.keys import cache_key
from tools.demo import DEMO_QUESTIONS
from tools.kb.sparse import PLAIN_BIGRAM_VIEW, PLAIN_VIEW, query_terms
from tools.text.question import answer_type, content_terms
from tools.text.tokenize import plain_syllables, syllables, tokenizer_for
from tools.text.tones import is_unmarked, strip_tones


def test_strip_tones_drops_every_mark_and_maps_d():
    assert strip_tones("Vịnh Hạ Long có gần 2.000 hòn đảo") == "Vinh Ha Long co gan 2.000 hon dao"
    assert strip_tones("Đà Nẵng, đường Ông Ích Khiêm") == "Da Nang, duong Ong Ich Khiem"
    assert strip_tones("hoà hòa thuỷ thủy") == "hoa hoa thuy thuy"
    assert strip_tones("café Zürich 42") == "cafe Zurich 42"


@pytest.mark.parametrize(
    ("text", "unmarked"),
    [
        ("vinh ha long co bao nhieu hon dao?", True),
        ("bao nhieu ngay mua dong duoi 0 do", True),
        ("Hà Noi co bao nhieu quan huyen vay", True),  # one stray marked word
        ("Vịnh Hạ Long có bao nhiêu hòn đảo?", False),
        ("Ai dời đô về Thăng Long?", False),
        ("Jacksonville cách Miami bao xa?", False),  # foreign names, marks on the rest
        ("", False),
        ("2024", False),
    ],
)
def test_detects_a_question_typed_without_marks(text, unmarked):
    assert is_unmarked(text) is unmarked


def test_unmarked_questions_are_compared_in_the_stripped_space():
    assert tokenizer_for("vinh ha long") is plain_syllables
    assert tokenizer_for("Vịnh Hạ Long") is syllables
    assert plain_syllables("Vịnh Hạ Long, Quảng Ninh") == ["vinh", "ha", "long", "quang", "ninh"]
    # question words go as they do with marks; homographs of content words stay
    assert content_terms("vinh ha long co bao nhieu hon dao?") == [
        "vinh", "ha", "long", "co", "hon", "dao",
    ]  # fmt: skip
    assert content_terms("thu do cua nuoc phap o dau") == ["thu", "do", "nuoc", "phap"]
    assert answer_type("nam nao nha ly doi do") == answer_type("Năm nào nhà Lý dời đô") == "time"
    assert answer_type("ai la tac gia truyen kieu") == "person"
    assert answer_type("co bao nhieu tinh") == "number"


def test_the_stripped_views_match_marked_documents():
    doc = query_terms("Vịnh Hạ Long có gần hai nghìn hòn đảo")
    question = query_terms("vinh ha long co bao nhieu hon dao")
    assert {"vinh", "ha", "long", "hon", "dao"} <= set(doc[PLAIN_VIEW]) & set(question[PLAIN_VIEW])
    assert "hon_dao" in set(doc[PLAIN_BIGRAM_VIEW]) & set(question[PLAIN_BIGRAM_VIEW])


def _demo_questions() -> list[dict]:
    lines = DEMO_QUESTIONS.read_text("utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_the_graph_answers_unmarked_questions_with_the_documents_marked_text(demo_services):
    graph = build_graph(services=demo_services)
    answered = 0
    for item in _demo_questions():
        plain = strip_tones(item["question"])
        result = graph.invoke({"question": plain})
        assert result["path"][1]["node"] == "retrieve"
        if result.get("fallback_reason"):
            continue
        answered += item["answer"] in result["answer"]
        assert result["grounded"]["value"] is True
        # the answer is the documents' text, with its marks, not the question's spelling
        assert result["answer"] != strip_tones(result["answer"])
        assert item["doc_id"] in [s["doc_id"] for s in result["sources"]]
    assert answered >= len(_demo_questions()) - 2


def test_the_demo_example_and_its_cache_key(demo_services):
    graph = build_graph(services=demo_services)
    result = graph.invoke({"question": "vinh ha long co bao nhieu hon dao?"})
    assert "2.000" in result["answer"] and "Vịnh Hạ Long" in result["answer"]
    assert result["sources"][0]["doc_id"] == "vinh-ha-long"
    # asked again (other case, spacing): answered from the cache
    again = graph.invoke({"question": "Vinh  Ha Long co bao nhieu hon dao"})
    assert again["cache_hit"] is True and again["answer"] == result["answer"]
    # the marked question is another key: a stripped key would merge words that differ
    # ("bán" / "bàn"), so it is answered on its own
    assert cache_key("vinh ha long", "s") != cache_key("Vịnh Hạ Long", "s")
    assert cache_key("bán nhà", "s") != cache_key("bàn nhà", "s")


def test_marks_are_restored_from_the_passages_own_words():
    from tools.text.tones import restore_tones

    passages = [
        "Vịnh Hạ Long thuộc tỉnh Quảng Ninh, có gần 2.000 hòn đảo đá vôi.",
        "Năm 1010, vua Lý Thái Tổ dời đô từ Hoa Lư về Đại La, đổi tên thành Thăng Long.",
        "Cá đã bơi về hồ. Có cá ở đó.",
    ]
    assert restore_tones("vinh ha long co bao nhieu hon dao?", passages) == (
        "vịnh hạ long có bao nhieu hòn đảo?"  # "bao nhieu" is not in the passages: as typed
    )
    # capitals and punctuation kept; neighbours decide between forms ("đô" after "dời")
    assert restore_tones("Ai doi do ve Thang Long?", passages) == "Ai dời đô về Thăng Long?"
    assert restore_tones("co ca o ho", passages) == "có cá ở hồ"
    assert restore_tones("", passages) == "" and restore_tones("xyz", []) == "xyz"

"""References between articles: parsed at ingestion (Điều / khoản / điểm, this law or another),
the referred articles added as sources (bounded), and the extractive answer following them."""

import pytest

from evals.law_sample import LAW_WITH_REFERENCES, REFERENCE_QUESTIONS
from graph import build_graph
from tools.corpus.documents import Document
from tools.corpus.references import ArticleRef, references_in, store_references
from tools.ingest.legal import find_references
from tools.ingest.pipeline import ingest_documents

DECREE = """CHÍNH PHỦ
CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Độc lập - Tự do - Hạnh phúc
Số: 16/2026/NĐ-CP
Hà Nội, ngày 3 tháng 2 năm 2026
NGHỊ ĐỊNH
HƯỚNG DẪN NUÔI ONG
Điều 1. Khoảng cách của trại ong
Khoảng cách từ trại ong đến trường học thực hiện theo khoản 1 Điều 2 của Luật Nuôi ong mật.
Điều 2. Hồ sơ đăng ký
Hồ sơ gồm đơn đăng ký và sơ đồ vị trí các thùng ong.
"""


@pytest.mark.parametrize(
    ("text", "own", "expected"),
    [
        ("bị xử phạt theo khoản 2 Điều 5 của Luật này và theo Điều 8.", "6", (("5.2", "8"), ())),
        (
            "trừ trường hợp quy định tại Điều 12, điểm a khoản 1 Điều 3 Bộ luật này",
            "6",
            (("12", "3.1"), ()),
        ),
        ("các Điều 5, 7 và 9 của Luật này", "6", (("5", "7", "9"), ())),
        ("Điều này áp dụng cho mọi trại; Điều 6 không áp dụng", "6", ((), ())),  # itself
        (
            "theo Điều 5 của Luật Đất đai năm 2024 và Điều 7 Nghị định 15/2026/NĐ-CP.",
            "1",
            ((), ("Luật Đất đai năm 2024 | 5", "Nghị định 15/2026/NĐ-CP | 7")),
        ),
        ("Người nuôi ong phải đăng ký trại.", "3", ((), ())),
    ],
)
def test_references_are_parsed(text, own, expected):
    found = find_references(text, own)
    here = tuple(r.stored for r in found if r.law is None)
    elsewhere = tuple(r.stored for r in found if r.law is not None)
    assert (here, elsewhere) == expected


def test_a_reference_reads_back_as_it_was_written():
    """Ingestion writes the metadata, the follower reads it: one type both ways, and a law's
    name holding a dot or the separator's neighbours survives."""
    written = [
        ArticleRef("5", "2"),
        ArticleRef("12"),
        ArticleRef("7", law="Nghị định 15/2026/NĐ-CP"),
        ArticleRef("3a", law="Luật Đất đai năm 2024"),
    ]
    metadata: dict = {}
    store_references(metadata, written)
    assert metadata == {
        "tham_chieu": ["5.2", "12"],
        "tham_chieu_ngoai": ["Nghị định 15/2026/NĐ-CP | 7", "Luật Đất đai năm 2024 | 3a"],
    }
    assert references_in(metadata) == written
    empty: dict = {}
    store_references(empty, [])
    assert empty == {} and references_in(empty) == []


@pytest.fixture
def law_services(make_demo_services):
    services = make_demo_services()
    documents = [
        Document("ong", "ong", LAW_WITH_REFERENCES, "ong.txt"),
        Document("nd16", "nd16", DECREE, "nd16.txt"),
    ]
    ingest_documents(documents, services.retrieval.kb, services.settings)
    return services


def test_references_are_kept_with_each_chunk(law_services):
    hits = law_services.retrieval.retriever.retrieve("Vi phạm về vị trí trại ong", top_k=20)
    article_6 = next(h for h in hits if h["metadata"].get("dieu") == "6")
    assert article_6["metadata"]["tham_chieu"] == ["2.1", "8"]
    article_1 = next(h for h in hits if h["doc_id"] == "nd16" and h["metadata"]["dieu"] == "1")
    assert article_1["metadata"]["tham_chieu_ngoai"] == ["Luật Nuôi ong mật | 2"]


@pytest.mark.parametrize("item", REFERENCE_QUESTIONS, ids=lambda i: f"dieu-{i.dieu}")
def test_the_referred_article_is_added_and_followed(law_services, item):
    result = build_graph(services=law_services).invoke({"question": item.question})
    follow = next(p for p in result["path"] if p["node"] == "follow_references")
    articles = [s["metadata"].get("dieu") for s in result["sources"] if s["doc_id"] == "ong"]
    assert articles[0] == item.dieu and item.referred in articles
    assert follow["added"] == [f"Luật Nuôi ong mật 2025 (97/2025/QH15), Điều {item.referred}"]
    added = next(s for s in result["sources"] if s["location"] == follow["added"][0])
    assert added["metadata"]["referenced_by"] == result["sources"][0]["location"]
    assert item.fact in result["answer"] and result["grounded"]["value"] is True
    cited = {result["sources"][c["marker"] - 1]["id"] for c in result["citations"]}
    assert added["id"] in cited


def test_no_references_followed_when_the_bound_is_0(settings, law_services):
    off = settings.model_copy(
        update={"graph": settings.graph.model_copy(update={"max_references": 0})}
    )
    item = REFERENCE_QUESTIONS[0]
    result = build_graph(off, services=law_services).invoke({"question": item.question})
    assert "follow_references" not in [p["node"] for p in result["path"]]
    assert item.fact not in result["answer"]


def test_references_are_bounded_and_reach_another_law(settings, law_services):
    """Node level: a source referring to two articles, with the bound at 1; a source referring
    to another law of the knowledge base by name."""
    from nodes.follow_references import make_follow_references

    hits = law_services.retrieval.retriever.retrieve("Vi phạm về vị trí trại ong", top_k=20)
    article_6 = next(h for h in hits if h["metadata"].get("dieu") == "6")
    decree_1 = next(h for h in hits if h["doc_id"] == "nd16" and h["metadata"]["dieu"] == "1")
    one = settings.model_copy(
        update={"graph": settings.graph.model_copy(update={"max_references": 1})}
    )
    node = make_follow_references(law_services.with_settings(one))
    update = node({"question": "q", "relevant": [article_6], "path": []}, None)
    assert [p["metadata"]["dieu"] for p in update["relevant"]] == ["6", "2"]
    assert update["path"][0] == {
        "node": "follow_references",
        "references": 2,
        "added": ["Luật Nuôi ong mật 2025 (97/2025/QH15), Điều 2"],  # the whole article: one chunk
    }
    update = node({"question": "q", "relevant": [decree_1], "path": []}, None)
    assert [(p["doc_id"], p["metadata"]["dieu"]) for p in update["relevant"]] == [
        ("nd16", "1"),
        ("ong", "2"),
    ]


def test_questions_without_references_are_untouched(law_services):
    result = build_graph(services=law_services).invoke(
        {"question": "Vịnh Hạ Long có bao nhiêu hòn đảo?"}
    )
    assert "follow_references" not in [p["node"] for p in result["path"]]


def test_reference_benchmark(settings):
    """`vinarag eval documents`' reference figures: the same questions, 0 and 2 references."""
    from evals.documents_benchmark import reference_figures

    figures = reference_figures(settings)
    off, on = figures["max_references 0"], figures["max_references 2"]
    assert off["questions"] == on["questions"] == len(REFERENCE_QUESTIONS)
    assert on["referred_article_among_sources"] > off["referred_article_among_sources"]
    assert on["its_fact_in_the_answer"] > off["its_fact_in_the_answer"]

"""A question that names a law is searched in that law: by name (marks or not, "Luật" for
"Bộ luật"), by number, narrowed by year, relaxed when nothing relevant is found there, and said
in the path. The laws are written for these tests from the project's sample law."""

import pytest

from evals.law_sample import LAW_VERSIONS
from graph import build_graph
from tools.corpus.documents import Document
from tools.ingest.pipeline import ingest_documents
from tools.kb.laws import LawDocument, find_named_law
from tools.text.law_names import law_key, numbers_in, years_in
from tools.text.tones import strip_tones

DECREE = """CHÍNH PHỦ
CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Độc lập - Tự do - Hạnh phúc
Số: 15/2026/NĐ-CP
Hà Nội, ngày 3 tháng 2 năm 2026
NGHỊ ĐỊNH
XỬ PHẠT VI PHẠM VỀ DIỀU VÀ BÓNG BAY
Điều 1. Thả diều gần đường dây điện
Người thả diều làm vướng đường dây điện cao thế bị phạt tiền từ bảy triệu đồng đến chín triệu đồng.
Điều 2. Thả bóng bay
Người thả bóng bay gần sân bay bị phạt tiền từ mười triệu đồng đến mười hai triệu đồng.
"""
FINE = "Người đóng đinh vào thân cây bị phạt bao nhiêu tiền?"
RURAL_FINE = "hành vi đóng đinh lên cây bị xử phạt bao nhiêu?"  # as the rural law words it


@pytest.fixture
def law_graph(make_demo_services):
    services = make_demo_services()
    laws = {v.doc_id: v.text for v in LAW_VERSIONS} | {"decree": DECREE}
    documents = [Document(doc_id, doc_id, text, f"{doc_id}.txt") for doc_id, text in laws.items()]
    ingest_documents(documents, services.retrieval.kb, services.settings)
    return build_graph(services=services)


def first_search(result):
    return next(p for p in result["path"] if p["node"] == "retrieve")


def test_numbers_years_and_keys_are_read_from_questions():
    question = "Nghị định 100/2019/NĐ-CP và Luật 31/2024/QH15 năm 2024 nói gì?"
    assert numbers_in(question) == ["100/2019/NĐ-CP", "31/2024/QH15"]
    assert years_in(question) == {2024}  # not the years inside the numbers
    assert law_key("Nghị định 100/2019/NĐ-CP") == law_key("nghi dinh  100/2019/ND-CP")
    assert years_in("Điều 12 khoản 3 quy định gì?") == set()


def _law(doc_id, kind, name, number, year):
    from tools.kb.catalogue import ListedDocument

    meta = {"loai": kind, "ten": name, "so_hieu": number, "nam": year}
    law = LawDocument.of(ListedDocument(doc_id, "default", doc_id, "", None, 1, meta))
    assert law is not None
    return law


def test_named_law_matching_rules():
    penal = _law("blhs", "Bộ luật", "Hình sự", "100/2015/QH13", 2015)
    penal_2017 = _law("blhs-hn", "Bộ luật", "Hình sự", "01/VBHN-VPQH", 2017)
    land = _law("dat-dai", "Luật", "Đất đai", "31/2024/QH15", 2024)
    laws = [penal, penal_2017, land]
    by_name = find_named_law("Theo Bộ luật Hình sự, tội trộm cắp bị phạt thế nào?", laws)
    assert by_name is not None and {d.doc_id for d in by_name.documents} == {"blhs", "blhs-hn"}
    dated = find_named_law("Theo Bộ luật Hình sự năm 2017, ...?", laws)
    assert dated is not None and [d.doc_id for d in dated.documents] == ["blhs-hn"]
    undated = find_named_law("Theo Bộ luật Hình sự năm 2020, ...?", laws)  # no such version
    assert undated is not None and len(undated.documents) == 2
    short = find_named_law("luat hinh su quy dinh the nao ve tron thue?", laws)  # no marks
    assert short is not None and len(short.documents) == 2
    numbered = find_named_law("Luật 31/2024/QH15 có hiệu lực khi nào?", laws)
    assert numbered is not None and [d.doc_id for d in numbered.documents] == ["dat-dai"]
    missing = find_named_law("Nghị định 100/2019/NĐ-CP phạt vượt đèn đỏ bao nhiêu?", laws)
    assert missing is not None and missing.documents == ()
    assert find_named_law("Đất đai ở vùng núi dùng để làm gì?", laws) is None  # no kind
    assert find_named_law("Tôi muốn hỏi về luật lệ giao thông", laws) is None


@pytest.mark.parametrize("typed", [str, strip_tones])
def test_a_named_law_is_searched_first(law_graph, typed):
    result = law_graph.invoke({"question": typed(f"Theo Luật Vườn cây nông thôn, {RURAL_FINE}")})
    named = first_search(result)["named_law"]
    assert named["doc_ids"] == ["rural"]
    assert named["documents"] == ["Luật Vườn cây nông thôn 2025 (98/2025/QH15)"]
    assert {s["doc_id"] for s in result["sources"]} == {"rural"}
    assert "bốn triệu đồng" in result["answer"]


def test_the_year_picks_the_version(law_graph):
    old = law_graph.invoke({"question": f"Luật Vườn cây đô thị năm 2019: {FINE}"})
    assert first_search(old)["named_law"]["doc_ids"] == ["urban-2019"]
    assert old["sources"][0]["doc_id"] == "urban-2019" and "một triệu đồng" in old["answer"]
    both = law_graph.invoke({"question": f"Luật Vườn cây đô thị: {FINE}"})
    assert first_search(both)["named_law"]["doc_ids"] == ["urban-2019", "urban-2025"]


def test_a_law_named_by_number(law_graph):
    result = law_graph.invoke(
        {"question": "Nghị định 15/2026/ND-CP phạt người thả diều vướng dây điện bao nhiêu?"}
    )
    assert first_search(result)["named_law"]["doc_ids"] == ["decree"]
    # searched without the number, which would pull the decree's header up
    assert "bảy triệu đồng" in result["sources"][0]["text"]


def test_a_law_not_in_the_knowledge_base_is_told_so_not_answered_from_another(law_graph):
    question = "Theo Nghị định 100/2019/NĐ-CP, người thả diều vướng dây điện bị phạt bao nhiêu?"
    result = law_graph.invoke({"question": question})
    named = first_search(result)["named_law"]
    assert named["mention"] == "100/2019/NĐ-CP" and named["doc_ids"] == []
    assert result["fallback_reason"] == "law_not_held"
    assert result["answer"].startswith("Cơ sở tri thức không có 100/2019/NĐ-CP")
    assert result["sources"] == [] and result["citations"] == []  # no answer from the decree


def test_a_missing_law_named_by_name_lists_the_closest_held_ones(law_graph):
    question = "Theo Luật Vườn cây miền núi, người đóng đinh vào thân cây bị phạt bao nhiêu?"
    result = law_graph.invoke({"question": question})
    named = first_search(result)["named_law"]
    assert named["mention"] == "Luật Vườn cây miền núi"
    assert result["fallback_reason"] == "law_not_held"
    # the laws whose names share words with it ("vườn cây"), as readers name them
    assert named["closest"] and all("Vườn cây" in label for label in named["closest"])
    assert "Các văn bản gần nhất đang có: " + named["closest"][0] in result["answer"]


@pytest.mark.parametrize(
    "question",
    [
        "Theo luật thì người đóng đinh vào thân cây bị phạt bao nhiêu?",  # no name: "luật"
        "Luật này phạt người đóng đinh vào thân cây bao nhiêu?",
        "Theo Luật Vườn cây, người đóng đinh vào thân cây bị phạt bao nhiêu?",  # shortened
    ],
)
def test_no_law_named_or_a_shortened_held_name_is_not_a_missing_law(law_graph, question):
    result = law_graph.invoke({"question": question})
    assert result.get("fallback_reason") != "law_not_held"
    assert result.get("sources") or "__interrupt__" in result  # answered, or asked which law


def test_nothing_relevant_in_the_named_law_relaxes_the_search(law_graph):
    question = "Theo Luật Vườn cây nông thôn, thả bóng bay gần sân bay bị phạt bao nhiêu?"
    result = law_graph.invoke({"question": question})
    searches = [p for p in result["path"] if p["node"] == "retrieve"]
    assert len(searches) == 2
    assert searches[0]["named_law"]["doc_ids"] == ["rural"] and "named_law" not in searches[1]
    grades = [p for p in result["path"] if p["node"] == "grade_documents"]
    assert grades[0]["relevant"] == 0  # the law's own name does not make its passages relevant
    assert result["sources"][0]["doc_id"] == "decree"  # found by the relaxed search


def test_a_filter_on_documents_the_user_gave_wins(law_graph):
    result = law_graph.invoke(
        {"question": f"Theo Luật Vườn cây nông thôn, {FINE}", "filters": {"doc_id": "urban-2025"}}
    )
    assert "named_law" not in first_search(result)
    assert {s["doc_id"] for s in result["sources"]} == {"urban-2025"}


def test_questions_without_a_law_are_untouched(law_graph):
    result = law_graph.invoke({"question": "Vịnh Hạ Long có bao nhiêu hòn đảo?"})
    assert "named_law" not in first_search(result)
    assert result["sources"][0]["doc_id"] == "vinh-ha-long"


def test_a_law_ingested_later_is_found(make_demo_services):
    services = make_demo_services()
    graph = build_graph(services=services)
    question = f"Theo Luật Vườn cây nông thôn, {FINE}"
    before = graph.invoke({"question": question})
    assert first_search(before)["named_law"]["doc_ids"] == []
    assert before["fallback_reason"] == "law_not_held"
    rural = next(v.text for v in LAW_VERSIONS if v.doc_id == "rural")
    ingest_documents(
        [Document("rural", "rural", rural, "rural.txt")], services.retrieval.kb, services.settings
    )
    assert first_search(graph.invoke({"question": question}))["named_law"]["doc_ids"] == ["rural"]


def test_named_law_can_be_turned_off(settings, make_demo_services):
    off = settings.model_copy(
        update={"retrieval": settings.retrieval.model_copy(update={"named_law": False})}
    )
    services = make_demo_services(off)
    rural = next(v.text for v in LAW_VERSIONS if v.doc_id == "rural")
    ingest_documents([Document("rural", "rural", rural, "rural.txt")], services.retrieval.kb, off)
    result = build_graph(services=services).invoke(
        {"question": f"Theo Luật Vườn cây nông thôn, {FINE}"}
    )
    assert "named_law" not in first_search(result)


@pytest.mark.slow
def test_named_law_benchmark(settings):
    """`vinarag eval documents`' named-law figures: the same questions, the filter off and on."""
    from evals.documents_benchmark import named_law_figures

    figures = named_law_figures(settings)
    assert set(figures) == {
        f"named_law {state}, {typed}" for state in ("off", "on") for typed in ("marked", "unmarked")
    }
    for typed in ("marked", "unmarked"):
        off, on = figures[f"named_law off, {typed}"], figures[f"named_law on, {typed}"]
        assert off["questions"] == on["questions"] == 30
        assert on["top_source_from_the_named_law"] > off["top_source_from_the_named_law"]

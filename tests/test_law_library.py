"""Real laws in a library: the article as the unit the graph answers from and the clause as the
unit it cites (small-to-big), the pseudo-questions and figures of `vinarag eval laws`, laws a
question names that the store does not hold, and extractive answers made of whole sentences.
Laws from `../shared/data/laws-vn/` (real, as published)."""

from __future__ import annotations

import json

import pytest

from evals.law_questions import make_questions, read_law
from graph import build_graph
from tests.helpers import DEEP, LAWS_VN, need
from tools.corpus.documents import Document
from tools.corpus.passages import Passage, merge_identical
from tools.generate.base import GenerationRequest
from tools.generate.extractive import ExtractiveGenerator
from tools.ingest.pipeline import ingest_documents
from tools.kb.articles import clause_location, widen_articles
from tools.text.law_names import law_mentions
from tools.text.sentences import split_sentences

TOURISM = "Luat-du-lich-2017-322936.txt"  # Luật Du lịch 2017: 78 articles, several of 10+ clauses


def _law_text(name: str) -> str:
    need(LAWS_VN.is_dir(), f"the real laws are not at {LAWS_VN}")
    return (LAWS_VN / name).read_text("utf-8")


@pytest.fixture
def tourism(make_demo_services, settings):
    """The tourism law ingested whole, with chunks small enough that long articles split."""
    chunking = settings.chunking.model_copy(update={"size": 400, "overlap": 0})
    small = settings.model_copy(update={"chunking": chunking})
    services = make_demo_services(small)
    document = Document("du-lich", "du-lich", _law_text(TOURISM), TOURISM)
    ingest_documents([document], services.retrieval.kb, small)
    return services


def _long_article_chunk(services) -> Passage:
    """A chunk that holds some of a long article's clauses (not its first)."""
    question = "Thẻ hướng dẫn viên du lịch bao gồm những loại nào?"
    for hit in services.retrieval.retriever.retrieve(question, top_k=30):
        if "khoan" in hit["metadata"] and hit["position"] > 0:
            return hit
    raise AssertionError("no chunk of a split article among the hits")


def test_a_chunk_of_a_long_article_becomes_the_article(tourism):
    hit = _long_article_chunk(tourism)
    kb = tourism.retrieval.kb
    [article] = widen_articles(kb, [hit], max_chars=20_000)
    siblings = kb.find({"doc_id": hit["doc_id"], "dieu": hit["metadata"]["dieu"]}, None, 64)
    assert len(siblings) > 1  # the article is stored as several chunks
    for _, payload in siblings:  # every clause of the article is in the one source
        body = payload.text.partition("\n")[2] or payload.text
        assert " ".join(body.split())[:60] in " ".join(article["text"].split())
    assert article["text"].startswith(f"Điều {hit['metadata']['dieu']}.")
    assert "khoan" not in article["metadata"] and "Khoản" not in article["location"]
    assert article["metadata"]["khoan_tim_thay"] == hit["metadata"]["khoan"]
    # a second chunk of the same article adds nothing: it is in the article already
    assert len(widen_articles(kb, [hit, {**hit, "id": "other"}], max_chars=20_000)) == 1
    # bounded: the chunk found, and its nearest neighbours while they fit
    [bounded] = widen_articles(kb, [hit], max_chars=300)
    assert hit["text"].partition("\n")[2][:80] in bounded["text"]
    assert len(bounded["text"]) < len(article["text"])


def test_a_citation_names_the_clause_it_quotes(tourism):
    hit = _long_article_chunk(tourism)
    [article] = widen_articles(tourism.retrieval.kb, [hit], max_chars=20_000)
    lines = article["text"].split("\n")
    clause_line = next(line for line in lines[2:] if line[:1].isdigit())
    number = clause_line.split(".", 1)[0]
    sentence = split_sentences(clause_line)[-1]
    where = clause_location(article, sentence)
    assert where is not None and where.endswith(f"Điều {hit['metadata']['dieu']}, Khoản {number}")
    assert where.startswith("Luật Du lịch 2017 (09/2017/QH14)")
    assert clause_location(article, "một câu không có trong điều này") is None


def test_the_graph_answers_from_the_article_and_cites_its_clause(tourism):
    graph = build_graph(services=tourism)
    result = graph.invoke({"question": "Thẻ hướng dẫn viên du lịch bao gồm những loại nào?"})
    top = result["sources"][0]
    assert top["metadata"]["dieu"] == "58" and "khoan" not in top["metadata"]
    cited = [c for c in result["citations"] if c["marker"] == 1]
    assert cited and cited[0]["location"].startswith("Luật Du lịch 2017 (09/2017/QH14), Điều 58")
    clause = cited[0]["location"].rsplit("Khoản ", 1)[1]
    # the quoted sentence is in that clause of the law as published
    law = _law_text(TOURISM)
    article = law[law.index("Điều 58.") : law.index("Điều 59.")]
    lines = article.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{clause}. "))
    end = next((i for i in range(start + 1, len(lines)) if lines[i][:1].isdigit()), len(lines))
    held = " ".join(" ".join(lines[start:end]).split())
    assert " ".join(cited[0]["text"].split()) in held


def test_without_widening_the_sources_stay_chunks(tourism):
    from graph.context import Context  # noqa: F401  (the run settings field exists)

    settings = tourism.settings
    off = settings.model_copy(
        update={"retrieval": settings.retrieval.model_copy(update={"article_chars": 0})}
    )
    graph = build_graph(off, services=tourism)
    result = graph.invoke({"question": "Thẻ hướng dẫn viên du lịch bao gồm những loại nào?"})
    assert any("khoan" in s["metadata"] for s in result["sources"])


def test_identical_passages_from_two_files_are_listed_once():
    def passage(pid: str, source: str, text: str, number: str | None = "09/2017/QH14") -> Passage:
        meta = {"so_hieu": number} if number else {}
        return Passage(
            id=pid, doc_id=pid, title="t", text=text, source=source, position=0,
            location=source, score=1.0, metadata=meta,
        )  # fmt: skip

    same = "Điều 5. Hành vi bị nghiêm cấm.\n1. Đóng đinh lên thân cây."
    merged = merge_identical(
        [
            passage("a", "luat.docx", same),
            passage("b", "luat.pdf", " ".join(same.split())),  # the same words, other spacing
            passage("c", "khac.txt", "Điều 6. Xử lý vi phạm."),
            passage("d", "luat-2019.txt", same, number="12/2019/QH14"),  # another version
        ]
    )
    assert [p["id"] for p in merged] == ["a", "c", "d"]
    assert merged[0]["metadata"]["also_in"] == ["luat.pdf"]


@pytest.mark.parametrize(
    ("question", "named"),
    [
        ("Theo Luật An ninh mạng, hành vi nào bị cấm?", ["Luật An ninh mạng"]),
        ("Bộ luật Hình sự quy định tội trộm cắp thế nào?", ["Bộ luật Hình sự"]),
        ("Luật Phòng, chống mua bán người có mấy chương?", ["Luật Phòng, chống mua bán người"]),
        ("Điều 5 của Luật Đất đai năm 2013 nói gì?", ["Luật Đất đai"]),
        ("theo bộ luật Dân sự thì sao?", ["bộ luật Dân sự"]),
        ("Luật này có hiệu lực khi nào?", []),
        ("theo luật đất đai thì sao?", []),  # no capital: no name a question can be held to
    ],
)
def test_the_law_names_a_question_writes(question, named):
    assert law_mentions(question) == named


def test_sentences_keep_clause_numbers_with_their_clause():
    text = (
        "Điều 4. Cắt tỉa cành.\n1. Việc cắt tỉa cành do thợ thực hiện.\n"
        "2. Người dân được tự cắt cành trong các trường hợp sau đây:\na) cành gãy;\n"
        "b) cành chạm dây điện;\n3. Cành cắt ra được phơi khô."
    )
    assert split_sentences(text) == [
        "Điều 4. Cắt tỉa cành.",
        "1. Việc cắt tỉa cành do thợ thực hiện.",
        "2. Người dân được tự cắt cành trong các trường hợp sau đây: a) cành gãy; b) cành chạm "
        "dây điện;",
        "3. Cành cắt ra được phơi khô.",
    ]
    # extracted from a PDF: the clauses run on in one line
    inline = "Cành được cắt khi: a) cành gãy; b) cành chạm dây điện; 4. Cành cắt ra được phơi."
    assert split_sentences(inline) == [
        "Cành được cắt khi: a) cành gãy; b) cành chạm dây điện;",
        "4. Cành cắt ra được phơi.",
    ]
    assert split_sentences("Theo quy định tại Điều 5. Người khác đi.") == [
        "Theo quy định tại Điều 5.",
        "Người khác đi.",
    ]


def test_extractive_answers_are_whole_sentences_cited_once():
    article = (
        "Điều 8. Phí và lệ phí.\n1. Người vào vườn không phải trả phí.\n"
        "2. Phí gửi xe máy tại bãi xe của vườn là năm nghìn đồng một lượt;\n"
        "3. Vườn mở cửa từ năm giờ sáng."
    )

    def source(pid: str, where: str) -> Passage:
        return Passage(
            id=pid, doc_id=pid, title="Luật Vườn cây", text=article, source=where, position=0,
            location=f"{where}, Điều 8", score=1.0, metadata={"dieu": "8"},
        )  # fmt: skip

    request = GenerationRequest(
        question="Phí gửi xe máy ở vườn là bao nhiêu?",
        sources=[source("a", "luat.docx"), source("b", "luat.pdf")],
    )
    generation = ExtractiveGenerator().generate(request)
    answer = generation.answer
    assert answer == "Phí gửi xe máy tại bãi xe của vườn là năm nghìn đồng một lượt. [1]"
    assert "[2]" not in answer  # the same sentence of the other file is not said twice
    [citation] = generation.citations
    assert citation["location"] == "luat.docx, Điều 8, Khoản 2"


def test_pseudo_questions_from_real_laws_name_their_article_and_clause():
    law = read_law(TOURISM, _law_text(TOURISM))
    questions, counts = make_questions([law], articles=30, seed=3)
    assert counts == {"articles": len(law.articles), "drawn": 30}
    kinds = {q.kind for q in questions}
    assert kinds == {"title", "clause", "clause_unmarked"}
    numbers = {a.number for a in law.articles}
    for q in questions:
        assert q.file == TOURISM and q.article in numbers and q.question.endswith("?")
        if q.kind != "title":
            assert q.clause is not None and q.clause_text.startswith(f"{q.clause}.")
    marked = {(q.article, q.clause): q.question for q in questions if q.kind == "clause"}
    for q in questions:
        if q.kind == "clause_unmarked":  # the same question, without its tone marks
            assert marked[(q.article, q.clause)] != q.question
            assert q.question.isascii() or "đ" not in q.question.lower()


@pytest.mark.slow
def test_eval_laws_on_real_laws(settings, tmp_path):
    """`vinarag eval laws` end to end on a few real laws: each figure is there and plausible,
    and a question naming a held-out law is never answered from another."""
    from evals.laws_benchmark import format_table, run_laws_benchmark

    need(LAWS_VN.is_dir(), f"the real laws are not at {LAWS_VN}")
    folder = LAWS_VN
    if not DEEP:  # the first six laws by name include the three longest codes: six under
        folder = tmp_path / "laws"  # 150 KB instead, by name (make test-deep: the first six)
        folder.mkdir()
        for law in [p for p in sorted(LAWS_VN.iterdir()) if p.stat().st_size < 150_000][:6]:
            (folder / law.name).symlink_to(law)
    sparse = settings.retrieval.model_copy(update={"mode": "sparse"})
    result = run_laws_benchmark(
        settings.model_copy(update={"retrieval": sparse}),
        folder,
        articles=12,
        absent=1,
        pairs=3,
        limit=6,
        pdf=1,
        reference=False,
        progress=False,
    )
    whole = result["whole files"]
    assert result["dataset"]["ingested"] == 5 and whole["all"]["questions"] >= 12
    assert whole["all"]["law_top"] >= 0.8  # five laws: the right law comes first
    assert whole["absent_laws"]["questions"] >= 1
    assert whole["absent_laws"]["answered_from_another_law"] == 0.0
    assert result["headers"]["laws"] == 6 and result["headers"]["kind_and_name_read"] == 6
    assert result["pdf_pages"]["chunks_checked"] > 10
    assert result["pdf_pages"]["first_page_right"] >= 0.95
    assert "whole files" in format_table(result)
    json.dumps(result)  # what --json writes

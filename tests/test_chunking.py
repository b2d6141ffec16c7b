from tools.corpus.documents import Document, chunk_point_id, file_doc_id
from tools.ingest.chunk import chunk_document, chunk_text

SENTENCES = [f"Câu thứ {i} nói về lịch sử Việt Nam và các triều đại phong kiến." for i in range(30)]


def test_chunks_respect_size_and_sentence_boundaries() -> None:
    chunks = chunk_text(" ".join(SENTENCES), size=300, overlap=0)
    assert len(chunks) > 3
    for chunk in chunks:
        assert len(chunk) <= 300
        assert chunk.startswith("Câu thứ") and chunk.endswith(".")
    assert " ".join(chunks) == " ".join(SENTENCES)


def test_overlap_repeats_trailing_sentences() -> None:
    chunks = chunk_text(" ".join(SENTENCES), size=300, overlap=150)
    assert len(chunks) > 3
    for previous, current in zip(chunks, chunks[1:], strict=False):
        last_sentence = previous.rsplit(". ", 1)[-1]
        first_sentence = current.split(". ", 1)[0] + "."
        assert last_sentence in current  # the tail of a chunk opens the next one
        assert first_sentence in previous and first_sentence != last_sentence  # 2 carried


def test_a_sentence_longer_than_a_chunk_is_cut_between_words() -> None:
    long_sentence = " ".join(["từ"] * 200) + "."
    chunks = chunk_text(long_sentence, size=100, overlap=0)
    assert all(len(c) <= 100 for c in chunks)
    assert " ".join(chunks).split() == long_sentence.split()


def test_chunks_keep_document_fields() -> None:
    doc = Document("d1", "Tiêu đề", " ".join(SENTENCES), "a.txt", {"topic": "sử"})
    chunks = chunk_document(doc, size=300, overlap=0)
    assert [c.position for c in chunks] == list(range(len(chunks)))
    assert {(c.doc_id, c.title, c.source, c.metadata["topic"]) for c in chunks} == {
        ("d1", "Tiêu đề", "a.txt", "sử")
    }


def test_ids_are_deterministic(tmp_path) -> None:
    path = tmp_path / "Bài viết số 1.txt"
    assert file_doc_id(path) == file_doc_id(tmp_path / "." / "Bài viết số 1.txt")
    assert file_doc_id(path) != file_doc_id(tmp_path / "other" / "Bài viết số 1.txt")
    assert chunk_point_id("d1", 0) == chunk_point_id("d1", 0) != chunk_point_id("d1", 1)


def test_headings_alone_are_grouped_and_articles_with_a_body_are_not() -> None:
    """10^5 "Điều N." lines would be 10^5 chunks; repealed articles share one."""
    text = "\n".join(
        [
            "Điều 1. Phạm vi điều chỉnh",
            "Luật này quy định về đất đai.",
            "Điều 2. (được bãi bỏ)",
            "Điều 3. (được bãi bỏ)",
            "Điều 4. (được bãi bỏ)",
            "Điều 5. Giải thích từ ngữ",
            "Đất ở là đất để xây nhà.",
        ]
    )
    chunks = chunk_document(Document("luat", "Luật", text, "luat.txt"), 900, 150)
    places = [(c.metadata["dieu"], c.metadata.get("dieu_den")) for c in chunks]
    assert places == [("1", None), ("2", "4"), ("5", None)]
    assert chunks[1].text.splitlines() == [f"Điều {n}. (được bãi bỏ)." for n in (2, 3, 4)]
    assert chunks[1].metadata["location"] == "luat.txt, Điều 2–4"


def test_a_phrase_repeated_on_a_later_page_takes_its_own_page() -> None:
    """Pages come from where reading has got to, not from the first page holding a phrase:
    clause 2 of Điều 381 was cited as page 40 because page 40 held the same words."""
    from tools.corpus.documents import Part

    same = "Người lao động có quyền đơn phương chấm dứt hợp đồng lao động."
    pages = [
        Part(f"Điều 1. Quyền\n{same}", page=1),
        Part("Điều 2. Nghĩa vụ\nNgười lao động phải làm việc theo hợp đồng.", page=2),
        Part(f"Điều 3. Chấm dứt\n{same}", page=3),
    ]
    document = Document.from_parts("bo-luat", "Bộ luật", pages, "bo-luat.pdf")
    chunks = chunk_document(document, 900, 150)
    assert [(c.metadata["dieu"], c.metadata["page"]) for c in chunks] == [
        ("1", 1),
        ("2", 2),
        ("3", 3),
    ]


def test_a_piece_across_a_page_break_names_both_pages() -> None:
    """Its opening is on one page, its last line on the next: "trang 2–3"."""
    from tools.corpus.documents import Part

    pages = [
        Part("Điều 1. Quyền\nNgười lao động được nghỉ hằng năm.", page=1),
        Part("Điều 2. Nghĩa vụ\n1. Người lao động phải làm việc theo hợp đồng.", page=2),
        Part("2. Người lao động phải giữ bí mật kinh doanh của người sử dụng lao động.", page=3),
        Part("Điều 3. Chấm dứt\nHợp đồng chấm dứt khi hết hạn.", page=3),
    ]
    document = Document.from_parts("bo-luat", "Bộ luật", pages, "bo-luat.pdf")
    chunks = chunk_document(document, 900, 150)
    pages_of = [
        (c.metadata["dieu"], c.metadata["page"], c.metadata.get("page_end")) for c in chunks
    ]
    assert pages_of == [("1", 1, None), ("2", 2, 3), ("3", 3, None)]
    assert chunks[1].metadata["location"] == "bo-luat.pdf, Điều 2, trang 2–3"


def test_the_pieces_of_one_long_clause_each_take_their_own_page() -> None:
    """A clause longer than a chunk is cut into several pieces; each piece's page is where its
    own text is (they once shared one record, and all took the last piece's page)."""
    from tools.corpus.documents import Part

    first = " ".join(f"Người lao động được nghỉ ngày {i} theo quy định." for i in range(1, 9))
    second = " ".join(f"Người sử dụng lao động trả lương ngày {i} đầy đủ." for i in range(1, 9))
    pages = [
        Part(f"Điều 1. Nghỉ\n1. {first}", page=1),
        Part(second, page=2),
        Part("Điều 2. Khác\nNội dung khác của luật.", page=2),
    ]
    document = Document.from_parts("bo-luat", "Bộ luật", pages, "bo-luat.pdf")
    chunks = chunk_document(document, 300, 0)
    clause = [c for c in chunks if c.metadata["dieu"] == "1"]
    assert len(clause) >= 3
    assert clause[0].metadata["page"] == 1 and clause[-1].metadata["page"] == 2
    assert all(
        "page_end" not in c.metadata or c.metadata["page_end"] > c.metadata["page"] for c in chunks
    )

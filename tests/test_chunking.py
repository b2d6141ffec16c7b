from tools.ingest.chunk import chunk_document, chunk_text
from tools.ingest.documents import Document, chunk_point_id, file_doc_id

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

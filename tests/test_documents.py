"""Real-world Vietnamese files, built here: laws chunked by article and cited by location,
legal headers as filters, legacy font encodings, tables, sections and pages, scans by OCR."""

import json
import shutil

import pytest

from evals.documents_benchmark import (
    SCAN_LINES,
    cer,
    legacy_bytes,
    render_page,
    representable,
    write_law_files,
)
from evals.law_sample import LAW_LABEL, LAW_QUESTIONS, LAW_TEXT
from tests.helpers import need
from tools.corpus.documents import Document
from tools.ingest.chunk import chunk_document
from tools.ingest.legal import parse_header, split_articles
from tools.ingest.loaders import load_file
from tools.ingest.pipeline import IngestReport, ingest_paths, prepare
from tools.services import build_services
from tools.settings import load_settings

# Bound asserted on the clean render (seen: 0.0000 in `vinarag eval documents`, DejaVu Serif).
CLEAN_SCAN_CER = 0.02
# With 0.2 % of the pixels flipped (seen: 0.0062).
NOISY_SCAN_CER = 0.05


def _settings(**overrides):
    return load_settings(dense={"backend": "none"}, **overrides)


def _prepared(text: str, source: str = "luat.txt", **settings):
    document = Document("law", "luat", text, source)
    chunks = prepare(document, _settings(**settings), IngestReport())
    return document, chunks


def test_legal_header_becomes_filterable_metadata():
    header = parse_header(LAW_TEXT)
    assert header.official and header.label == LAW_LABEL
    assert header.metadata() == {
        "so_hieu": "99/2025/QH15",
        "loai": "Luật",
        "ten": "Vườn cây đô thị",
        "co_quan": "Quốc hội",
        "ngay": "2025-06-12",
        "nam": 2025,
        "hieu_luc": "2026-01-01",  # from its last article
    }
    plain = parse_header("Báo cáo tình hình.\nNăm nay mưa nhiều.")
    assert not plain.official and plain.metadata() == {}


def test_every_chunk_of_a_law_carries_its_article_path():
    document, chunks = _prepared(LAW_TEXT)
    assert document.title == LAW_LABEL
    preamble, *articles = chunks
    assert "dieu" not in preamble.metadata and preamble.metadata["location"] == LAW_LABEL
    assert [c.metadata["dieu"] for c in articles] == [str(n) for n in range(1, 10)]
    assert all(c.text.startswith(f"Điều {c.metadata['dieu']}. ") for c in articles)
    by_article = {c.metadata["dieu"]: c.metadata for c in articles}
    assert by_article["1"]["chuong"] == "I" and "muc" not in by_article["1"]
    assert by_article["3"]["chuong"] == "II" and by_article["3"]["muc"] == "1"
    assert by_article["5"]["muc"] == "2" and by_article["5"]["muc_ten"] == "Bảo vệ cây"
    assert by_article["7"]["chuong_ten"] == "Sử dụng vườn cây" and "muc" not in by_article["7"]
    assert by_article["8"]["location"] == f"{LAW_LABEL}, Điều 8"
    assert all(c.metadata["so_hieu"] == "99/2025/QH15" for c in chunks)


def test_outline_headings_in_the_forms_documents_use():
    """Sentence-case titles after a colon, an article number without a full stop, capitals after
    a dash; a line that only mentions an article ("Điều 5 của Luật này ...") is not one."""
    text = (
        "Chương 1: Quy định chung\nĐiều 1 Phạm vi áp dụng\nQuy chế này áp dụng cho nhân viên.\n"
        "Điều 2: Đối tượng\n1. Nhân viên chính thức.\nĐiều 5 của Luật này được dẫn chiếu.\n"
        "PHẦN THỨ HAI\nMục 2 - KHEN THƯỞNG\nĐiều 3. Khen thưởng\nMỗi năm một lần.\n"
    )
    _, articles = split_articles(text)
    assert [a.heading for a in articles] == [
        "Điều 1. Phạm vi áp dụng",
        "Điều 2. Đối tượng",
        "Điều 3. Khen thưởng",
    ]
    assert articles[0].path == {"chuong": "1", "chuong_ten": "Quy định chung"}
    assert "Điều 5 của Luật này được dẫn chiếu." in articles[1].body
    assert articles[2].path == {"phan": "thứ hai", "muc": "2", "muc_ten": "Khen thưởng"}


def test_a_long_article_is_split_at_its_clauses_with_the_heading_repeated():
    _, chunks = _prepared(LAW_TEXT, chunking={"size": 160, "overlap": 0})
    article_4 = [c for c in chunks if c.metadata.get("dieu") == "4"]
    assert len(article_4) >= 3
    assert all(c.text.startswith("Điều 4. Cắt tỉa cành.\n") for c in article_4)
    assert [c.metadata["khoan"] for c in article_4][0] == "1"
    points = next(c for c in article_4 if "cành gãy" in c.text)
    assert points.metadata["khoan"] == "2"
    assert points.metadata["location"] == f"{LAW_LABEL}, Điều 4, Khoản 2"
    assert all(len(c.text) <= 160 for c in chunks if c.metadata.get("dieu"))


@pytest.mark.parametrize("size", [900, 160])
def test_a_question_about_a_clause_retrieves_it_first_and_names_it(size, tmp_path):
    settings = _settings(chunking={"size": size, "overlap": 0})
    services = build_services(settings, location=":memory:")
    try:
        law = tmp_path / "luat_vuon_cay.txt"
        law.write_text(LAW_TEXT, "utf-8")
        ingest_paths([law], services.retrieval.kb, settings, progress=False)
        for item in LAW_QUESTIONS:
            hits = services.retrieval.retriever.retrieve(item.question)
            top = services.retrieval.reranker.rerank(item.question, hits, 1)[0]
            assert top["metadata"]["dieu"] == item.dieu, item.question
            assert top["location"].startswith(f"{LAW_LABEL}, Điều {item.dieu}")
            if "khoan" in top["metadata"]:  # a clause chunk: the clause is named too
                assert item.khoan in top["metadata"]["khoan"].split(", "), item.question
                assert f"Khoản {top['metadata']['khoan']}" in top["location"]
        filters = services.retrieval.retriever.retrieve
        assert filters("phí gửi xe", filters={"loai": "Luật", "nam": {"gte": 2015}})
        assert not filters("phí gửi xe", filters={"nam": {"lt": 2000}})
    finally:
        services.close()


@pytest.mark.slow
def test_the_graph_answers_from_the_article_and_says_where(tmp_path, vinarag):
    (tmp_path / "in").mkdir()
    files = write_law_files(tmp_path / "in")
    assert vinarag("ingest", str(files["pdf"]), "--quiet").returncode == 0
    result = json.loads(vinarag("ask", "--json", "Phí gửi xe máy ở vườn là bao nhiêu?").stdout)
    assert "năm nghìn đồng" in result["answer"]
    first = result["sources"][0]
    assert first["location"].startswith(f"{LAW_LABEL}, Điều 8, trang ")
    assert first["metadata"]["page"] == 3
    text = vinarag("ask", "Phí gửi xe máy ở vườn là bao nhiêu?").stdout
    assert f"({LAW_LABEL}, Điều 8, trang 3)" in text


@pytest.mark.parametrize("encoding", ["tcvn3", "vni", "viscii"])
def test_legacy_encoded_text_files_are_converted_exactly(encoding, tmp_path, vinarag):
    lines = LAW_TEXT.splitlines()[12:40]
    body = "\n".join(line for line in lines if representable(line, "tcvn3"))
    path = tmp_path / f"van_ban_{encoding}.txt"
    path.write_bytes(legacy_bytes(body, encoding))
    assert path.read_bytes().decode("latin-1") != body  # mojibake as read
    loaded = load_file(path).documents[0]
    document, chunks = _prepared(loaded.text, str(path))
    assert document.text == body and document.metadata["converted_from"] == encoding
    assert "Điều 3. Tưới cây và bón phân" in " ".join(c.text for c in chunks)
    report = json.loads(vinarag("ingest", str(path), "--quiet", "--json").stdout)
    assert report["added"] and report["warnings"][0]["reason"] == (
        f"converted from {encoding.upper()} to Unicode"
    )


def test_docx_runs_in_legacy_fonts_tables_and_headings(tmp_path):
    import docx

    path = tmp_path / "bao_cao.docx"
    document = docx.Document()
    document.add_heading("Dân số các tỉnh", level=1)
    legacy = document.add_paragraph().add_run(
        legacy_bytes("Số liệu năm 2024.", "tcvn3").decode("cp1252")
    )
    legacy.font.name = ".VnTime"
    document.add_paragraph("Bảng dưới đây lấy từ tổng cục thống kê.")
    table = document.add_table(rows=3, cols=2)
    for r, (a, b) in enumerate(
        [("Tỉnh", "Dân số"), ("Lào Cai", "770 nghìn"), ("Huế", "1,1 triệu")]
    ):
        table.rows[r].cells[0].text, table.rows[r].cells[1].text = a, b
    document.add_heading("Ghi chú", level=2)
    document.add_paragraph("Số liệu làm tròn.")
    document.save(str(path))
    loaded = load_file(path)
    [doc] = loaded.documents
    assert "Số liệu năm 2024." in doc.text
    assert loaded.notes == ["runs in TCVN3 fonts converted to Unicode"]
    assert "Tỉnh: Lào Cai; Dân số: 770 nghìn." in doc.text
    chunks = chunk_document(doc, 900, 0)
    sections = {c.metadata["section"] for c in chunks}
    assert sections == {"Dân số các tỉnh", "Dân số các tỉnh › Ghi chú"}
    assert any(c.metadata["location"] == "bao_cao.docx › Dân số các tỉnh › Ghi chú" for c in chunks)


def test_html_xlsx_and_pptx_tables_become_named_rows(tmp_path):
    import openpyxl
    from pptx import Presentation
    from pptx.util import Inches

    html = tmp_path / "bang.html"
    html.write_text(
        "<html><body><h1>Giá vé</h1><p>Giá vé tham quan năm nay.</p><table>"
        "<tr><th>Đối tượng</th><th>Giá</th></tr><tr><td>Người lớn</td><td>30.000 đồng</td></tr>"
        "</table><h2>Miễn phí</h2><p>Trẻ em dưới sáu tuổi.</p></body></html>",
        "utf-8",
    )
    [doc] = load_file(html).documents
    assert "Đối tượng: Người lớn; Giá: 30.000 đồng." in doc.text
    assert [p.headings for p in doc.parts] == [["Giá vé"], ["Giá vé", "Miễn phí"]]

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Học phí"
    for row in [("Ngành", "Học phí"), ("Tin học", 15000000), ("Ngữ văn", 12000000)]:
        sheet.append(row)
    book.save(tmp_path / "hoc_phi.xlsx")
    [doc] = load_file(tmp_path / "hoc_phi.xlsx").documents
    assert "Ngành: Tin học; Học phí: 15000000." in doc.text
    assert doc.parts[0].headings == ["Học phí"]

    deck = Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[5])
    slide.shapes.title.text = "Kế hoạch năm"
    shape = slide.shapes.add_table(2, 2, Inches(1), Inches(2), Inches(6), Inches(1))
    for r, (a, b) in enumerate([("Quý", "Việc"), ("Quý 1", "Trồng cây")]):
        shape.table.cell(r, 0).text, shape.table.cell(r, 1).text = a, b
    deck.save(tmp_path / "ke_hoach.pptx")
    [doc] = load_file(tmp_path / "ke_hoach.pptx").documents
    assert "Quý: Quý 1; Việc: Trồng cây." in doc.text
    assert doc.parts[0].headings == ["Slide 1: Kế hoạch năm"]


def test_a_pdf_table_becomes_named_rows_on_its_page(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matplotlib.rcParams["pdf.fonttype"] = 42
    figure = plt.figure(figsize=(8.27, 11.69))
    figure.text(0.1, 0.9, "Bảng học phí năm học 2025 của trường.", family="DejaVu Sans")
    axes = figure.add_axes((0.1, 0.5, 0.8, 0.3))
    axes.axis("off")
    rows = [["Tin học", "15 triệu"], ["Ngữ văn", "12 triệu"]]
    axes.table(cellText=rows, colLabels=["Ngành", "Học phí"], loc="center")
    path = tmp_path / "hoc_phi.pdf"
    figure.savefig(path)
    plt.close(figure)
    [doc] = load_file(path).documents
    assert "Ngành: Tin học; Học phí: 15 triệu." in doc.text
    [chunk] = chunk_document(doc, 900, 0)
    assert chunk.metadata["page"] == 1 and chunk.metadata["location"] == "hoc_phi.pdf, trang 1"


def _ocr_ready() -> None:
    import subprocess

    need(shutil.which("tesseract") is not None, "tesseract not installed (make test installs it)")
    langs = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True).stdout
    need("vie" in langs.split(), "tesseract-ocr-vie not installed (make test installs it)")
    need(shutil.which("pdftoppm") is not None, "pdftoppm not installed (make test installs it)")


@pytest.mark.slow
def test_a_scanned_pdf_is_read_by_ocr(tmp_path):
    _ocr_ready()
    reference = "\n".join(SCAN_LINES)
    clean, noisy = tmp_path / "scan.pdf", tmp_path / "scan_noisy.pdf"
    render_page(SCAN_LINES, noise=0.0).save(clean, resolution=300)
    render_page(SCAN_LINES, noise=0.002, angle=-0.6, seed=3).save(noisy, resolution=300)
    loaded = load_file(clean)
    [doc] = loaded.documents
    assert cer(reference, doc.text) <= CLEAN_SCAN_CER
    assert loaded.notes[0].startswith("OCR on page(s) 1 (mean confidence 0.")
    assert cer(reference, load_file(noisy).documents[0].text) <= NOISY_SCAN_CER
    [chunk, *_] = chunk_document(doc, 900, 0)
    assert chunk.metadata["ocr"] is True and 0.5 < chunk.metadata["ocr_confidence"] <= 1
    assert chunk.metadata["page"] == 1


@pytest.mark.slow
def test_a_mixed_pdf_ocrs_only_its_scanned_page_and_images_go_in(tmp_path, vinarag):
    from pypdf import PdfReader, PdfWriter

    _ocr_ready()
    files = write_law_files(tmp_path)
    scan = tmp_path / "scan.pdf"
    render_page(SCAN_LINES).save(scan, resolution=300)
    writer = PdfWriter()
    writer.add_page(PdfReader(str(files["pdf"])).pages[0])
    writer.add_page(PdfReader(str(scan)).pages[0])
    mixed = tmp_path / "mixed.pdf"
    with mixed.open("wb") as handle:
        writer.write(handle)
    loaded = load_file(mixed)
    assert [p.ocr_confidence is not None for p in loaded.documents[0].parts] == [False, True]
    assert loaded.notes[0].startswith("OCR on page(s) 2 ")
    image = tmp_path / "trang.png"
    render_page(SCAN_LINES[:4]).save(image)
    report = json.loads(vinarag("ingest", str(mixed), str(image), "--quiet", "--json").stdout)
    assert len(report["added"]) == 2 and not report["failed"]
    assert {w["reason"][:15] for w in report["warnings"]} == {"OCR on page(s) "}


@pytest.mark.slow
def test_without_tesseract_a_scan_is_skipped_with_what_to_install(tmp_path, monkeypatch, vinarag):
    from tools.ingest.ocr import check_ocr

    folder = tmp_path / "docs"
    folder.mkdir()
    scan = folder / "scan.pdf"
    render_page(SCAN_LINES[:3]).save(scan, resolution=72)
    (folder / "note.txt").write_text("Ghi chú ngắn bằng tiếng Việt cho thư mục.", "utf-8")
    check_ocr.cache_clear()
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))
    try:
        report = json.loads(vinarag("ingest", str(folder), "--quiet", "--json").stdout)
    finally:
        check_ocr.cache_clear()
    assert len(report["added"]) == 1
    [skipped] = report["skipped"]
    assert skipped["source"].endswith("scan.pdf")
    assert "apt-get install tesseract-ocr tesseract-ocr-vie" in skipped["reason"]
    never = load_settings(ingest={"ocr": "never"})
    with pytest.raises(Exception, match="no text layer"):
        load_file(scan, never.ingest)


@pytest.mark.slow
def test_ocr_says_each_page_it_reads_through_the_reader_and_a_worker_process(tmp_path, settings):
    """A job that reads a scan can say "OCR page 2 of 2" instead of 0 files for minutes: the
    reader's child reports each page, and a worker process passes the pages on."""
    from tools.ingest.reader import FileReader
    from tools.ingest.uploads import StoredUpload, folder_uploads
    from tools.ingest.worker import ProcessWorkers

    _ocr_ready()
    pages = [render_page(SCAN_LINES[i : i + 2]) for i in (0, 2)]
    scan = tmp_path / "hai-trang.pdf"
    pages[0].save(scan, save_all=True, append_images=pages[1:], resolution=300)
    # read at 200 dpi: what is checked is the pages said, not how well they were read
    settings = settings.model_copy(
        update={"ingest": settings.ingest.model_copy(update={"ocr_dpi": 200})}
    )
    heard: list[tuple[int, int]] = []
    with FileReader(settings.ingest) as reader:
        loaded = reader.read(scan, lambda done, total: heard.append((done, total)))
    assert heard == [(0, 2), (1, 2), (2, 2)]
    assert sorted(loaded.ocr) == [1, 2]  # each page's words and boxes, kept
    uploads = folder_uploads(tmp_path / "jobs")
    uploads.put("job-1", "0.pdf", scan.read_bytes())
    workers = ProcessWorkers(settings)
    passed: list[tuple[int, int]] = []
    try:
        upload = StoredUpload("job-1", "0.pdf", "hai-trang.pdf", "default")
        prepared = workers.read_upload(uploads, upload, lambda d, t: passed.append((d, t)))
    finally:
        workers.close()
    assert prepared.chunked and passed[-1] == (2, 2) and passed == sorted(passed)

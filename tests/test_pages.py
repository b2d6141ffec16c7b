"""The original page of a citation: real laws printed as PDFs (and a scan read by OCR) go in
through the upload route with their originals kept; a quote of a passage opens on its page with
boxes whose text (read back by PDFium, not by the reader that found them) is the quote; the
file is kept once by its content and removed with the last document that names it; scopes and
bad requests answer as for the document's text."""

from __future__ import annotations

import io
from difflib import SequenceMatcher
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from evals.law_pdfs import write_law_pdf
from server.main import create_app
from tests.helpers import LAWS_VN, need, write_docx
from tools.generate.extractive import quotable
from tools.ingest.blobs import FolderBlobs
from tools.ingest.ocr import check_ocr
from tools.ingest.originals import Originals
from tools.pages.glyphs import Glyph
from tools.pages.highlight import PageText, letters
from tools.pages.viewer import PageViewer
from tools.services import build_services
from tools.settings import ApiKey

ADMIN = "admin-key-0123456789abcdef"
READER = "reader-key-0123456789abcdef"


def _law() -> tuple[str, str]:
    """A short real law (the first of the set between 8 and 20 thousand characters)."""
    need(LAWS_VN.is_dir(), f"the real laws are not at {LAWS_VN}")
    for path in sorted(LAWS_VN.glob("*.txt")):
        text = path.read_text("utf-8")
        if 8_000 < len(text) < 20_000:
            return path.stem, text
    raise AssertionError("no law of that size in the set")


@pytest.fixture
def client(settings):
    keys = [ADMIN, ApiKey(name="public-reader", key=READER, read=["public"], write=[])]
    configured = settings.model_copy(update={"api_keys": keys})
    services = build_services(configured, location=":memory:", embedder=None)
    with TestClient(create_app(configured, services=services)) as client:
        client.headers["X-API-Key"] = ADMIN
        yield client
    services.close()


def _upload(client: TestClient, path: Path, collection: str = "default") -> str:
    files = {"files": (path.name, path.read_bytes(), "application/octet-stream")}
    sent = client.post(f"/documents/files?wait=true&collection={collection}", files=files)
    assert sent.status_code == 200, sent.text
    return sent.json()["added"][0]


def _boxed_text(pdf: Path, page: int, boxes: list[dict]) -> str:
    """What PDFium reads inside the boxes (their middle band)."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(pdf))
    try:
        found = document[page - 1]
        text, (width, height) = found.get_textpage(), found.get_size()
        out = []
        for b in boxes:
            band = (b["bottom"] - b["top"]) * 0.3
            out.append(
                text.get_text_bounded(
                    left=b["left"] * width,
                    bottom=(1 - b["bottom"] + band) * height,
                    right=b["right"] * width,
                    top=(1 - b["top"] - band) * height,
                )
            )
        return " ".join(out)
    finally:
        document.close()


@pytest.mark.slow
def test_a_quoted_sentence_opens_highlighted_on_its_page(client, tmp_path):
    from PIL import Image, ImageChops

    name, text = _law()
    pdf = tmp_path / f"{name}.pdf"
    write_law_pdf(text, pdf)
    doc_id = _upload(client, pdf)
    chunks = client.get(f"/documents/{doc_id}/chunks").json()["chunks"]
    cited = [c for c in chunks if "page" in c["metadata"] and "dieu" in c["metadata"]]
    assert len(cited) >= 5
    checked = 0
    for chunk in cited[:: max(1, len(cited) // 6)]:
        quote = max(quotable(chunk["text"]), key=len)
        if len(letters(quote)) < 30:
            continue
        meta = chunk["metadata"]
        query = {
            "quote": quote,
            "page": meta["page"],
            "page_end": meta.get("page_end", meta["page"]),
        }
        found = client.get(f"/documents/{doc_id}/highlight", params=query)
        assert found.status_code == 200, found.text
        shown = found.json()
        assert shown["coverage"] >= 0.9 and shown["page_count"] >= 2, shown
        boxed = "".join(_boxed_text(pdf, p["page"], p["boxes"]) for p in shown["pages"])
        similarity = SequenceMatcher(None, letters(boxed), letters(quote)).ratio()
        assert similarity >= 0.9, (quote, boxed)
        checked += 1
    assert checked >= 4
    # the page image: the highlight is drawn inside the boxes, and nowhere else
    page = shown["pages"][0]
    plain = client.get(f"/documents/{doc_id}/pages/{page['page']}", params={"width": 600})
    marked = client.get(
        f"/documents/{doc_id}/pages/{page['page']}", params={"width": 600, "quote": quote}
    )
    assert plain.headers["content-type"] == marked.headers["content-type"] == "image/png"
    before, after = (Image.open(io.BytesIO(r.content)).convert("RGB") for r in (plain, marked))
    assert before.size == after.size and before.width == 600
    changed = ImageChops.difference(before, after).getbbox()
    assert changed is not None
    width, height = before.size
    box = page["boxes"]
    edges = (
        min(b["left"] for b in box) * width - 3,
        min(b["top"] for b in box) * height - 3,
        max(b["right"] for b in box) * width + 3,
        max(b["bottom"] for b in box) * height + 3,
    )
    assert edges[0] <= changed[0] and edges[1] <= changed[1]
    assert changed[2] <= edges[2] and changed[3] <= edges[3]
    original = client.get(f"/documents/{doc_id}/original")
    assert original.content == pdf.read_bytes()


def test_an_original_is_kept_once_and_goes_with_the_last_document_naming_it(client, tmp_path):
    name, text = _law()
    pdf = tmp_path / f"{name}.pdf"
    write_law_pdf(text[:4000], pdf)
    first = _upload(client, pdf, "public")
    second = _upload(client, pdf, "hr")
    folder = client.app.state.vinarag.originals.blobs.root
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert len(files) == 1 and files[0].read_bytes() == pdf.read_bytes()
    assert client.delete(f"/documents/{first}?collection=public").status_code == 200
    assert files[0].is_file()  # the hr document still names it
    assert client.get(f"/documents/{second}/original?collection=hr").status_code == 200
    assert client.delete(f"/documents/{second}?collection=hr").status_code == 200
    assert not files[0].exists()
    gone = client.get(f"/documents/{second}/original?collection=hr")
    assert gone.status_code == 404


def test_pages_answer_scopes_and_bad_requests_plainly(client, tmp_path):
    name, text = _law()
    pdf = tmp_path / f"{name}.pdf"
    pages = len(write_law_pdf(text[:3000], pdf))
    doc_id = _upload(client, pdf, "hr")
    docx = _upload(client, write_docx(tmp_path / "quy-che.docx", ["Quy chế làm việc."]), "hr")
    hidden = client.get(f"/documents/{doc_id}/pages/1?collection=hr", headers={"X-API-Key": READER})
    assert hidden.status_code == 404
    assert hidden.json()["detail"] == f"no document with id {doc_id} in collection 'hr'"
    for path in (f"/documents/{doc_id}/original", f"/documents/{doc_id}/highlight?page=1&quote=a"):
        refused = client.get(f"{path}{'&' if '?' in path else '?'}collection=hr",
                             headers={"X-API-Key": READER})  # fmt: skip
        assert refused.status_code == 404, path
    beyond = client.get(f"/documents/{doc_id}/pages/{pages + 1}?collection=hr")
    assert beyond.status_code == 404
    assert beyond.json()["detail"] == f"page {pages + 1}: the file has {pages} page(s)"
    flat = client.get(f"/documents/{docx}/pages/1?collection=hr")
    assert flat.status_code == 422 and "has no pages" in flat.json()["detail"]
    wide = client.get(f"/documents/{doc_id}/highlight?collection=hr&page=1&page_end=40&quote=a")
    assert wide.status_code == 422
    missing = client.get("/documents/no-such-doc/pages/1?collection=hr")
    assert missing.status_code == 404


def test_without_kept_originals_the_page_says_why(settings, tmp_path):
    configured = settings.model_copy(
        update={"ingest": settings.ingest.model_copy(update={"keep_originals": False})}
    )
    services = build_services(configured, location=":memory:", embedder=None)
    name, text = _law()
    pdf = tmp_path / f"{name}.pdf"
    write_law_pdf(text[:3000], pdf)
    try:
        with TestClient(create_app(configured, services=services)) as client:
            doc_id = _upload(client, pdf)
            answer = client.get(f"/documents/{doc_id}/pages/1")
            assert answer.status_code == 404
            assert "ingest.keep_originals" in answer.json()["detail"]
    finally:
        services.close()
    assert not (configured.data_dir / "originals").exists()


def test_a_quote_across_a_page_break_is_highlighted_on_both_pages(settings, tmp_path):
    lines = [f"Dòng thứ {n} của văn bản." for n in range(1, 59)]
    paragraph = (
        "Người lao động có quyền đơn phương chấm dứt hợp đồng lao động không cần báo trước "
        "trong trường hợp không được bố trí theo đúng công việc, địa điểm làm việc hoặc không "
        "được bảo đảm điều kiện làm việc theo thỏa thuận, trừ trường hợp quy định tại Điều 29 "
        "của Bộ luật này; không được trả đủ lương hoặc trả lương không đúng thời hạn."
    )
    pdf = tmp_path / "ngat-trang.pdf"
    write_law_pdf("\n".join([*lines, paragraph, "Dòng cuối."]), pdf)
    viewer = PageViewer(Originals(FolderBlobs(tmp_path / "kept")), settings.ingest)
    key = viewer.originals.keep(pdf)
    found = viewer.highlight(key, [1, 2], paragraph)
    assert [m.page for m in found.pages] == [1, 2]
    assert found.coverage >= 0.97
    boxed = "".join(_boxed_text(pdf, m.page, [b.__dict__ for b in m.boxes]) for m in found.pages)
    assert SequenceMatcher(None, letters(boxed), letters(paragraph)).ratio() >= 0.95
    assert viewer.highlight(key, [1], "Một câu không có trong văn bản này.").pages == ()


def test_a_scan_is_highlighted_from_the_words_ocr_kept(client, tmp_path):
    try:
        check_ocr("vie")
    except Exception as exc:  # noqa: BLE001 - what is missing is in the message
        need(False, str(exc))
    from PIL import Image, ImageDraw, ImageFont

    said = [
        "Điều 3. Quyền của người lao động",
        "Người lao động được trả lương phù hợp với trình độ.",
        "Người lao động được nghỉ theo chế độ và hưởng phúc lợi.",
    ]
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 44)
    image = Image.new("RGB", (2000, 600), "white")
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(said):
        draw.text((80, 80 + i * 120), line, fill="black", font=font)
    scan = tmp_path / "quyen-loi.png"
    image.save(scan)
    doc_id = _upload(client, scan)
    found = client.get(
        f"/documents/{doc_id}/highlight", params={"page": 1, "quote": said[1]}
    ).json()
    assert found["coverage"] >= 0.8
    (box,) = found["pages"][0]["boxes"]  # one line, the second
    assert 200 / 600 < (box["top"] + box["bottom"]) / 2 < 400 / 600
    folder = client.app.state.vinarag.originals.blobs.root
    assert [p.name for p in folder.rglob("*.tsv")] == ["1.tsv"]  # OCR's words kept
    png = client.get(f"/documents/{doc_id}/pages/1", params={"quote": said[1], "width": 500})
    assert Image.open(io.BytesIO(png.content)).size == (500, 150)


def test_letters_and_a_loose_match_of_a_quote():
    assert letters("Điều 8. Hành vi bị NGHIÊM CẤM;") == "đieu8hanhvibinghiemcam"
    line = "Người lao động, có quyền - làm việc ( theo hợp đồng )."
    glyphs = [Glyph(c, i / 100, 0.1, (i + 1) / 100, 0.12) for i, c in enumerate(line)]
    text = PageText(glyphs)
    exact = text.locate(letters("có quyền làm việc"))
    assert exact is not None and exact.matched == len(letters("có quyền làm việc"))
    loose = text.locate(letters("lao động có quyền được làm việc theo hợp đồng"))
    assert loose is not None
    (box,) = text.boxes(loose.start, loose.end)
    assert box.left == pytest.approx(line.index("lao") / 100)
    assert box.right == pytest.approx((line.index("đồng") + 4) / 100)
    assert text.locate(letters("bảo hiểm xã hội bắt buộc")) is None


def test_a_new_version_of_a_file_replaces_its_kept_original(client, settings, tmp_path):
    """Through an upload job and through `vinarag ingest`'s pipeline alike: the file a new
    version replaced is not kept for a document that no longer names it."""
    from tools.ingest.pipeline import ingest_paths

    folder = client.app.state.vinarag.originals.blobs.root
    rule = tmp_path / "quy-che.txt"
    for text in ("Nhân viên làm việc tám giờ mỗi ngày.", "Nhân viên làm việc bảy giờ mỗi ngày."):
        rule.write_text(text, "utf-8")
        sent = client.post(
            "/documents/files?wait=true",
            files={"files": (rule.name, rule.read_bytes(), "text/plain")},
        )
        assert sent.status_code == 200, sent.text
        kept = [p.read_text("utf-8") for p in folder.rglob("*.txt")]
        assert kept == [text]
    kb = client.app.state.vinarag.services.retrieval.kb
    local = tmp_path / "local"
    local.mkdir()
    note = local / "ghi-chu.txt"
    for text in ("Họp giao ban vào thứ hai.", "Họp giao ban vào thứ ba."):
        note.write_text(text, "utf-8")
        ingest_paths([note], kb, settings, progress=False)
        assert sum(p.read_text("utf-8") == text for p in folder.rglob("*.txt")) == 1
    assert len(list(folder.rglob("*.txt"))) == 2  # the upload's and the note's last versions


def test_a_blob_key_cannot_leave_its_folder(tmp_path):
    blobs = FolderBlobs(tmp_path / "kept")
    for key in ("../outside.pdf", "/etc/passwd", "a/../../b", ""):
        with pytest.raises(ValueError, match="a relative path without"):
            blobs.put(key, b"x")
    blobs.put("a/b.pdf", b"x")
    assert blobs.has("a/b.pdf") and not (tmp_path / "outside.pdf").exists()
    blobs.remove("a/")
    assert not blobs.has("a/b.pdf")

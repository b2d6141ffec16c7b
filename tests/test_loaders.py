import json
import shutil

import pytest

from tests.helpers import need, write_docx, write_encrypted_pdf, write_pdf
from tools.ingest.loaders import LoadError, decode_text, load_file

VI = "Fansipan là ngọn núi cao nhất Việt Nam, thuộc dãy Hoàng Liên Sơn."


def test_txt_utf8_with_bom(tmp_path):
    path = tmp_path / "nui_cao.txt"
    path.write_bytes("\ufeff".encode() + VI.encode("utf-8"))
    [doc] = load_file(path).documents
    assert doc.text == VI and doc.title == "nui cao" and doc.source == str(path)


def test_txt_utf16_with_bom(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(VI.encode("utf-16"))
    assert load_file(path).documents[0].text == VI


def test_mis_encoded_text_is_reported():
    with pytest.raises(LoadError, match="mis-encoded"):
        decode_text(b"\x81\x8d\x8f\x90\x9d" * 20)


def test_markdown_title_links_and_marks(tmp_path):
    path = tmp_path / "doc.md"
    path.write_text(
        "# Núi Fansipan\n\n**Fansipan** là [ngọn núi](http://x) cao nhất.\n- cao 3.143 m", "utf-8"
    )
    [doc] = load_file(path).documents
    assert doc.title == "Núi Fansipan"
    assert "Fansipan là ngọn núi cao nhất." in doc.text
    assert "http" not in doc.text and "**" not in doc.text and "cao 3.143 m" in doc.text


def test_html_drops_scripts_and_navigation(tmp_path):
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>Vịnh Hạ Long</title><script>var x=1</script></head>"
        "<body><nav>Trang chủ | Tin tức</nav><h1>Hạ Long</h1><p>Vịnh có gần 2.000 đảo.</p>"
        "<footer>Bản quyền</footer></body></html>",
        "utf-8",
    )
    [doc] = load_file(path).documents
    assert doc.title == "Vịnh Hạ Long"
    assert "Vịnh có gần 2.000 đảo." in doc.text
    assert "var x" not in doc.text and "Trang chủ" not in doc.text and "Bản quyền" not in doc.text


def test_pdf_text_and_page_count(tmp_path):
    path = write_pdf(tmp_path / "report.pdf", ["Ha Noi la thu do.", "Dan so 8 trieu."])
    [doc] = load_file(path).documents
    assert "Ha Noi la thu do." in doc.text and "Dan so 8 trieu." in doc.text
    assert doc.metadata["pages"] == 1


def test_encrypted_pdf_is_reported(tmp_path):
    plain = write_pdf(tmp_path / "plain.pdf", ["bi mat"])
    path = write_encrypted_pdf(tmp_path / "locked.pdf", plain)
    with pytest.raises(LoadError, match="encrypted PDF"):
        load_file(path)


def test_corrupt_pdf_is_reported(tmp_path):
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage")
    with pytest.raises(LoadError, match="PDF"):
        load_file(path)


def test_docx_paragraphs_tables_and_title(tmp_path):
    path = write_docx(tmp_path / "bai.docx", [VI, "Đỉnh núi cao 3.143 mét."], title="Fansipan")
    [doc] = load_file(path).documents
    assert doc.title == "Fansipan"
    assert VI in doc.text and "Tỉnh | Lào Cai" in doc.text


def test_corrupt_docx_is_reported(tmp_path):
    path = tmp_path / "broken.docx"
    path.write_bytes(b"PK\x03\x04 this is not a zip")
    with pytest.raises(LoadError, match="docx"):
        load_file(path)


def test_jsonl_keeps_metadata_and_reports_bad_lines(tmp_path):
    path = tmp_path / "docs.jsonl"
    lines = [
        json.dumps({"id": "a", "title": "A", "text": VI, "year": 2020}, ensure_ascii=False),
        "{not json",
        json.dumps({"id": "b", "title": "B"}),
        json.dumps(["a list"]),
        "",
        json.dumps({"title": "no id", "text": "Văn bản không có mã."}, ensure_ascii=False),
    ]
    path.write_text("\n".join(lines), "utf-8")
    loaded = load_file(path)
    assert [d.doc_id for d in loaded.documents][0] == "a"
    assert loaded.documents[0].metadata == {"year": 2020}
    assert loaded.documents[1].doc_id.endswith("-6")
    assert loaded.problems == [
        "line 2: invalid JSON (Expecting property name enclosed in double quotes)",
        "line 3: missing or empty 'text'",
        "line 4: expected an object, got list",
    ]


def test_unsupported_type_and_a_broken_image(tmp_path):
    path = tmp_path / "drawing.svg"
    path.write_text("<svg/>", "utf-8")
    with pytest.raises(LoadError, match="unsupported file type .svg"):
        load_file(path)
    broken = tmp_path / "image.png"
    broken.write_bytes(b"\x89PNG")
    need(shutil.which("tesseract") is not None, "tesseract not installed (make test installs it)")
    with pytest.raises(LoadError, match="OCR failed: tesseract: .*cannot be read"):
        load_file(broken)

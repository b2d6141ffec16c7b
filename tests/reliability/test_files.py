"""Hostile and careless files: bounded before they are parsed, cut to the chunk size, reported
in words a user can act on (no Python exception names), and never losing the good rest."""

import json
import re
import zipfile

import pytest

from tools.corpus.documents import DOC_ID_RULE
from tools.ingest.chunk import chunk_text, legal_pieces
from tools.ingest.loaders import load_file
from tools.ingest.pipeline import ingest_paths
from tools.services import build_services
from tools.settings import load_settings

PYTHON_NAMES = re.compile(r"\b\w*(Error|Exception)\b|Traceback|XML_PARSE")


def test_a_line_without_spaces_or_sentence_ends_is_cut_to_the_chunk_size():
    chunks = chunk_text("x" * 10_000 + " tiếp theo. " + "y" * 2_500, size=900, overlap=150)
    assert chunks and all(len(c) <= 900 for c in chunks)
    assert "".join(chunks).count("x") >= 10_000  # nothing lost (overlap may repeat)
    law = "Điều 1. " + "Tiêu đề rất dài " * 30 + "\n1. " + "Nội dung khoản một. " * 60
    pieces = legal_pieces(law + "\nĐiều 2. Ngắn\nNội dung.", size=300, overlap=50)
    assert pieces and all(len(p.text) <= 300 for p in pieces)  # a long heading repeated too


def _bomb(path, megabytes: int) -> None:
    """A DOCX whose document.xml unpacks to `megabytes` of one repeated paragraph."""
    paragraph = "<w:p><w:r><w:t>" + "Văn bản " * 100 + "</w:t></w:r></w:p>"
    body = paragraph * (megabytes * 2**20 // len(paragraph.encode()))
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w='
        '"http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
        + body
        + "</w:body></w:document>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", xml)
        archive.writestr("[Content_Types].xml", "<Types/>")


def test_a_compression_bomb_is_refused_before_it_is_parsed(tmp_path):
    bomb = tmp_path / "bomb.docx"
    _bomb(bomb, 24)
    assert bomb.stat().st_size < 2**20  # under a megabyte on disk
    settings = load_settings(dense={"backend": "none"}, ingest={"max_unpacked_mb": 16})
    services = build_services(settings, location=":memory:")
    try:
        report = ingest_paths([bomb], services.retrieval.kb, settings, progress=False)
    finally:
        services.close()
    [(source, reason)] = report.failed
    assert reason == "too large when unpacked: 24 MB (ingest.max_unpacked_mb is 16)"


@pytest.mark.slow
def test_failure_reasons_name_no_python_internals(tmp_path, vinarag):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "broken.docx").write_bytes(b"PK\x03\x04 not really a zip")
    (folder / "broken.xlsx").write_bytes(b"not a zip")
    with zipfile.ZipFile(folder / "empty.pptx", "w") as archive:
        archive.writestr("nothing.txt", "x")
    (folder / "ok.txt").write_text("Hội An là phố cổ ở Quảng Nam.", "utf-8")
    report = json.loads(vinarag("ingest", str(folder), "--quiet", "--json").stdout)
    assert len(report["added"]) == 1 and len(report["failed"]) == 3
    for failure in report["failed"]:
        assert not PYTHON_NAMES.search(failure["reason"]), failure


def test_one_bad_jsonl_line_loses_only_itself(tmp_path):
    path = tmp_path / "docs.jsonl"
    good = [{"id": f"d{i}", "text": f"Văn bản số {i} bằng tiếng Việt."} for i in range(4)]
    lines = [json.dumps(g, ensure_ascii=False) for g in good]
    lines.insert(2, '{"id": "deep", "text": "x", "m": ' + "[" * 100_000 + "]" * 100_000 + "}")
    lines.append(json.dumps({"id": "big", "text": "Văn bản.", "n": 10**30}))
    lines.append(json.dumps({"id": "../etc", "text": "Văn bản."}))
    path.write_text("\n".join(lines), "utf-8")
    loaded = load_file(path)
    assert [d.doc_id for d in loaded.documents] == ["d0", "d1", "d2", "d3"]
    assert loaded.problems == [
        "line 3: JSON nested too deeply",
        "line 6: metadata 'n': integer outside 64 bits",
        "line 7: id '../etc': use " + DOC_ID_RULE,
    ]


def test_a_store_held_by_another_process_is_one_clear_line(tmp_path, vinarag):
    from tools.kb.factory import build_knowledge_base

    held = build_knowledge_base(load_settings(data_dir=str(tmp_path / "data")))
    try:
        result = vinarag("documents")
    finally:
        held.close()
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "is open in another process" in line and "QDRANT_URL" in line


def test_html_nested_past_the_bound_is_refused_before_parsing(tmp_path):
    from tools.ingest.loaders import LoadError

    deep = tmp_path / "deep.html"
    deep.write_text("<html><body>" + "<div>" * 20_000 + "Hà Nội." + "</div>" * 20_000, "utf-8")
    try:
        load_file(deep)
    except LoadError as exc:
        assert str(exc) == "nested too deeply: 20002 levels of HTML tags (at most 1000)"
    else:
        raise AssertionError("a 20,000-deep page was parsed")
    fine = tmp_path / "fine.html"
    fine.write_text("<html><body>" + "<div>" * 500 + "Hà Nội là thủ đô." + "</div>" * 500, "utf-8")
    assert "Hà Nội là thủ đô." in load_file(fine).documents[0].text


def test_a_file_that_never_ends_is_stopped_at_the_time_limit_and_the_next_is_read(tmp_path):
    """A read that never returns (here a pipe nobody writes to, as a stalled mount would) costs
    the reader process, killed at `ingest.read_timeout_s`; a fresh one reads the next file.
    What is checked is the mechanism (that reader killed, another started), not how fast: the
    next file is read under a limit no busy machine can miss."""
    import os

    from tools.ingest.loaders import LoadError
    from tools.ingest.reader import FileReader
    from tools.settings import IngestSettings

    stalled = tmp_path / "stalled.txt"
    os.mkfifo(stalled)
    good = tmp_path / "good.txt"
    good.write_text("Hà Nội là thủ đô của Việt Nam.", "utf-8")
    with FileReader(IngestSettings(read_timeout_s=0.5)) as reader:
        reader._start()
        first = reader._process
        assert first is not None
        with pytest.raises(
            LoadError, match=r"^took too long to read: over ingest.read_timeout_s=0.5 s$"
        ):
            reader.read(stalled)
        assert first.poll() is not None  # the stalled reader was killed (and reaped)
        reader.settings = IngestSettings(read_timeout_s=600)
        assert reader.read(good).documents[0].text == "Hà Nội là thủ đô của Việt Nam."
        assert reader._process is not None and reader._process.pid != first.pid


@pytest.mark.slow
def test_a_file_past_the_readers_memory_ceiling_is_reported_and_the_rest_go_in(tmp_path):
    big = tmp_path / "big.txt"
    big.write_text(("Hà Nội là thủ đô của Việt Nam. " * 1000 + "\n") * 3500, "utf-8")  # 150 MB
    good = tmp_path / "good.txt"
    good.write_text("Thành phố Hồ Chí Minh là thành phố lớn nhất Việt Nam.", "utf-8")
    settings = load_settings(
        dense={"backend": "none"}, ingest={"max_file_mb": 500, "read_memory_mb": 256}
    )
    services = build_services(settings, location=":memory:")
    try:
        report = ingest_paths([big, good], services.retrieval.kb, settings, progress=False)
    finally:
        services.close()
    assert report.failed == [
        (str(big), "too large to read: needs more than ingest.read_memory_mb=256 MB")
    ]
    assert report.added == ["good-" + report.added[0].split("-")[-1]]


BOMB_INGEST = """
import sys, time
from pathlib import Path
from tools.ingest.pipeline import ingest_paths
from tools.services import build_services
from tools.settings import load_settings
settings = load_settings(dense={"backend": "none"})
services = build_services(settings, location=":memory:", embedder=None)
start = time.perf_counter()
report = ingest_paths([Path(p) for p in sys.argv[1:]], services.retrieval.kb, settings, False)
seconds = time.perf_counter() - start
# This process's own peak (VmHWM: ru_maxrss would carry the parent's across exec).
status = Path("/proc/self/status").read_text()
peak_mb = int(next(l.split()[1] for l in status.splitlines() if l.startswith("VmHWM"))) / 1024
print(len(report.failed), round(seconds, 1), round(peak_mb))
"""


@pytest.mark.slow
def test_a_300_mb_bomb_is_refused_within_bounded_memory_and_time(tmp_path):
    """The issue's case at its size: a docx under a few MB that unpacks to 300 MB. Refused by
    the default bound, in a process that stays under 512 MB and answers in seconds (the file is
    read in a child process; the bound keeps that one small too)."""
    import subprocess
    import sys

    bomb = tmp_path / "bomb.docx"
    _bomb(bomb, 300)
    assert bomb.stat().st_size < 4 * 2**20
    result = subprocess.run(
        [sys.executable, "-c", BOMB_INGEST, str(bomb)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    failed, seconds, peak_mb = result.stdout.split()
    assert failed == "1"
    assert int(peak_mb) < 512 and float(seconds) < 30  # seen: 130 MB, 0.0 s (a .txt: 131 MB)


@pytest.mark.slow
def test_a_blank_2000_page_pdf_is_refused_at_once_not_sent_to_ocr(tmp_path):
    """Row 7 of the probe: a 250 KB PDF of 2,000 blank pages held the job queue for the whole
    read timeout, each page rasterised and sent to OCR. Blank pages (no image, next to no
    drawing) have nothing to read: none is sent to OCR."""
    from pypdf import PdfWriter

    from tools.ingest.loaders import LoadError
    from tools.ingest.pdf import load_pdf
    from tools.settings import IngestSettings

    writer = PdfWriter()
    for _ in range(2000):
        writer.add_blank_page(595, 842)
    blank = tmp_path / "blank.pdf"
    writer.write(blank)
    assert blank.stat().st_size < 300_000
    # With OCR languages no Tesseract has, any page sent to OCR would fail differently.
    settings = IngestSettings(ocr="always", ocr_languages="no-such-language")
    with pytest.raises(LoadError, match="^no text found: all 2000 pages are blank$"):
        load_pdf(blank, settings)

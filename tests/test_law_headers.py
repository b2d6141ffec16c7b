"""Headers of real laws (`../shared/data/laws-vn/`, 204 laws and codes as published) read in
every layout users have them in: the type and the name on two lines or on one, the name in
capitals or in sentence case under a capitalised type (decrees, circulars), "(VĂN BẢN HỢP
NHẤT)" on the title line, extra spaces and blank lines. The variants are made from the real
headers, not written by hand."""

from __future__ import annotations

import pytest

from tests.helpers import LAWS_VN
from tools.ingest.legal import LegalHeader, parse_header
from tools.text.clean import clean_text

LAWS = LAWS_VN


def _laws() -> list[tuple[str, str]]:
    if not LAWS.is_dir():
        pytest.skip(f"{LAWS} is not here")
    return [(p.name, clean_text(p.read_text("utf-8"))) for p in sorted(LAWS.glob("*.txt"))]


@pytest.mark.slow
def test_the_headers_of_real_laws_are_read():
    laws = _laws()
    headers = [parse_header(text) for _, text in laws]
    whole = [h for h in headers if h.kind and h.name and (h.number or h.date)]
    assert len(laws) >= 200 and len(whole) / len(laws) >= 0.98
    assert all(h.label and h.kind in h.label for h in whole)
    names = [h.name.lower() for h in whole if h.name]
    # the session that passed a law, or an old law's number and date, is no part of its name
    assert not [n for n in names if "kỳ họp" in n or n.startswith("số ")]


def _two_line(text: str, header: LegalHeader) -> tuple[list[str], int, int] | None:
    """The lines, where the type line is and where the name's first line is."""
    lines = text.splitlines()
    kind = (header.kind or "").upper()
    for i, line in enumerate(lines[:40]):
        words = " ".join(line.split())
        if words == kind:
            following = next(j for j in range(i + 1, len(lines)) if lines[j].strip())
            return lines, i, following
        if words.startswith(f"{kind} "):
            return None  # the title stands on one line already
    return None


def _variants(text: str, header: LegalHeader) -> dict[str, str]:
    found = _two_line(text, header)
    if found is None:
        return {}
    lines, kind_at, name_at = found
    kind, name = lines[kind_at].strip(), lines[name_at].strip()
    if " ".join(name.split()).lower() != (header.name or "").lower():
        return {}  # the name read is not that line's (a law whose title stands elsewhere)

    def with_lines(new: list[str]) -> str:
        return "\n".join([*lines[:kind_at], *new, *lines[name_at + 1 :]])

    return {
        "one line": with_lines([f"{kind} {name}"]),
        "one line, consolidated": with_lines([f"{kind} {name} (VĂN BẢN HỢP NHẤT)"]),
        "sentence case under the type": with_lines([kind, name[:1] + name[1:].lower()]),
        "spaces and blank lines": with_lines([f"  {kind}  ", "", f" {'  '.join(name.split())} "]),
    }


@pytest.mark.slow
def test_every_layout_of_a_real_header_reads_the_same():
    checked = 0
    for file, text in _laws():
        header = parse_header(text)
        if not (header.kind and header.name):
            continue
        for layout, variant in _variants(text, header).items():
            again = parse_header(variant)
            assert (again.kind, (again.name or "").lower()) == (
                header.kind,
                header.name.lower(),
            ), (file, layout)
            assert again.number == header.number and again.date == header.date, (file, layout)
            assert again.consolidated == (layout == "one line, consolidated"), (file, layout)
            checked += 1
    # laws whose title line holds more than the name (older laws: their number, date and
    # issuer around it) are not laid out again
    assert checked >= 4 * 185


def test_a_decree_with_a_summary_in_sentence_case():
    header = parse_header(
        "\n".join(
            [
                "CHÍNH PHỦ",
                "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                "Số: 102/2024/NĐ-CP",
                "Hà Nội, ngày 30 tháng 7 năm 2024",
                "NGHỊ ĐỊNH",
                "Quy định chi tiết thi hành một số điều",
                "của Luật Đất đai",
                "Căn cứ Luật Tổ chức Chính phủ ngày 19 tháng 6 năm 2015;",
            ]
        )
    )
    assert header.kind == "Nghị định" and header.issuer == "Chính phủ"
    assert header.name == "Quy định chi tiết thi hành một số điều của Luật Đất đai"
    assert header.label == (
        "Nghị định Quy định chi tiết thi hành một số điều của Luật Đất đai (102/2024/NĐ-CP)"
    )


def test_lines_that_only_look_like_a_title_are_not_one():
    header = parse_header("QUỐC HỘI\nLUẬT SỐ: 24/2018/QH14\nLUẬT\nAN NINH MẠNG\nĐiều 1. Phạm vi")
    assert (header.kind, header.name, header.number) == ("Luật", "An ninh mạng", "24/2018/QH14")


@pytest.mark.parametrize(
    ("closing", "effective"),
    [
        ("Luật này có hiệu lực thi hành từ ngày 01 tháng 01 năm 2012.", "2012-01-01"),
        ("Luật này có hiệu lực thi hành từ ngày 01 tháng 01 ngày 2012.", "2012-01-01"),  # a slip
        ("Luật này có hiệu lực thi hành từ năm ngân sách 2017.", "2017-01-01"),
        ("Luật này có hiệu lực kể từ ngày ký.", "2015-06-25"),
    ],
)
def test_the_effective_date_as_real_laws_write_it(closing, effective):
    text = (
        "QUỐC HỘI\nLuật số: 83/2015/QH13\nHà Nội, ngày 25 tháng 6 năm 2015\nLUẬT\nNGÂN SÁCH\n"
        f"Điều 1. Phạm vi\nLuật này quy định về ngân sách.\nĐiều 2. Hiệu lực\n{closing}\n"
    )
    assert parse_header(text).effective == effective


@pytest.mark.parametrize(
    ("title", "name"),
    [
        (
            "CỦA QUỐC HỘI NƯỚC CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM SỐ 15/2003/QH11 NGÀY 26 "
            "THÁNG 11 NĂM 2003 VỀ THI ĐUA, KHEN THƯỞNG",
            "Thi đua, khen thưởng",
        ),
        (
            "CỦA QUỐC HỘI NƯỚC CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM SỐ 28/2001/QH10 "
            "VỀ DI SẢN VĂN HOÁ",
            "Di sản văn hoá",
        ),  # fmt: skip
        (
            "THUẾ SỬ DỤNG ĐẤT NÔNG NGHIỆP SỐ 23-L/CTN NGÀY 10/07/1993 CỦA QUỐC HỘI",
            "Thuế sử dụng đất nông nghiệp",
        ),  # fmt: skip
        ("THỐNG KÊ SỐ LIỆU", "Thống kê số liệu"),  # "số" without a number is the name's
    ],
)
def test_an_older_law_is_named_without_its_number_date_and_issuer(title, name):
    header = parse_header(f"QUỐC HỘI\n\nLUẬT\n{title}\nĐiều 1. Phạm vi điều chỉnh\n")
    assert (header.kind, header.name) == ("Luật", name)

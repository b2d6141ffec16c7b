"""Vietnamese legal and administrative documents: the header block (số hiệu, type, issuing body,
date) and the article structure (Phần, Chương, Mục, Điều, Khoản, điểm) that their readers cite.

A law is read and cited by article, so it is chunked by article: one article per chunk when it
fits, a long one split at its clauses (then its points) with the article heading repeated."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tools.corpus.references import ArticleRef
from tools.text.law_names import YEAR_IN_NUMBER, law_key, numbers_in
from tools.text.normalize import match_key

# Document types, longest first so that "Bộ luật" wins over "Luật".
DOCUMENT_TYPES = (
    "Hiến pháp",
    "Bộ luật",
    "Luật",
    "Pháp lệnh",
    "Nghị quyết",
    "Nghị định",
    "Thông tư liên tịch",
    "Thông tư",
    "Quyết định",
    "Chỉ thị",
    "Công văn",
    "Thông báo",
    "Quy chế",
    "Quy định",
    "Hợp đồng",
    "Kế hoạch",
    "Báo cáo",
    "Tờ trình",
)
_TYPE_KEYS = {match_key(t): t for t in DOCUMENT_TYPES}
_NUMBER = re.compile(r"\b(?:[Ss]ố|SỐ)(?:\s+(?:hiệu|HIỆU))?\s*:\s*(\d[\w.-]*/[\w./-]*\w)")
# "75/2006/QH 11": a space typed inside the issuer's code, read whole
_SPLIT_CODE = re.compile(r"[A-ZĐ] (\d{1,2})\b")
_DATE = re.compile(r"ngày\s+(\d{1,2})\s+tháng\s+(\d{1,2})\s+năm\s+(\d{4})", re.IGNORECASE)
# "có hiệu lực (thi hành) (kể) từ ngày 01 tháng 01 năm 2026", "... từ ngày ký" (its date), or
# "... từ năm ngân sách 2017" (the year's first day); "ngày 2012" for "năm 2012" is a slip
# real laws make.
_EFFECTIVE = re.compile(
    r"có\s+hiệu\s+lực(?:\s+thi\s+hành)?(?:\s+kể)?\s+từ\s+(?:ngày\s+ký|"
    r"ngày\s+(\d{1,2})\s+tháng\s+(\d{1,2})\s+(?:năm|ngày)\s+(\d{4})|"
    r"năm(?:\s+ngân\s+sách)?\s+(\d{4}))",
    re.IGNORECASE,
)
# A sentence saying what the document replaces: "thay thế Luật ... số 12/2019/QH14", "Luật ...
# số 12/2019/QH14 hết hiệu lực kể từ ngày Luật này có hiệu lực". Sentences are cut first and
# then searched: a pattern spanning "[^.;\n]*" on both sides of the words is quadratic in a
# text without punctuation (40,000 characters: 48 s).
_SENTENCE_END = re.compile(r"[.;\n]")
_REPLACES = re.compile(r"thay\s+thế|hết\s+hiệu\s+lực", re.IGNORECASE)
_AMENDING = "sửa đổi, bổ sung một số điều của "
_CONSOLIDATED = "van ban hop nhat"
_CONSOLIDATED_KEY = "(van ban hop nhat)"
_CONSOLIDATED_MARK = re.compile(r"\(\s*VĂN\s+BẢN\s+HỢP\s+NHẤT\s*\)", re.IGNORECASE)
# Where a preamble opens, under the title: the name ends before it.
_PREAMBLE = ("Căn cứ", "Theo đề nghị", "Xét", "Thực hiện", "Để ", "Quốc hội ban hành")
_HEAD_CHARS = 8000  # the header block is read from the text's opening only
_LONGEST_SUMMARY = 300  # characters of one line of a decree's summary under its type
_ISSUER_KEYS = ("quoc hoi", "chinh phu", "uy ban thuong vu", "chu tich nuoc")
# Laws of the 1950s-1990s open their name with their number and date: "SỐ 18-L/CTN NGÀY
# 06/07/1993 CỦA QUỐC HỘI VỀ DẦU KHÍ" is the law on "Dầu khí".
_ISSUER = r"(?:quốc\s+hội|chủ\s+tịch\s+nước|chính\s+phủ|hội\s+đồng\s+nhà\s+nước)"
_COUNTRY = r"(?:\s+nước\s+cộng\s+\S+\s+xã\s+hội\s+chủ\s+nghĩa\s+việt\s+nam)?"
_ON = r"(?:\s+ngày\s+(?:\S+\s+tháng\s+\S+\s+năm\s+\S+|\S+))"
# Older laws name themselves with their number, date and issuer around the name: "của Quốc hội
# nước Cộng hoà xã hội chủ nghĩa Việt Nam số 15/2003/QH11 ngày 26 tháng 11 năm 2003 về thi đua,
# khen thưởng", "số 28/2001/QH10 về di sản văn hoá", "thuế sử dụng đất nông nghiệp số 23-L/CTN
# ngày 10/07/1993 của Quốc hội": what stands around the name is dropped.
_OLD_STYLE_PREFIX = re.compile(
    rf"^(?:của\s+{_ISSUER}{_COUNTRY}\s+)?số\s+(?=\S*\d)\S+{_ON}?(?:\s+của\s+{_ISSUER}{_COUNTRY})?"
    r"\s+(?:về\s+)?(?=\S)",
    re.IGNORECASE,
)
_OLD_STYLE_SUFFIX = re.compile(
    rf"\s+số\s+(?=\S*\d)\S+{_ON}?(?:\s+của\s+{_ISSUER}{_COUNTRY})?\s*$", re.IGNORECASE
)
_SESSION = re.compile(r"\bky hop\b|\bkhoa [ivxlc]+\b")  # the session that passed it
_TITLED_KINDS = ("Luật", "Bộ luật", "Pháp lệnh", "Hiến pháp")  # named, not summarised
_ANY_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
_NATIONAL_MOTTO = ("cong hoa xa hoi", "doc lap", "dan chu cong hoa")

# An outline heading: its number, then a title after a separator or (without one) in capitals.
# The pattern takes the number and the rest of the line; the title is read from the rest in
# Python (`_outline`): a pattern that also chose between the two kinds of title backtracked
# cubically over a line of spaces (3,000: 49 s).
_REST = r"(?=$|[\s.:\u2013-])(.*)$"
_PART = re.compile(r"^\s*(?:Phần|PHẦN)\s+((?:thứ|THỨ)\s+[^\W\d_]+|[IVXLC]+|\d+)" + _REST)
_CHAPTER = re.compile(r"^\s*(?:Chương|CHƯƠNG)\s+([IVXLCDM]+|\d+)" + _REST)
_SECTION = re.compile(r"^\s*(?:Mục|MỤC)\s+(\d+)" + _REST)
_SEPARATORS = ".:\u2013-"
# The outline level each heading pattern reads, by the capital it opens with (Phần / PHẦN ...).
_OUTLINE = {"P": ("phan", _PART), "C": ("chuong", _CHAPTER), "M": ("muc", _SECTION)}
# An article heading: "Điều 12." / "Điều 12:" then its title, or "Điều 12 Title" (capitalised).
# "Điều 8. Title", "Điều 8: Title", "Điều 8 Title", or "Điều 8" alone (older laws' articles
# have no title: the line after it is the article's text)
_ARTICLE = re.compile(
    r"^\s*(?:Điều|ĐIỀU)\s+(\d+[a-zđ]?)(?:\s*[.:]\s*(.*)|\s+([A-ZĐÀ-Ỹ].*)|\s*)\s*$"
)
_CLAUSE = re.compile(r"^\s*(\d{1,3})\.\s+\S")
_POINT = re.compile(r"^\s*([a-zđ])\)\s+\S")


def _outline(pattern: re.Pattern[str], line: str) -> tuple[str, str] | None:
    """(number, title) of an outline heading ("Chương II. QUY ĐỊNH CHUNG", "Mục 1 NGUYÊN TẮC");
    None when the line is not one (a sentence that starts "Chương I có ...")."""
    match = pattern.match(line)
    if match is None:
        return None
    rest = match.group(2)
    title = rest.strip()
    if not title:
        return match.group(1), ""
    if title[0] in _SEPARATORS:
        return match.group(1), title[1:].strip()
    if rest[0].isspace() and not any(c.islower() for c in title):
        return match.group(1), title
    return None


@dataclass
class LegalHeader:
    """What the header block of an official document says about it (all optional)."""

    number: str | None = None  # số hiệu: "24/2018/QH14"
    kind: str | None = None  # loại: "Luật"
    name: str | None = None  # the title after the type line: "An ninh mạng"
    issuer: str | None = None  # cơ quan ban hành: "Quốc hội"
    date: str | None = None  # ISO date: "2018-06-12"
    year: int | None = None
    effective: str | None = None  # ISO date the text says it takes effect
    amends: str | None = None  # the law an amending law amends, as its title names it
    replaces: tuple[str, ...] = ()  # numbers of the documents it replaces
    consolidated: bool = False  # a "văn bản hợp nhất": a law with its amendments merged in

    @property
    def official(self) -> bool:
        """A type line and a number or a date: the header of an official document."""
        return self.kind is not None and (self.number is not None or self.date is not None)

    @property
    def label(self) -> str | None:
        """How a reader names the document: its name, year and number, "Bộ luật Dân sự 2015
        (91/2015/QH13)" (the year tells versions of one law apart at a glance; a decree's name
        is a summary, which a year would only confuse)."""
        title = " ".join(p for p in (self.kind, self.name) if p)
        if not title:
            return self.number
        if self.year and self.kind in _TITLED_KINDS and not _ANY_YEAR.search(title):
            title = f"{title} {self.year}"
        return f"{title} ({self.number})" if self.number else title

    def metadata(self) -> dict[str, object]:
        values = {
            "so_hieu": self.number,
            "loai": self.kind,
            "ten": self.name,
            "co_quan": self.issuer,
            "ngay": self.date,
            "nam": self.year,
            "hieu_luc": self.effective,
            "sua_doi": self.amends,
            "thay_the": list(self.replaces) or None,
            "hop_nhat": self.consolidated or None,
        }
        return {k: v for k, v in values.items() if v is not None}


def _sentence_case(line: str) -> str:
    """ "AN NINH MẠNG" -> "An ninh mạng" (headers are set in capitals)."""
    line = " ".join(line.split())
    return line[:1].upper() + line[1:].lower() if line.isupper() else line


def _iso(day: str, month: str, year: str) -> str | None:
    d, m, y = int(day), int(month), int(year)
    return f"{y:04d}-{m:02d}-{d:02d}" if 1 <= d <= 31 and 1 <= m <= 12 else None


def _validity(text: str, header: LegalHeader) -> None:
    """When the text takes effect, and what it replaces, as its closing articles say."""
    if effective := _EFFECTIVE.search(text):
        day, month, year, whole_year = effective.groups()
        if day is not None:
            header.effective = _iso(day, month, year)
        elif whole_year is not None:
            header.effective = f"{whole_year}-01-01"
        else:
            header.effective = header.date
    replaced: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        if _REPLACES.search(sentence):
            numbers = numbers_in(sentence)
            replaced += [n for n in numbers if n != header.number and n not in replaced]
    header.replaces = tuple(replaced)


def _kind_and_rest(line: str) -> tuple[str, str] | None:
    """The document type a title line opens with, and the rest of the line: "LUẬT" -> ("Luật",
    ""), "BỘ LUẬT DÂN SỰ" -> ("Bộ luật", "DÂN SỰ"); None for a line that is no title
    ("LUẬT SỐ: 24/2018/QH14", the motto)."""
    words = line.split()
    for size in (3, 2, 1):  # longest first: "Thông tư liên tịch" before "Thông tư"
        kind = _TYPE_KEYS.get(match_key(" ".join(words[:size])))
        if kind is None:
            continue
        rest = " ".join(words[size:])
        if not rest or law_key(rest).startswith(_CONSOLIDATED_KEY):
            return kind, rest
        if rest[:1].isalnum() and not _NUMBER.match(rest):  # "LUẬT SỐ: 24/2018/QH14"
            return kind, rest
        return None
    return None


def _name_lines(following: list[str]) -> list[str]:
    """The name under a type line: the next line or two in capitals ("AN NINH MẠNG"), or a
    summary in sentence case under a decree's or a circular's type ("Quy định chi tiết ...")
    up to the line that opens the preamble."""
    name: list[str] = []
    following = [line for line in following if line][:3]  # blank lines between are layout
    upper = bool(following) and following[0].isupper()
    for line in following[:2] if upper else following:
        if line.isupper() != upper or line.startswith(_PREAMBLE):
            break
        key = law_key(line)
        if key.startswith(_ISSUER_KEYS) or _SESSION.search(key):  # "QUỐC HỘI KHÓA XII, ..."
            break
        if not upper and (len(line) > _LONGEST_SUMMARY or line[-1] in ".;:"):
            break  # a sentence of the preamble, not a summary
        if _ARTICLE.match(line) or _outline(_CHAPTER, line):
            break
        name.append(line)
    return name


def parse_header(text: str, lines: int = 40) -> LegalHeader:
    """Read the header block (the first lines, before the first article), and what the whole
    text says of its validity."""
    head = text[:_HEAD_CHARS].splitlines()[:lines]
    header = LegalHeader()
    block = "\n".join(head)
    if number := _NUMBER.search(block):
        header.number = number.group(1).rstrip(".")
        if split := _SPLIT_CODE.match(block, number.end() - 1):
            header.number += split.group(1)
    if (date := _DATE.search(block)) and (iso := _iso(*date.groups())):
        header.date, header.year = iso, int(date.group(3))
    if header.year is None and header.number and (y := YEAR_IN_NUMBER.search(header.number)):
        header.year = int(y.group(1))
    stripped = [" ".join(line.split()) for line in head]
    for i, line in enumerate(stripped):
        if _ARTICLE.match(line) or _outline(_CHAPTER, line):
            break
        if law_key(line) == _CONSOLIDATED:
            header.consolidated = True
            continue
        if not line.isupper() or (found := _kind_and_rest(line)) is None:
            continue
        header.kind, rest = found
        if (bare := _CONSOLIDATED_MARK.sub("", rest)) != rest:  # "(VĂN BẢN HỢP NHẤT)" in line
            header.consolidated, rest = True, bare.strip()
        name = [rest] if rest else _name_lines(stripped[i + 1 : i + 6])
        if name:
            bare = _OLD_STYLE_SUFFIX.sub("", _OLD_STYLE_PREFIX.sub("", " ".join(name)))
            header.name = _sentence_case(bare)
        break
    if header.name and header.name.lower().startswith(_AMENDING):
        amended = header.name[len(_AMENDING) :]
        header.amends = amended[:1].upper() + amended[1:]
    _validity(text, header)
    for line in stripped[:6]:  # the issuing body opens the header, before the motto
        if not line or not line.isupper():
            continue
        if any(m in match_key(line) for m in _NATIONAL_MOTTO) or _NUMBER.search(line):
            continue
        header.issuer = _sentence_case(line)
        break
    return header


@dataclass
class Article:
    number: str
    heading: str  # "Điều 8. Các hành vi bị nghiêm cấm"
    body: list[str]  # its lines after the heading
    path: dict[str, str] = field(default_factory=dict)  # phan / chuong / muc above it

    @property
    def title(self) -> str:
        """The heading without its number: "Các hành vi bị nghiêm cấm"."""
        return self.heading.split(".", 1)[1].strip() if "." in self.heading else ""


def _title_line(lines: list[str], i: int) -> bool:
    """The line after a Chương / Mục heading holds its title (set in capitals)."""
    following = lines[i + 1].strip() if i + 1 < len(lines) else ""
    return bool(following) and following.isupper() and not _ARTICLE.match(following)


def split_articles(text: str) -> tuple[str, list[Article]]:
    """The preamble (text before the first article) and the articles, each with its place in
    the Phần / Chương / Mục outline. No articles: ("text", [])."""
    lines = text.splitlines()
    path: dict[str, str] = {}
    preamble: list[str] = []
    articles: list[Article] = []
    title_of: str | None = None  # the outline level whose title the next line holds
    for i, line in enumerate(lines):
        if title_of is not None:
            path[f"{title_of}_ten"] = _sentence_case(line.strip())
            title_of = None
            continue
        initial = line.lstrip()[:1]  # each heading pattern opens with its own capital
        outline = _OUTLINE.get(initial)
        found = _outline(outline[1], line) if outline is not None else None
        if outline is not None and found is not None:
            key, (number, title) = outline[0], found
            keep = {"phan": (), "chuong": ("phan",), "muc": ("phan", "chuong")}[key]
            path = {k: v for k, v in path.items() if k.split("_")[0] in keep}
            path[key] = number.lower() if number.lower().startswith("thứ") else number
            if title:
                path[f"{key}_ten"] = _sentence_case(title)
            elif _title_line(lines, i):
                title_of = key
            continue
        if initial == "Đ" and (article := _ARTICLE.match(line)):
            title = (article.group(2) or article.group(3) or "").strip()
            heading = f"Điều {article.group(1)}. {title}".strip()
            articles.append(Article(article.group(1), heading.rstrip(". "), [], dict(path)))
        elif articles:
            articles[-1].body.append(line)
        else:
            preamble.append(line)
    return "\n".join(preamble), articles


def _units(lines: list[str], pattern: re.Pattern[str]) -> list[tuple[str | None, str]]:
    """Lines grouped into numbered units (clauses "1.", or points "a)"): (label, text). Text
    before the first unit has no label."""
    units: list[tuple[str | None, list[str]]] = [(None, [])]
    for line in lines:
        if match := pattern.match(line):
            units.append((match.group(1), [line.strip()]))
        elif line.strip():
            units[-1][1].append(line.strip())
    return [(label, " ".join(body)) for label, body in units if body]


def article_clauses(article: Article) -> list[tuple[str, str]]:
    """The article's numbered clauses ("1. ...") as (number, text with its number), in order."""
    return [(label, text) for label, text in _units(article.body, _CLAUSE) if label]


@dataclass
class ArticlePiece:
    text: str  # with the article heading first
    clauses: list[str]  # the clause numbers it holds (empty: the whole article, or no clauses)


def article_pieces(article: Article, size: int) -> list[ArticlePiece]:
    """The article as one piece when it fits in `size` characters; else its clauses, packed in
    order while they fit, each piece opening with the article heading. A clause too long on its
    own is split at its points the same way; a point too long is cut by the caller."""
    body = [line for line in article.body if line.strip()]
    whole = "\n".join([article.heading + ".", *[line.strip() for line in body]])
    if len(whole) <= size:
        return [ArticlePiece(whole, [])]
    pieces: list[ArticlePiece] = []
    current: list[str] = []
    labels: list[str] = []

    def flush() -> None:
        if current:
            pieces.append(ArticlePiece("\n".join([article.heading + ".", *current]), labels[:]))
            current.clear()
            labels.clear()

    room = size - len(article.heading) - 2
    for label, text in _units(body, _CLAUSE):
        parts = [text]
        if len(text) > room:  # one clause longer than a chunk: its points, then the caller cuts
            points = _units(text.replace("; ", ";\n").splitlines(), _POINT)
            parts = [p for _, p in points] if len(points) > 1 else [text]
        for part in parts:
            if current and sum(len(c) + 1 for c in current) + len(part) > room:
                flush()
            current.append(part)
            if label and label not in labels:
                labels.append(label)
    flush()
    return pieces


# "Điều 5", "khoản 2 Điều 5", "điểm a khoản 2 Điều 5", "các Điều 5, 6 và 7", then whose: "của
# Luật này" (this document), "của Luật Đất đai năm 2024", "Nghị định 15/2026/NĐ-CP" (another).
_NAME_WORD = (
    r"(?!(?:Điều|điều|khoản|điểm|và|hoặc|theo|tại|thì|bị|được|phải|của|về|trong|khi|nếu|quy|"
    r"đã|sẽ|có|không|cho|để|với)(?!\w))[^\s,;.:()]+"
)
_REFERENCE = re.compile(
    r"(?:(?:điểm|Điểm)\s+[a-zđ]\s+)?(?:(?:khoản|Khoản)\s+(\d{1,3})\s+)?"
    r"(?<!\w)Điều\s+(\d{1,4}[a-zđ]?(?:\s*(?:,|và|hoặc)\s*\d{1,4}[a-zđ]?(?!\w))*)(?!\w)"
    r"(?:\s+(?:của\s+|tại\s+)?(?P<whose>(?:Hiến pháp|Bộ luật|Luật|Pháp lệnh|Nghị quyết|"
    rf"Nghị định|Thông tư|Quyết định)(?:\s+(?:số\s+)?{_NAME_WORD}){{1,8}}))?"
)
_THIS = re.compile(
    r"^(?:Bộ luật|Luật|Pháp lệnh|Nghị quyết|Nghị định|Thông tư|Quyết định|Hiến pháp)\s+này\b"
)


def find_references(text: str, own_article: str | None = None) -> list[ArticleRef]:
    """The articles `text` refers to, each once, in the order written: of its own document
    (not `own_article` naming itself), then as named of other laws."""
    here: list[ArticleRef] = []
    elsewhere: list[ArticleRef] = []
    for match in _REFERENCE.finditer(text):
        clause, whose = match.group(1), match.group("whose")
        articles = re.findall(r"\d{1,4}[a-zđ]?", match.group(2))
        for article in articles:
            if whose and not _THIS.match(whose):
                ref = ArticleRef(article, law=" ".join(whose.split()))
                if ref not in elsewhere:
                    elsewhere.append(ref)
                continue
            if article == own_article and clause is None:
                continue  # the article naming itself
            ref = ArticleRef(article, clause if clause and len(articles) == 1 else None)
            if ref not in here:
                here.append(ref)
    return [*here, *elsewhere]

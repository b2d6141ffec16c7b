"""HTML: the page's text without navigation and scripts, tables as named rows, and a section
path from its headings (h1-h6)."""

from __future__ import annotations

import re
from pathlib import Path

from tools.ingest.documents import Part
from tools.ingest.loaded import Loaded, decode_text, one_document, read_bytes
from tools.ingest.sections import sections
from tools.ingest.tables import table_rows
from tools.settings import IngestSettings

_HEADING_MARK = "\x00H{level}\x00"
_MARKED = re.compile(r"^\x00H([1-6])\x00(.*)$")


def load_html(path: Path, settings: IngestSettings) -> Loaded:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(decode_text(read_bytes(path)), "html.parser")
    for tag in soup(["script", "style", "nav", "footer", "header", "aside", "form", "noscript"]):
        tag.decompose()
    heading = soup.find("h1")
    title = (soup.title.string if soup.title and soup.title.string else None) or (
        heading.get_text(" ", strip=True) if heading else path.stem
    )
    body = soup.body or soup
    for table in body.find_all("table"):
        rows = [
            [cell.get_text(" ", strip=True) for cell in tr.find_all(["th", "td"])]
            for tr in table.find_all("tr")
        ]
        table.replace_with("\n" + "\n".join(table_rows(rows)) + "\n")
    for level in range(1, 7):
        for h in body.find_all(f"h{level}"):
            h.replace_with(f"\n{_HEADING_MARK.format(level=level)}{h.get_text(' ', strip=True)}\n")
    for block in body.find_all(["p", "div", "li", "br"]):
        block.append("\n")
    lines = body.get_text("").splitlines()
    marked = [
        (int(m.group(1)), m.group(2)) if (m := _MARKED.match(line)) else (0, line) for line in lines
    ]
    parts = [Part(text, headings) for headings, text in sections(marked)]
    return one_document(path, title.strip(), parts)

"""HTML: the page's text without navigation and scripts, tables as named rows, and a section
path from its headings (h1-h6)."""

from __future__ import annotations

import re
from pathlib import Path

from tools.corpus.documents import Part
from tools.ingest.loaded import Loaded, LoadError, decode_text, one_document, read_bytes
from tools.ingest.sections import sections
from tools.ingest.tables import table_rows
from tools.settings import IngestSettings

_HEADING_MARK = "\x00H{level}\x00"
_MARKED = re.compile(r"^\x00H([1-6])\x00(.*)$")
# Not whitespace: the parser walks its whole tag stack for every whitespace-only string.
_LINE_END = "\ue000"
_BLOCK_END = re.compile(r"</(?:p|div|li)\s*>|<br\s*/?>", re.IGNORECASE)


MAX_DEPTH = 1000  # real pages nest a few dozen levels; the parser is quadratic in depth
_TAG = re.compile(r"<(/?)([a-zA-Z][\w:-]*)[^>]*?(/?)>")
_VOID = {"br", "img", "meta", "link", "input", "hr", "area", "base", "col", "embed", "source",
         "track", "wbr", "param"}  # fmt: skip


def _max_depth(markup: str) -> int:
    """How deep the tags nest (one linear pass over the markup, before any parsing)."""
    depth = deepest = 0
    for closing, name, self_closing in _TAG.findall(markup):
        if name.lower() in _VOID or self_closing:
            continue
        depth = max(depth - 1, 0) if closing else depth + 1
        deepest = max(deepest, depth)
    return deepest


def load_html(path: Path, settings: IngestSettings) -> Loaded:
    from bs4 import BeautifulSoup

    # Line ends where blocks end, written into the markup (linear) rather than appended to each
    # block of the parsed tree (quadratic in nesting depth).
    raw = decode_text(read_bytes(path))
    if (depth := _max_depth(raw)) > MAX_DEPTH:
        raise LoadError(f"nested too deeply: {depth} levels of HTML tags (at most {MAX_DEPTH})")
    markup = _BLOCK_END.sub(lambda m: _LINE_END + m.group(0), raw)
    soup = BeautifulSoup(markup, "html.parser")
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
    lines = body.get_text("").replace(_LINE_END, "\n").splitlines()
    marked = [
        (int(m.group(1)), m.group(2)) if (m := _MARKED.match(line)) else (0, line) for line in lines
    ]
    parts = [Part(text, headings) for headings, text in sections(marked)]
    return one_document(path, title.strip(), parts)

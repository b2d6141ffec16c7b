"""Tables as text that can be retrieved and quoted: each row as "header: value; header: value"
(a row's cells named by the header row), so a row read alone still says what each value is."""

from __future__ import annotations

from collections.abc import Sequence


def _cell(value: object) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def _layout(rows: Sequence[Sequence[object]]) -> bool:
    """A table used for layout, not data: the header block of an official document sets the
    issuing body beside the national motto, in capitals, over several lines per cell. Its
    cells are read as lines."""
    first = [str(c or "").strip() for c in rows[0]] if rows else []
    filled = [c for c in first if c]
    if not filled:
        return False
    capitals_beside = len(rows) <= 2 and len(first) == 2 and all(c.isupper() for c in filled)
    return capitals_beside or any("\n" in c for c in filled)


def table_rows(rows: Sequence[Sequence[object]]) -> list[str]:
    """The first non-empty row is the header; rows after it are written against it. A table of
    one row, or without a header, is written with " | " between cells; a layout table as the
    lines of its cells."""
    if _layout(rows):
        return [
            line.strip()
            for row in rows
            for c in row
            for line in str(c or "").splitlines()
            if line.strip()
        ]
    cleaned = [[_cell(c) for c in row] for row in rows]
    cleaned = [row for row in cleaned if any(row)]
    if not cleaned:
        return []
    header, body = cleaned[0], cleaned[1:]
    named = sum(1 for h in header if h) >= max(2, len(header) // 2)
    if not body or not named:
        return [" | ".join(c for c in row if c) for row in cleaned]
    lines = []
    for row in body:
        pairs = [
            f"{header[i]}: {value}" if i < len(header) and header[i] else value
            for i, value in enumerate(row)
            if value
        ]
        if pairs:
            lines.append("; ".join(pairs) + ".")
    return lines

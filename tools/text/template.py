"""Prompt templates a request may set, rendered without `str.format`. A format spec
(`{question:>1000000000}`) made the server allocate a gigabyte, and attribute or index access
(`{sources.x}`, `{question[0]}`) reaches into objects: a template here names fields and nothing
else, `{{` and `}}` stand for braces, and everything else is refused with the reason."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

_PIECE = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Each field may stand a few times, not thousands: every one copies its value (the sources).
MAX_FIELDS = 8


class TemplateError(ValueError):
    """A template that names something other than its fields; the message says what."""


@dataclass(frozen=True)
class Template:
    """A checked template: literal text and field names, in order."""

    pieces: tuple[tuple[str, bool], ...]  # (text, is_field)

    def render(self, values: Mapping[str, str]) -> str:
        return "".join(values[text] if is_field else text for text, is_field in self.pieces)


def _problem(inside: str, fields: Collection[str]) -> str | None:
    shown = inside if len(inside) <= 40 else inside[:40] + "..."
    if ":" in inside or "!" in inside:
        return f"{{{shown}}}: format specs and conversions are not allowed"
    if "." in inside or "[" in inside:
        return f"{{{shown}}}: attribute and index access are not allowed"
    if not _FIELD_NAME.fullmatch(inside) or inside not in fields:
        names = ", ".join(f"{{{f}}}" for f in sorted(fields))
        return f"{{{shown}}}: only {names} may be named (write other braces as {{{{ and }}}})"
    return None


def parse_template(text: str, fields: Collection[str]) -> Template:
    """The template, or TemplateError naming its first problem."""
    pieces: list[tuple[str, bool]] = []
    last = 0
    for match in _PIECE.finditer(text):
        if match.start() > last:
            pieces.append((text[last : match.start()], False))
        last = match.end()
        token = match.group(0)
        if token in ("{{", "}}"):
            pieces.append((token[0], False))
        elif match.group(1) is not None:
            if problem := _problem(match.group(1), fields):
                raise TemplateError(problem)
            pieces.append((match.group(1), True))
            if sum(is_field for _, is_field in pieces) > MAX_FIELDS:
                raise TemplateError(f"more than {MAX_FIELDS} fields: name each once or twice")
        else:
            raise TemplateError(
                f"a single {token!r} at character {match.start()}: write it as {token * 2}"
            )
    if last < len(text):
        pieces.append((text[last:], False))
    return Template(tuple(pieces))


def render(text: str, values: Mapping[str, str]) -> str:
    """`text` with its fields filled from `values` (the fields it may name)."""
    return parse_template(text, values.keys()).render(values)

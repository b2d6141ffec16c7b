"""What every JSON body must be before any route reads it: finite numbers within 64 bits, text
that is valid Unicode. Python's parser takes `NaN`, `1e999`, a 5,000-digit integer and a lone
surrogate (`"\udc00"`) and leaves each to fail later, in a response encoder or a store, as a 500
(or worse, stored and failing every answer that reads it). One check at the edge names the field
instead."""

from __future__ import annotations

import json
import math
import re
from typing import Any

_INT_DIGITS = 20  # 2**64 has 20 digits: anything longer is past 64 bits without parsing it
_INT_LOW, _INT_HIGH = -(2**63), 2**64
_SURROGATE = re.compile("[\ud800-\udfff]")


class _Refused:
    """A value the parser met that no field may hold; found again with its path by the walk."""

    def __init__(self, why: str) -> None:
        self.why = why


def _integer(text: str) -> int | _Refused:
    digits = text.lstrip("-")
    if len(digits) > _INT_DIGITS:
        return _Refused(f"an integer of {len(digits)} digits (numbers must fit in 64 bits)")
    value = int(text)
    if not _INT_LOW <= value < _INT_HIGH:
        return _Refused("an integer outside 64 bits")
    return value


def _number(text: str) -> float | _Refused:
    value = float(text)
    return value if math.isfinite(value) else _Refused(f"{text[:20]}: not a finite number")


def _constant(name: str) -> _Refused:
    return _Refused(f"{name}: not a number JSON allows")


def _at(path: list[str | int]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".") or "body"


def json_problem(body: bytes) -> str | None:
    """What is wrong with a JSON body, naming the field (None: nothing, or not JSON at all, which
    the route itself answers). RecursionError for JSON nested too deeply."""
    try:
        parsed = json.loads(body, parse_int=_integer, parse_float=_number, parse_constant=_constant)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    stack: list[tuple[list[str | int], Any]] = [([], parsed)]
    while stack:  # iterative: the parser allows deeper nesting than a recursive walk would
        path, value = stack.pop()
        if isinstance(value, _Refused):
            return f"{_at(path)}: {value.why}"
        if isinstance(value, str):
            if (found := _SURROGATE.search(value)) is not None:
                return (
                    f"{_at(path)}: not valid Unicode (a lone surrogate at character "
                    f"{found.start()})"
                )
        elif isinstance(value, dict):
            for key, item in value.items():
                if _SURROGATE.search(key):
                    return f"{_at(path)}: a key that is not valid Unicode (a lone surrogate)"
                stack.append(([*path, key], item))
        elif isinstance(value, list):
            stack.extend(([*path, i], item) for i, item in enumerate(value))
    return None

"""What document metadata may hold: everything stored must be servable and filterable again
(an integer past 64 bits is accepted by Python and refused by every JSON consumer after it)."""

from __future__ import annotations

import math
from typing import Any

MAX_KEYS = 64
MAX_KEY_CHARS = 64
MAX_STRING_CHARS = 10_000
MAX_LIST_ITEMS = 256
MAX_DEPTH = 3
_INT64 = 2**63


class MetadataError(ValueError):
    """Metadata that would break serving it; the message names the key."""


def _check(value: Any, where: str, depth: int) -> None:
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        if not -_INT64 <= value < _INT64:
            raise MetadataError(f"metadata {where}: integer outside 64 bits")
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise MetadataError(f"metadata {where}: not a finite number")
        return
    if isinstance(value, str):
        if len(value) > MAX_STRING_CHARS:
            raise MetadataError(f"metadata {where}: text over {MAX_STRING_CHARS} characters")
        return
    if depth + 2 > MAX_DEPTH:  # this container would sit at level depth + 2 (the top is 1)
        raise MetadataError(f"metadata {where}: nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, list):
        if len(value) > MAX_LIST_ITEMS:
            raise MetadataError(f"metadata {where}: list over {MAX_LIST_ITEMS} items")
        for i, item in enumerate(value):
            _check(item, f"{where}[{i}]", depth + 1)
        return
    if isinstance(value, dict):
        check_metadata(value, where, depth + 1)
        return
    raise MetadataError(f"metadata {where}: unsupported value of type {type(value).__name__}")


def check_metadata(metadata: dict[str, Any], where: str = "", depth: int = 0) -> None:
    """Raises MetadataError unless every key and value can be stored, served and filtered."""
    if len(metadata) > MAX_KEYS:
        raise MetadataError(f"metadata {where or ''}: over {MAX_KEYS} keys".replace("  ", " "))
    for key, value in metadata.items():
        if not isinstance(key, str) or not key or len(key) > MAX_KEY_CHARS:
            raise MetadataError(f"metadata key {key!r}: 1 to {MAX_KEY_CHARS} characters")
        _check(value, f"{where}.{key}" if where else repr(key), depth)

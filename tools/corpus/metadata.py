"""What document metadata may hold: everything stored must be servable and filterable again
(an integer past 64 bits is accepted by Python and refused by every JSON consumer after it)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

MAX_KEYS = 64
MAX_KEY_CHARS = 64
MAX_STRING_CHARS = 10_000
MAX_LIST_ITEMS = 256
MAX_DEPTH = 3
_INT64 = 2**63
_SURROGATE = re.compile("[\ud800-\udfff]")  # half of a UTF-16 pair: no UTF-8 encoder takes it


class MetadataError(ValueError):
    """Metadata that would break serving it; the message names the key."""


def check_text(value: str, where: str) -> None:
    """Text every JSON encoder can write: a lone surrogate (JSON's "\\udc00") passes Python
    and fails every response that carries it."""
    if (found := _SURROGATE.search(value)) is not None:
        raise MetadataError(
            f"{where}: not valid Unicode (a lone surrogate at character {found.start()})"
        )


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
        check_text(value, f"metadata {where}")
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
        check_text(key, "metadata key")
        _check(value, f"{where}.{key}" if where else repr(key), depth)


def spelled_out(text: str) -> str:
    """Text that can be written anywhere, whatever a store held (a surrogate as `\\udc00`)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def payload_problem(payload: Mapping[str, Any]) -> str | None:
    """Why a stored chunk cannot be served (None: it can): one written by an older release
    that checked less. Such a chunk is left out of answers, never allowed to fail them."""
    try:
        for name in ("doc_id", "title", "text", "source"):
            value = payload.get(name, "")
            if not isinstance(value, str):
                return f"{name}: not text"
            check_text(value, name)
        metadata = payload.get("metadata") or {}
        if not isinstance(metadata, dict):
            return "metadata: not an object"
        check_metadata(metadata)
    except MetadataError as exc:
        return str(exc)
    return None

"""User filters ({"doc_id": "x", "year": {"gte": 2000}, "tags": ["a", "b"]}) as a Qdrant filter."""

from __future__ import annotations

from typing import Any

from qdrant_client import models

from tools.errors import one_line

TOP_LEVEL_FIELDS = {"doc_id", "title", "source", "position"}
_RANGE_KEYS = {"gt", "gte", "lt", "lte"}


class FilterError(ValueError):
    """A filter the knowledge base cannot apply; the message names the key."""


def _condition(key: str, value: Any) -> models.FieldCondition:
    field = key if key in TOP_LEVEL_FIELDS or key.startswith("metadata.") else f"metadata.{key}"
    if isinstance(value, dict):
        unknown = set(value) - _RANGE_KEYS
        if unknown or not value:
            raise FilterError(f"filter {key!r}: a range takes gt/gte/lt/lte, got {sorted(value)}")
        return models.FieldCondition(key=field, range=models.Range(**value))
    if isinstance(value, list):
        if not value or not all(
            isinstance(v, str | int) and not isinstance(v, bool) for v in value
        ):
            raise FilterError(f"filter {key!r}: a list must hold strings or integers")
        return models.FieldCondition(key=field, match=models.MatchAny(any=value))
    if isinstance(value, str | int | bool):
        return models.FieldCondition(key=field, match=models.MatchValue(value=value))
    raise FilterError(f"filter {key!r}: unsupported value {value!r}")


def build_filter(filters: dict[str, Any] | None) -> models.Filter | None:
    if not filters:
        return None
    conditions = []
    for key, value in filters.items():
        if not isinstance(key, str) or not key.strip():
            raise FilterError(f"filter {key!r}: a filter needs a field name")
        try:
            conditions.append(_condition(key, value))
        except FilterError:
            raise
        except ValueError as exc:  # the client's own validation (a range of text, ...)
            raise FilterError(f"filter {key!r}: {one_line(exc)}") from None
    return models.Filter(must=conditions)

"""User filters ({"doc_id": "x", "year": {"gte": 2000}, "tags": ["a", "b"]}) as a Qdrant filter."""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from qdrant_client import models

from tools.errors import one_line
from tools.ingest.documents import DEFAULT_COLLECTION

TOP_LEVEL_FIELDS = {"doc_id", "title", "source", "position"}
_RANGE_KEYS = {"gt", "gte", "lt", "lte"}


class FilterError(ValueError):
    """A filter the knowledge base cannot apply; the message names the key."""


_SIMPLE_KEY = re.compile(r"[\w-]+")


def _field(key: str) -> str:
    """The payload path of a filter key. A metadata key may hold any character (spaces,
    brackets): it is quoted, as Qdrant's paths allow, unless it is a plain word; a key the user
    wrote as a path (`metadata.a.b`) must be one."""
    if key in TOP_LEVEL_FIELDS:
        return key
    if key.startswith("metadata."):
        if not all(_SIMPLE_KEY.fullmatch(part) for part in key.split(".")[1:]):
            raise FilterError(f"filter {key!r}: not a field path (words joined by '.')")
        return key
    if _SIMPLE_KEY.fullmatch(key):
        return f"metadata.{key}"
    if '"' in key or "\\" in key:
        raise FilterError(f"filter {key!r}: a field name cannot hold '\"' or '\\\\'")
    return f'metadata."{key}"'


def _condition(key: str, value: Any) -> models.FieldCondition:
    field = _field(key)
    if isinstance(value, dict):
        unknown = set(value) - _RANGE_KEYS
        if unknown or not value:
            raise FilterError(f"filter {key!r}: a range takes gt/gte/lt/lte, got {sorted(value)}")
        return models.FieldCondition(key=field, range=models.Range(**value))
    if isinstance(value, list):
        if not value or not (
            all(isinstance(v, str) for v in value)
            or all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        ):
            raise FilterError(f"filter {key!r}: a list must hold strings, or integers (not both)")
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


def scoped_filter(
    filters: dict[str, Any] | None, collections: Collection[str] | None
) -> models.Filter | None:
    """A user's filter restricted to the collections a caller may read (None: every one). The
    restriction is a condition of its own beside the user's, so no filter can widen it; points
    written before collections existed belong to the default one."""
    base = build_filter(filters)
    if collections is None:
        return base
    scope: list[models.Condition] = [
        models.FieldCondition(key="collection", match=models.MatchAny(any=sorted(collections)))
    ]
    if DEFAULT_COLLECTION in collections:
        scope.append(models.IsEmptyCondition(is_empty=models.PayloadField(key="collection")))
    must = list(base.must or []) if base is not None else []
    return models.Filter(must=[*must, models.Filter(should=scope)])

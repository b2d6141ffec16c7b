"""User filters ({"doc_id": "x", "year": {"gte": 2000}, "tags": ["a", "b"]}): their one set of
rules as types (what the API publishes, what a request is checked against, what the store
builds its filter from), and the Qdrant filter they become."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Discriminator,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    Tag,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
)
from pydantic_core import ErrorDetails, PydanticCustomError
from qdrant_client import models

from tools.corpus.documents import DEFAULT_COLLECTION
from tools.errors import clipped

TOP_LEVEL_FIELDS = {"doc_id", "title", "source", "position"}


class FilterError(ValueError):
    """A filter the knowledge base cannot apply; the message names the key."""


_SIMPLE_KEY = re.compile(r"[\w-]+")


def payload_field(key: str) -> str:
    """The payload path of a filter key. A metadata key may hold any character (spaces,
    brackets): it is quoted, as Qdrant's paths allow, unless it is a plain word; a key the user
    wrote as a path (`metadata.a.b`) must be one."""
    if not key.strip():
        raise ValueError("a filter needs a field name")
    if key in TOP_LEVEL_FIELDS:
        return key
    if key.startswith("metadata."):
        if not all(_SIMPLE_KEY.fullmatch(part) for part in key.split(".")[1:]):
            raise ValueError("not a field path (words joined by '.')")
        return key
    if _SIMPLE_KEY.fullmatch(key):
        return f"metadata.{key}"
    if '"' in key or "\\" in key:
        raise ValueError("a field name cannot hold '\"' or '\\\\'")
    return f'metadata."{key}"'


def _key(key: str) -> str:
    payload_field(key)  # the message names what is wrong with it
    return key


def _one_kind(values: list[Any]) -> list[Any]:
    kinds = {_kind(v) for v in values}
    if not (kinds == {"text"} or kinds == {"integer"}):
        raise ValueError("a list must hold strings, or integers (not both)")
    return values


def _kind(value: Any) -> str | None:
    """Which rule a value falls under, by its JSON type (so an error speaks of that rule)."""
    if isinstance(value, bool):
        return "bool"
    for kind, types in (("text", str), ("integer", int), ("list", list), ("range", dict)):
        if isinstance(value, types):
            return kind
    return None


# Published as what they accept (the checks themselves are functions, which JSON Schema cannot
# carry): a key without quotes or backslashes; a list of strings, or of integers.
FilterKey = Annotated[
    str,
    AfterValidator(_key),
    WithJsonSchema({"type": "string", "minLength": 1, "pattern": '^[^"\\\\]+$'}),
]
Listed = Annotated[
    list[Any],
    Field(min_length=1),
    AfterValidator(_one_kind),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "array", "items": {"type": kind}, "minItems": 1}
                for kind in ("string", "integer")
            ]
        }
    ),
]
Range = Annotated[dict[Literal["gt", "gte", "lt", "lte"], float], Field(min_length=1)]
_RULE = 'a text, an integer, true/false, a list of texts or of integers, or a range {"gte": ...}'
_KINDS: Any = (
    Annotated[StrictStr, Tag("text")]
    | Annotated[StrictInt, Tag("integer")]
    | Annotated[Listed, Tag("list")]
    | Annotated[Range, Tag("range")]
)
FilterValue = Annotated[
    _KINDS | Annotated[StrictBool, Tag("bool")],
    Discriminator(_kind, custom_error_type="filter_value", custom_error_message=_RULE),
]
# The embedded store cannot match true/false values (it sends them as integers): not offered.
EmbeddedFilterValue = Annotated[
    _KINDS,
    Discriminator(
        _kind,
        custom_error_type="filter_value",
        custom_error_message="true/false values cannot be filtered in the embedded store (store "
        'them as text, "có"/"không", or use a Qdrant server); a value is '
        + _RULE.replace("true/false, ", ""),
    ),
]
_TAGS = {"text", "integer", "bool", "list", "range", "[key]"}


def filter_problems(errors: list[ErrorDetails]) -> str:
    """Pydantic's errors on a filter as one line naming each key: `filter 'year': ...`."""
    lines = []
    for error in errors:
        key, *rest = [str(p) for p in error["loc"] if str(p) not in _TAGS] or ["?"]
        where = "".join(f" {p}" for p in rest)
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"filter {clipped(key, 64)!r}{clipped(where, 64)}: {clipped(message, 200)}")
    return clipped("; ".join(lines))


def filter_size(filters: Mapping[str, Any]) -> int:
    """Conditions plus listed values: what `server.max_filter_values` bounds."""
    return len(filters) + sum(len(v) if isinstance(v, list | dict) else 1 for v in filters.values())


def bounded_filters(most: int, booleans: bool = True) -> Any:
    """The filters type a request is checked against: the rules above, true/false values
    only where the store can match them, and at most `most` conditions and listed values."""

    def within(filters: dict[str, Any]) -> dict[str, Any]:
        if (size := filter_size(filters)) > most:
            raise PydanticCustomError(
                "too_many_filter_values",
                "filters with {size} conditions and values: at most {most} "
                "(server.max_filter_values)",
                {"size": size, "most": most},
            )
        return filters

    value: Any = FilterValue if booleans else EmbeddedFilterValue
    mapping: Any = dict[FilterKey, value]
    return Annotated[mapping, Field(max_length=most), AfterValidator(within)]


@cache
def _filters_adapter() -> TypeAdapter[dict[str, Any]]:
    return TypeAdapter(dict[FilterKey, FilterValue])


def parse_filters(filters: Mapping[str, Any]) -> dict[str, Any]:
    """`filters` checked against the rules (FilterError naming the key otherwise)."""
    try:
        return _filters_adapter().validate_python(dict(filters))
    except ValidationError as exc:
        raise FilterError(filter_problems(exc.errors())) from None


def _condition(key: str, value: Any) -> models.FieldCondition:
    field = payload_field(key)
    if isinstance(value, dict):
        return models.FieldCondition(key=field, range=models.Range(**value))
    if isinstance(value, list):
        return models.FieldCondition(key=field, match=models.MatchAny(any=value))
    return models.FieldCondition(key=field, match=models.MatchValue(value=value))


def build_filter(filters: Mapping[str, Any] | None) -> models.Filter | None:
    if not filters:
        return None
    checked = parse_filters(filters)
    return models.Filter(must=[_condition(key, value) for key, value in checked.items()])


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

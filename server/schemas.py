"""The published input of /rag: exactly what the limits check accepts, so that a client (or a
fuzzer) generating requests from the OpenAPI schema reaches the graph instead of a 422."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, create_model

from tools.settings import ServerSettings

_Listed = (
    Annotated[list[StrictStr], Field(min_length=1)]
    | Annotated[list[StrictInt], Field(min_length=1)]
)
_Range = Annotated[dict[Literal["gt", "gte", "lt", "lte"], float], Field(min_length=1)]
FilterValue = StrictStr | StrictInt | StrictBool | _Listed | _Range
# The embedded store cannot match true/false values (it sends them as integers): not offered.
EmbeddedFilterValue = StrictStr | StrictInt | _Listed | _Range


def question_input(server: ServerSettings, booleans: bool = True) -> type[BaseModel]:
    """One question and its optional filters ({"topic": "lịch sử", "nam": {"gte": 2000}}),
    bounded as the server's settings bound them; true/false values only where the store can
    match them (`booleans`)."""
    question = Annotated[
        StrictStr,
        Field(min_length=1, max_length=server.max_question_chars, pattern=r"\S"),
    ]
    value: Any = FilterValue if booleans else EmbeddedFilterValue
    filters: Any = Annotated[  # not "| None": the playground cannot render a nullable field
        dict[Annotated[str, Field(min_length=1, pattern=r'^[^"\\]+$')], value],
        Field(max_length=server.max_filter_values),
    ]
    return create_model(
        "QuestionInput",
        __config__=ConfigDict(extra="forbid"),
        question=(question, ...),
        filters=(filters, {}),
    )

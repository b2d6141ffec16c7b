"""What /v1/chat/completions answers, as types: OpenAI's completion and stream chunk objects,
with this service's structured output in a `vinarag` field that OpenAI clients ignore."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel

MODEL = "vinarag"


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop"] = "stop"
    logprobs: None = None


class Usage(BaseModel):
    """Model tokens when a model wrote the answer; words for the extractive answerer."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str = MODEL
    choices: list[Choice]
    usage: Usage
    vinarag: dict[str, Any]  # sources, citations, grounding, path, answer id


class Delta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: Delta
    finish_reason: Literal["stop"] | None = None
    logprobs: None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str = MODEL
    choices: list[ChunkChoice]
    usage: Usage | None = None  # only in the last chunk, when stream_options asked for it
    vinarag: dict[str, Any] | None = None  # only in the closing chunk

    def event(self) -> str:
        """The chunk as one server-sent event; a delta's unset fields and the absent optional
        fields are left out, as OpenAI sends them."""
        body = self.model_dump(exclude={"usage", "vinarag", "choices"})
        body["choices"] = [
            {**c.model_dump(exclude={"delta"}), "delta": c.delta.model_dump(exclude_none=True)}
            for c in self.choices
        ]
        for optional in ("usage", "vinarag"):
            if (value := getattr(self, optional)) is not None:
                body[optional] = value if isinstance(value, dict) else value.model_dump()
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "vinarag"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]

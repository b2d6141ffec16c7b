"""What retrieval hands to reranking, grading and generation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RetrievedChunk:
    point_id: str
    doc_id: str
    title: str
    text: str
    source: str
    position: int
    score: float
    metadata: dict[str, Any] = field(default_factory=dict)
    view_scores: dict[str, float] = field(default_factory=dict)

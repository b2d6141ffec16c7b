"""An article one passage of a law refers to, as ingestion stores it in the passage's metadata
and the reference follower reads it back: one type, one spelling, written and parsed here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

HERE_FIELD = "tham_chieu"  # articles of the passage's own document: "5", "5.2" (khoản 2)
ELSEWHERE_FIELD = "tham_chieu_ngoai"  # articles of another law: "Luật Đất đai 2024 | 5"
_LAW_SEPARATOR = " | "


@dataclass(frozen=True)
class ArticleRef:
    """Điều `article` (khoản `clause`) of the referring document, or of `law` as it was named."""

    article: str
    clause: str | None = None
    law: str | None = None

    @property
    def stored(self) -> str:
        if self.law is not None:
            return f"{self.law}{_LAW_SEPARATOR}{self.article}"
        return f"{self.article}.{self.clause}" if self.clause else self.article

    @classmethod
    def here(cls, stored: str) -> ArticleRef:
        article, _, clause = stored.partition(".")
        return cls(article, clause or None)

    @classmethod
    def elsewhere(cls, stored: str) -> ArticleRef:
        law, _, article = stored.rpartition(_LAW_SEPARATOR)
        return cls(article, None, law)


def store_references(metadata: dict[str, Any], references: list[ArticleRef]) -> None:
    """Records the references in a passage's metadata (nothing when there are none)."""
    here = [r.stored for r in references if r.law is None]
    elsewhere = [r.stored for r in references if r.law is not None]
    if here:
        metadata[HERE_FIELD] = here
    if elsewhere:
        metadata[ELSEWHERE_FIELD] = elsewhere


def references_in(metadata: Mapping[str, Any]) -> list[ArticleRef]:
    """What a stored passage refers to, its own document's articles first."""
    return [
        *(ArticleRef.here(str(value)) for value in metadata.get(HERE_FIELD, [])),
        *(ArticleRef.elsewhere(str(value)) for value in metadata.get(ELSEWHERE_FIELD, [])),
    ]

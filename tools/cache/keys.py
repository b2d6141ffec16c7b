"""Cache keys: the normalised question, the settings that change the answer, and the corpus
version. An ingest bumps the version, so old answers become unreachable without scanning keys."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from tools.text.tokenize import syllables

PREFIX = "vinarag:answer"


def _digest(value: Any, size: int) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:size]


def cache_scope(answer_settings: Mapping[str, Any], corpus_version: int) -> str:
    """What must match exactly for a cached answer to be reused."""
    return f"v{corpus_version}:{_digest(answer_settings, 12)}"


def cache_key(question: str, scope: str) -> str:
    """Case, punctuation, spacing and tone-mark placement do not make a new question."""
    return f"{PREFIX}:{scope}:{_digest(' '.join(syllables(question)), 32)}"

"""Near-duplicate questions ("Thủ đô Việt Nam là gì?" / "thủ đô của Việt Nam là gì") answered
from the cache: a bounded in-process index from question terms to exact cache keys. Off by
default; the threshold is a Jaccard similarity of syllables and bigrams."""

from __future__ import annotations

import threading
from collections import OrderedDict

from tools.text.tokenize import bigrams, syllables


def _features(question: str) -> frozenset[str]:
    tokens = syllables(question)
    return frozenset(tokens + bigrams(tokens))


class SemanticIndex:
    def __init__(self, threshold: float, max_entries: int = 10_000) -> None:
        self.threshold = threshold
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[str, frozenset[str]]] = OrderedDict()
        self._lock = threading.Lock()
        self._version: int | None = None

    def retire(self, corpus_version: int) -> None:
        """Emptied when the corpus version moves (every scope names an older one)."""
        with self._lock:
            if self._version is not None and corpus_version != self._version:
                self._entries.clear()
            self._version = corpus_version

    def add(self, scope: str, question: str, key: str) -> None:
        """`scope` holds what must match exactly (settings and corpus version)."""
        with self._lock:
            self._entries[key] = (scope, _features(question))
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def nearest(self, scope: str, question: str) -> tuple[str, float] | None:
        features = _features(question)
        if not features:
            return None
        best: tuple[str, float] | None = None
        with self._lock:
            for key, (entry_scope, entry) in self._entries.items():
                if entry_scope != scope:
                    continue
                score = len(features & entry) / len(features | entry)
                if score >= self.threshold and (best is None or score > best[1]):
                    best = (key, score)
        return best

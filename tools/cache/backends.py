"""Answer caches: an in-process TTL cache (default) and Redis. A cache that fails never fails a
request: Redis errors are logged once, the request goes on uncached, and Redis is tried again
after a short pause."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from typing import Any, Protocol

log = logging.getLogger(__name__)


class AnswerCache(Protocol):
    backend: str

    def get(self, key: str) -> dict[str, Any] | None: ...

    def set(self, key: str, value: dict[str, Any]) -> None: ...

    def healthy(self) -> bool: ...

    def retire(self, corpus_version: int) -> None:
        """The corpus is at `corpus_version`: answers kept under an older one (their keys name
        it) can never be read again."""
        ...

    def close(self) -> None: ...


class MemoryCache:
    """LRU with a TTL, for one process, bounded by entries and by bytes. Answers are kept as
    compact JSON: a few KB each, where the same answer as Python objects takes several times
    more, so the cache's memory is what `max_mb` says (and a hit hands out a copy no caller can
    change under the next one)."""

    backend = "memory"

    def __init__(
        self, ttl_s: float, max_entries: int, max_mb: float = 64.0, clock=time.monotonic
    ) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.max_bytes = int(max_mb * 1024 * 1024)
        self._clock = clock
        self._data: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._version: int | None = None

    def _drop(self, key: str) -> None:
        _, data = self._data.pop(key)
        self._bytes -= len(data)

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return None
            expires, data = item
            if expires < self._clock():
                self._drop(key)
                return None
            self._data.move_to_end(key)
        return json.loads(data)

    def set(self, key: str, value: dict[str, Any]) -> None:
        data = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        if len(data) > self.max_bytes:
            return
        with self._lock:
            if key in self._data:
                self._drop(key)
            self._data[key] = (self._clock() + self.ttl_s, data)
            self._bytes += len(data)
            while len(self._data) > self.max_entries or self._bytes > self.max_bytes:
                self._drop(next(iter(self._data)))

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def retire(self, corpus_version: int) -> None:
        """Emptied when the corpus version moves: every answer it holds was kept under an
        older version and is unreachable. Without this, a server taking uploads filled its
        `max_mb` with dead answers (the soak's resident memory rising all along)."""
        with self._lock:
            if self._version is not None and corpus_version != self._version:
                self._data.clear()
                self._bytes = 0
            self._version = corpus_version

    def healthy(self) -> bool:
        return True

    def close(self) -> None:
        with self._lock:
            self._data.clear()
            self._bytes = 0


class RedisCache:
    backend = "redis"

    def __init__(self, url: str, ttl_s: int, retry_after_s: float = 30.0, timeout_s: float = 0.5):
        import redis

        self._errors = (redis.RedisError, OSError)
        self.client = redis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )
        self.url = url
        self.ttl_s = ttl_s
        self.retry_after_s = retry_after_s
        self._down_until = 0.0
        self._warned = False

    def _available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, exc: Exception) -> None:
        self._down_until = time.monotonic() + self.retry_after_s
        if not self._warned:
            log.warning("Redis cache unavailable (%s): answering without the cache", exc)
            self._warned = True

    def _recovered(self) -> None:
        if self._warned:
            log.info("Redis cache reachable again")
            self._warned = False

    def get(self, key: str) -> dict[str, Any] | None:
        if not self._available():
            return None
        try:
            raw = self.client.get(key)
        except self._errors as exc:
            self._failed(exc)
            return None
        self._recovered()
        return json.loads(raw) if raw else None

    def set(self, key: str, value: dict[str, Any]) -> None:
        if not self._available():
            return
        try:
            self.client.set(key, json.dumps(value, ensure_ascii=False), ex=self.ttl_s)
        except self._errors as exc:
            self._failed(exc)
            return
        self._recovered()

    def retire(self, corpus_version: int) -> None:
        """Nothing to do: Redis forgets old answers by their TTL, in its own memory."""

    def healthy(self) -> bool:
        try:
            return bool(self.client.ping())
        except self._errors:
            return False

    def close(self) -> None:
        self.client.close()

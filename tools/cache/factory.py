"""Build the configured answer cache once per process."""

from __future__ import annotations

import logging

from tools.cache.backends import AnswerCache, MemoryCache, RedisCache
from tools.settings import CacheSettings

log = logging.getLogger(__name__)


def build_cache(settings: CacheSettings) -> AnswerCache | None:
    if not settings.enabled:
        log.info("answer cache off")
        return None
    if settings.backend == "redis" and settings.redis_url:
        cache = RedisCache(
            settings.redis_url,
            settings.ttl_s,
            retry_after_s=settings.redis_retry_after_s,
            timeout_s=settings.redis_timeout_s,
        )
        if not cache.healthy():
            log.warning(
                "Redis at %s not reachable now: requests run uncached until it is",
                settings.redis_url,
            )
        return cache
    return MemoryCache(settings.ttl_s, settings.max_entries, settings.max_mb)

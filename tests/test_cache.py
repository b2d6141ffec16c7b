"""Answer caches: keys, TTL, eviction, the real Redis on 127.0.0.1, a Redis that is down, and
the semantic (near-duplicate) cache."""

import logging
import uuid

import pytest

from graph import build_graph
from tests.helpers import need
from tools.cache.backends import MemoryCache, RedisCache
from tools.cache.keys import cache_key, cache_scope
from tools.cache.semantic import SemanticIndex

# A database of the tests' own: what they write and delete never touches an application's keys.
REDIS_URL = "redis://127.0.0.1:6379/13"


def test_keys_ignore_case_punctuation_and_tone_placement():
    scope = cache_scope({"top_k": 10}, corpus_version=3)
    assert cache_key("Hoà Bình ở đâu?", scope) == cache_key("hòa bình ở  đâu", scope)
    assert cache_key("Hòa Bình ở đâu?", scope) != cache_key("Hòa Bình là gì?", scope)
    assert cache_scope({"top_k": 10}, 3) != cache_scope({"top_k": 5}, 3)
    assert cache_scope({"top_k": 10}, 3) != cache_scope({"top_k": 10}, 4)


def _changed(value):
    """Another value of the same kind (validation skipped: only the key is under test)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return value + "-x"
    if isinstance(value, list):
        return [*value, "x"]
    return "x" if value is None else None


def test_every_answer_changing_setting_is_in_the_cache_key():
    """Any field of any section but the operational ones, and any run setting, changes the
    key: a shared Redis never serves an answer made under other settings. Where the service
    runs and how it serves do not."""
    from graph.context import OVERRIDES, Context, answer_settings, resolve
    from tools.settings import OPERATIONAL_SETTINGS, Settings

    settings = Settings()

    def scope(s=settings, c=None, filters=None):
        return cache_scope(answer_settings(resolve(c, s), filters), corpus_version=1)

    base = scope()
    checked = 0
    for name in Settings.model_fields:
        if name in OPERATIONAL_SETTINGS:
            continue
        section = getattr(settings, name)
        for field in type(section).model_fields:
            if field.endswith("api_key"):
                continue
            changed = section.model_copy(update={field: _changed(getattr(section, field))})
            assert scope(settings.model_copy(update={name: changed})) != base, f"{name}.{field}"
            checked += 1
    assert checked > 50  # grader, rerank, retrieval, sparse, dense, generator, graph...
    # every run setting: an override of a process setting, and what only a run sets
    runs = [
        Context(top_k=3),
        Context(rerank_top_n=2),
        Context(relevance_threshold=0.9),
        Context(grounding_threshold=0.9),
        Context(max_retrieval_attempts=3),
        Context(max_generation_attempts=3),
        Context(generator="phogpt"),
        Context(temperature=0.7),
        Context(max_tokens=64),
        Context(ask_back=False),
        Context(answer_prompt="{sources}\n{question}"),
        Context(collections=["hr"]),
    ]
    assert len(runs) - 2 == len(OVERRIDES)
    for run in runs:
        assert scope(c=run) != base, run
    assert scope(c=Context(top_k=settings.retrieval.top_k)) == base  # the same value: same key
    assert scope(filters={"topic": "biển"}) != base
    assert scope(settings.model_copy(update={"sources": [{"path": "/x"}]})) == base
    for name in OPERATIONAL_SETTINGS - {"data_dir", "log_level", "api_keys", "sources"}:
        section = getattr(settings, name)
        field = next(iter(type(section).model_fields))
        changed = section.model_copy(update={field: _changed(getattr(section, field))})
        assert scope(settings.model_copy(update={name: changed})) == base, name


def test_memory_cache_ttl_and_lru():
    now = [0.0]
    cache = MemoryCache(ttl_s=10, max_entries=2, clock=lambda: now[0])
    cache.set("a", {"answer": "A"})
    cache.set("b", {"answer": "B"})
    assert cache.get("a") == {"answer": "A"}  # a is now the most recent
    cache.set("c", {"answer": "C"})
    assert cache.get("b") is None and cache.get("a") and cache.get("c")
    now[0] = 11.0
    assert cache.get("a") is None


def test_memory_cache_is_bounded_by_bytes_and_hands_out_copies():
    cache = MemoryCache(ttl_s=60, max_entries=1000, max_mb=0.01)  # about 10 KB
    answer = {"answer": "Vịnh Hạ Long có gần 2.000 hòn đảo. " * 40}  # about 1.6 KB as JSON
    for i in range(20):
        cache.set(f"k{i}", answer)
    assert cache.size_bytes <= 0.01 * 1024 * 1024
    assert cache.get("k0") is None and cache.get("k19") == answer  # the oldest went first
    cache.get("k19")["answer"] = "changed by a caller"
    assert cache.get("k19") == answer
    cache.set("huge", {"answer": "x" * 20_000})  # larger than the whole cache: not kept
    assert cache.get("huge") is None and cache.get("k19") == answer


@pytest.fixture
def redis_cache():
    cache = RedisCache(REDIS_URL, ttl_s=60)
    need(cache.healthy(), f"Redis not reachable at {REDIS_URL}")
    prefix = f"vinarag-test:{uuid.uuid4().hex}:"
    yield cache, prefix
    for key in cache.client.scan_iter(f"{prefix}*"):
        cache.client.delete(key)
    cache.close()


@pytest.mark.integration
def test_redis_round_trip_with_ttl(redis_cache):
    cache, prefix = redis_cache
    cache.set(prefix + "k", {"answer": "Hà Nội", "sources": [{"id": "1"}]})
    assert cache.get(prefix + "k") == {"answer": "Hà Nội", "sources": [{"id": "1"}]}
    assert 0 < cache.client.ttl(prefix + "k") <= 60
    assert cache.get(prefix + "missing") is None


def test_redis_down_degrades_to_no_cache_and_logs_once(caplog):
    cache = RedisCache("redis://127.0.0.1:1/0", ttl_s=60)
    with caplog.at_level(logging.WARNING):
        assert cache.get("k") is None
        cache.set("k", {"answer": "x"})
        assert cache.get("k") is None
    assert caplog.text.count("Redis cache unavailable") == 1
    cache.close()


def test_graph_answers_with_redis_down(settings, make_demo_services):
    configured = settings.model_copy(
        update={
            "cache": settings.cache.model_copy(
                update={"backend": "redis", "redis_url": "redis://127.0.0.1:1/0"}
            )
        }
    )
    graph = build_graph(services=make_demo_services(configured))
    for _ in range(2):
        result = graph.invoke({"question": "Phở ra đời ở đâu?"})
        assert result["cache_hit"] is False and "Nam Định" in result["answer"]


@pytest.mark.integration
def test_graph_uses_the_real_redis(settings, redis_cache, make_demo_services):
    cache, _ = redis_cache
    configured = settings.model_copy(
        update={
            "cache": settings.cache.model_copy(update={"backend": "redis", "redis_url": REDIS_URL})
        },
    )
    services = make_demo_services(configured)
    try:
        graph = build_graph(services=services)
        first = graph.invoke({"question": "Ai là tác giả Truyện Kiều?"})
        key = next(p for p in first["path"] if p["node"] == "write_cache")
        assert key["written"] is True
        second = graph.invoke({"question": "Ai là tác giả Truyện Kiều?"})
        assert second["cache_hit"] is True and second["answer"] == first["answer"]
    finally:
        for key in services.cache.client.scan_iter("vinarag:answer:*"):
            services.cache.client.delete(key)


def test_semantic_index_matches_near_duplicates_in_scope_only():
    index = SemanticIndex(threshold=0.6)
    index.add("s1", "Thủ đô của Việt Nam là gì?", "k1")
    assert index.nearest("s1", "thủ đô Việt Nam là gì")[0] == "k1"
    assert index.nearest("s2", "thủ đô Việt Nam là gì") is None
    assert index.nearest("s1", "Dân số Việt Nam là bao nhiêu?") is None


def test_graph_with_semantic_cache(settings, make_demo_services):
    configured = settings.model_copy(
        update={
            "cache": settings.cache.model_copy(update={"semantic": True, "semantic_threshold": 0.6})
        }
    )
    graph = build_graph(services=make_demo_services(configured))
    first = graph.invoke({"question": "Truyện Kiều có bao nhiêu câu thơ?"})
    near = graph.invoke({"question": "Truyện Kiều gồm bao nhiêu câu thơ?"})
    assert near["cache_hit"] is True and near["answer"] == first["answer"]
    assert 0.6 <= near["path"][0]["similarity"] < 1.0


def test_answers_of_an_older_corpus_version_leave_the_memory_cache(settings, make_demo_services):
    """Their keys name the version: once it moves they can never be read. Kept, they filled
    `cache.max_mb` under a server taking uploads (the soak's memory rising all along)."""
    from tools.corpus.documents import Document
    from tools.ingest.pipeline import ingest_documents

    configured = settings.model_copy(
        update={"cache": settings.cache.model_copy(update={"semantic": True})}
    )
    services = make_demo_services(configured)
    graph = build_graph(services=services)
    first = graph.invoke({"question": "Phở ra đời ở đâu?"})
    assert graph.invoke({"question": "Phở ra đời ở đâu?"})["cache_hit"] is True
    held = services.cache.size_bytes
    assert held > 0 and services.semantic._entries
    ingest_documents([Document("moi", "Mới", "Bún chả là món ăn của Hà Nội.", "api")],
                     services.retrieval.kb, configured)  # fmt: skip
    again = graph.invoke({"question": "Phở ra đời ở đâu?"})
    assert again["cache_hit"] is False and again["answer"] == first["answer"]
    assert len(services.cache._data) == len(services.semantic._entries) == 1  # this answer only
    assert 0 < services.cache.size_bytes < 2 * held  # not the old answer beside it


def test_redis_keeps_its_own_answers_whatever_the_version(redis_cache):
    cache, _ = redis_cache
    cache.set("vinarag:answer:v1:x:y", {"answer": "a"})
    cache.retire(2)  # Redis forgets by TTL, in its own memory
    assert cache.get("vinarag:answer:v1:x:y") == {"answer": "a"}

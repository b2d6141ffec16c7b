"""Conversation memory through LangGraph checkpointers: SQLite (default) and the real
PostgreSQL on 127.0.0.1, each in a scratch place removed afterwards."""

import pytest

from graph import build_graph
from tools.records.checkpoints import open_checkpointer, prune_thread

pytestmark = pytest.mark.integration


def _conversation(graph, thread: str, saver=None):
    """Two turns; with `saver`, the thread pruned after each as the server and CLI do."""
    config = {"configurable": {"thread_id": thread}}
    first = graph.invoke({"question": "Vịnh Hạ Long có bao nhiêu hòn đảo?"}, config=config)
    prune_thread(saver, thread)
    follow = graph.invoke({"question": "Còn được UNESCO công nhận năm nào?"}, config=config)
    prune_thread(saver, thread)
    return first, follow


def _checkpoints(saver, thread: str) -> int:
    return len(list(saver.list({"configurable": {"thread_id": thread}})))


def test_a_pruned_thread_keeps_one_checkpoint_and_its_whole_conversation(demo_services, settings):
    with open_checkpointer(settings) as saver:
        graph = build_graph(services=demo_services, checkpointer=saver)
        _conversation(graph, "unpruned")
        assert _checkpoints(saver, "unpruned") > 2  # every step of every turn otherwise
        first, follow = _conversation(graph, "pruned", saver)
        assert _checkpoints(saver, "pruned") == 1
        assert "1994" in follow["answer"]  # the follow-up was rewritten from the kept history
        state = graph.get_state({"configurable": {"thread_id": "pruned"}}).values
        assert len(state["history"]) == 2


def test_sqlite_memory_rewrites_follow_ups_and_persists(demo_services, settings):
    with open_checkpointer(settings) as saver:
        graph = build_graph(services=demo_services, checkpointer=saver)
        first, follow = _conversation(graph, "t1")
        assert "2.000" in first["answer"]
        assert [p["node"] for p in follow["path"]][:2] == ["check_cache", "rewrite_query"]
        assert "hạ long" in follow["standalone_question"].lower()
        assert "1994" in follow["answer"] and follow["sources"][0]["doc_id"] == "vinh-ha-long"
        alone = graph.invoke(
            {"question": "Còn được UNESCO công nhận năm nào?"},
            config={"configurable": {"thread_id": "t2"}},
        )
        assert alone["standalone_question"] == "Còn được UNESCO công nhận năm nào?"
    assert settings.checkpoint_path.is_file()
    with open_checkpointer(settings) as saver:  # a new process would see the same history
        graph = build_graph(services=demo_services, checkpointer=saver)
        state = graph.get_state({"configurable": {"thread_id": "t1"}}).values
        assert [t["question"] for t in state["history"]][0] == "Vịnh Hạ Long có bao nhiêu hòn đảo?"
        assert len(state["history"]) == 2


def _on_postgres(settings, url: str):
    memory = settings.memory.model_copy(update={"backend": "postgres", "postgres_url": url})
    return settings.model_copy(update={"memory": memory})


def test_postgres_memory(demo_services, settings, postgres_schema):
    configured = _on_postgres(settings, postgres_schema)
    with open_checkpointer(configured) as saver:
        graph = build_graph(services=demo_services, checkpointer=saver)
        _, follow = _conversation(graph, "pg-thread", saver)
        assert "1994" in follow["answer"] and _checkpoints(saver, "pg-thread") == 1
    with open_checkpointer(configured) as saver:
        graph = build_graph(services=demo_services, checkpointer=saver)
        history = graph.get_state({"configurable": {"thread_id": "pg-thread"}}).values["history"]
        assert len(history) == 2


def _expiry(saver, demo_services) -> None:
    """Two threads, one idle past the TTL: it is forgotten, the other keeps its history."""
    import time

    from tools.records.checkpoints import ThreadClock

    clock = ThreadClock(saver, ttl_days=1)
    graph = build_graph(services=demo_services, checkpointer=saver)
    for thread in ("old", "recent"):
        _conversation(graph, thread, saver)
        clock.touch(thread)
    day = 86400
    clock._execute("UPDATE vinarag_thread_seen SET seen = ? WHERE thread_id = ?",
                   (time.time() - 2 * day, "old"))  # fmt: skip
    assert clock.expire() == 1
    history = {
        t: graph.get_state({"configurable": {"thread_id": t}}).values.get("history", [])
        for t in ("old", "recent")
    }
    assert history["old"] == [] and len(history["recent"]) == 2
    assert clock.expire() == 0


def test_idle_threads_expire_sqlite(demo_services, settings):
    with open_checkpointer(settings) as saver:
        _expiry(saver, demo_services)


def test_idle_threads_expire_postgres(demo_services, settings, postgres_schema):
    configured = _on_postgres(settings, postgres_schema)
    with open_checkpointer(configured) as saver:
        _expiry(saver, demo_services)


def test_memory_off(settings):
    off = settings.model_copy(
        update={"memory": settings.memory.model_copy(update={"backend": "none"})}
    )
    with open_checkpointer(off) as saver:
        assert saver is None

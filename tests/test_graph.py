"""The graph end to end on the demo knowledge base: every edge, every bound."""

from typing import NotRequired, get_args, get_origin, get_type_hints

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.errors import GraphRecursionError

from graph import Context, build_graph
from graph.context import ContextError
from graph.state import OutputState, PathStep, TurnState
from nodes.start_turn import fresh_turn
from tools.corpus.documents import Document
from tools.ingest.pipeline import ingest_documents


def nodes(result):
    return [p["node"] for p in result["path"]]


def test_answerable_question_takes_the_main_path(demo_services):
    graph = build_graph(services=demo_services)
    result = graph.invoke({"question": "Ngô Quyền đánh tan quân Nam Hán năm nào?"})
    assert nodes(result) == [
        "check_cache",
        "retrieve",
        "rerank",
        "grade_documents",
        "generate",
        "check_grounding",
        "write_cache",
    ]
    assert "938" in result["answer"] and "[1]" in result["answer"]
    assert result["grounded"]["value"] is True and result["cache_hit"] is False
    ids = [s["id"] for s in result["sources"]]
    assert result["citations"] and all(
        ids[c["marker"] - 1] == c["source_id"] for c in result["citations"]
    )
    assert result["sources"][0]["doc_id"] == "bach-dang-938"
    generate = next(p for p in result["path"] if p["node"] == "generate")
    assert generate["generator"] == "extractive" and generate["model"] is False
    assert len(result["answer_id"]) == 32
    assert set(result) <= {
        "answer_id",
        "answer",
        "sources",
        "citations",
        "grounded",
        "cache_hit",
        "path",
        "fallback_reason",
        "standalone_question",
        "asks",
        "notes",
    }  # output schema: no internal fields leak
    assert result["asks"] == [] and result["notes"] == []  # one ask: nothing split


def test_question_the_documents_do_not_answer_falls_back_honestly(demo_services):
    graph = build_graph(services=demo_services)
    result = graph.invoke({"question": "Thủ đô của nước Pháp là gì?"})
    assert nodes(result).count("retrieve") == 2  # max_retrieval_attempts
    assert nodes(result)[-2:] == ["grade_documents", "fallback"]
    assert "rewrite_query" in nodes(result)
    assert result["fallback_reason"] == "no_relevant_documents"
    assert result["answer"].startswith("Tài liệu hiện có không đề cập")
    assert result["grounded"]["value"] is False and result["citations"] == []


def test_retrieval_attempts_are_bounded_whatever_the_context_asks(demo_services):
    graph = build_graph(services=demo_services)
    question = {"question": "Giá cổ phiếu Tesla hôm nay?"}
    with pytest.raises(ContextError, match="max_retrieval_attempts: Input should be less than"):
        graph.invoke(question, context=Context(max_retrieval_attempts=50))
    result = graph.invoke(question, context=Context(max_retrieval_attempts=5))
    assert nodes(result).count("retrieve") == 5  # the most any run may ask
    assert nodes(result)[-1] == "fallback"
    widened = [p["top_k"] for p in result["path"] if p["node"] == "rewrite_query"]
    assert widened == [20, 40, 80, 100]


def test_recursion_limit_is_set_and_enforced(demo_services):
    graph = build_graph(services=demo_services)
    assert graph.config["recursion_limit"] == demo_services.settings.graph.recursion_limit
    with pytest.raises(GraphRecursionError):
        graph.invoke(
            {"question": "Giá cổ phiếu Tesla hôm nay?"},
            config={"recursion_limit": 6},
            context=Context(max_retrieval_attempts=5),
        )


def test_cache_hit_and_corpus_version_invalidation(demo_services):
    graph = build_graph(services=demo_services)
    question = {"question": "Truyện Kiều có bao nhiêu câu thơ?"}
    first = graph.invoke(question)
    second = graph.invoke({"question": "truyện kiều có bao nhiêu câu thơ"})
    assert second["cache_hit"] is True and nodes(second) == ["check_cache"]
    assert second["answer"] == first["answer"] and second["sources"] == first["sources"]
    assert second["path"][0]["answered_by"][0] == "retrieve"
    ingest_documents(
        [Document("new", "Mới", "Một tài liệu mới về Truyện Kiều và Nguyễn Du.", "n")],
        demo_services.retrieval.kb,
        demo_services.settings,
    )
    third = graph.invoke(question)
    assert third["cache_hit"] is False  # the ingest bumped the corpus version
    no_cache = graph.invoke(question, context=Context(use_cache=False))
    assert no_cache["cache_hit"] is False and no_cache["path"][0]["reason"] == "off"


def test_context_overrides_and_filters(demo_services):
    graph = build_graph(services=demo_services)
    result = graph.invoke(
        {"question": "UNESCO công nhận di sản nào?", "filters": {"topic": "địa lý"}},
        context=Context(rerank_top_n=2),
    )
    assert 1 <= len(result["sources"]) <= 2
    assert {s["metadata"]["topic"] for s in result["sources"]} == {"địa lý"}


def test_empty_question_is_an_error(demo_services):
    graph = build_graph(services=demo_services)
    with pytest.raises(ValueError, match="question is empty"):
        graph.invoke({"question": "   "})


def test_unconfigured_generator_in_context_is_refused(demo_services):
    graph = build_graph(services=demo_services)
    with pytest.raises(ValueError, match="not configured"):
        graph.invoke({"question": "Phở là gì?"}, context=Context(generator="phogpt"))


def test_a_retry_relaxes_filters_that_found_nothing(demo_services):
    """Filters that exclude every relevant document: the first retrieval finds nothing relevant,
    the retry drops the filters and widens top_k, and the answer comes from outside them."""
    graph = build_graph(services=demo_services)
    result = graph.invoke(
        {"question": "Vịnh Hạ Long có bao nhiêu hòn đảo?", "filters": {"doc_id": "pho"}}
    )
    assert nodes(result)[:5] == [
        "check_cache",
        "retrieve",
        "rerank",
        "grade_documents",
        "rewrite_query",
    ]
    retry = next(p for p in result["path"] if p["node"] == "rewrite_query")
    assert retry["kind"] == "retry" and retry["top_k"] == 2 * demo_services.settings.retrieval.top_k
    assert "2.000" in result["answer"] and result["sources"][0]["doc_id"] == "vinh-ha-long"
    assert [p["attempt"] for p in result["path"] if p["node"] == "retrieve"] == [1, 2]


def test_per_run_context_overrides_reach_the_nodes(demo_services):
    graph = build_graph(services=demo_services)
    question = {"question": "Ngô Quyền đánh tan quân Nam Hán ở sông nào năm nào?"}
    default = graph.invoke(question, context=Context(use_cache=False))
    narrow = graph.invoke(question, context=Context(top_k=2, rerank_top_n=1, use_cache=False))

    def hits(result):
        return next(p for p in result["path"] if p["node"] == "retrieve")["hits"]

    assert hits(narrow) == 2 < hits(default) == demo_services.settings.retrieval.top_k
    assert len(narrow["sources"]) == 1 and "938" in narrow["answer"]
    grading = next(p for p in default["path"] if p["node"] == "grade_documents")
    best = max(grading["coverage"])
    assert 0.5 <= best < 1.0  # the best source holds most of the question's terms, not all
    strict = graph.invoke(question, context=Context(relevance_threshold=1.0, use_cache=False))
    assert strict["fallback_reason"] == "no_relevant_documents"
    prompt = graph.invoke(
        question, context=Context(answer_prompt="{sources}\n{question}", use_cache=False)
    )
    assert prompt["answer"] == default["answer"]  # the extractive answerer reads no prompt
    with pytest.raises(ValueError, match="top_k: Input should be greater than or equal to 1"):
        graph.invoke(question, context=Context(top_k=0))


def _step_types() -> dict[str, type]:
    return {
        get_args(get_type_hints(t)["node"])[0]: t
        for t in get_args(PathStep)  # one TypedDict per node, discriminated by `node`
    }


def test_every_path_entry_has_its_node_type_fields(demo_services):
    """The path's consumers (metrics, evals, CLI) read fields by name: each entry must hold the
    required fields its type declares and nothing it does not."""
    graph = build_graph(services=demo_services)
    runs = [
        graph.invoke({"question": "Ngô Quyền đánh tan quân Nam Hán năm nào?"}),
        graph.invoke({"question": "Ngô Quyền đánh tan quân Nam Hán năm nào?"}),  # a cache hit
        graph.invoke({"question": "Giá cổ phiếu Tesla hôm nay?"}),  # retries, then fallback
        graph.invoke({"question": "Ngô Quyền năm nào?"}, context=Context(use_cache=False)),
    ]
    types = _step_types()
    seen = set()
    for result in runs:
        for entry in result["path"]:
            hints = get_type_hints(types[entry["node"]], include_extras=True)
            required = {k for k, h in hints.items() if get_origin(h) is not NotRequired}
            assert required <= set(entry) <= set(hints), entry
            seen.add(entry["node"])
    assert {"check_cache", "retrieve", "rerank", "grade_documents", "generate"} <= seen
    assert {"check_grounding", "write_cache", "rewrite_query", "fallback"} <= seen
    assert runs[1]["path"][0]["looked_up"] and runs[1]["path"][0]["hit"]
    assert not runs[3]["path"][0]["looked_up"] and runs[3]["path"][0]["reason"] == "off"


def test_start_turn_resets_every_per_turn_field(demo_services):
    """A thread's second turn starts clean: nothing of the first (a retry's widened top_k and
    relaxed filters, its attempts, answer or path) leaks into it; only history carries over."""
    per_turn = set(TurnState.__annotations__) | set(OutputState.__annotations__) | {"filters"}
    per_turn -= {"clarification"}  # the server's reading of an interrupt, never in the state
    assert per_turn <= set(fresh_turn("q"))  # a new per-turn field must be reset here
    graph = build_graph(services=demo_services, checkpointer=InMemorySaver())
    config: RunnableConfig = {"configurable": {"thread_id": "turns"}}
    first = graph.invoke(
        {"question": "Vịnh Hạ Long có bao nhiêu hòn đảo?", "filters": {"doc_id": "pho"}},
        config=config,
    )
    assert "rewrite_query" in nodes(first)  # the first turn retried: top_k widened, filters off
    after_first = graph.get_state(config).values
    assert after_first["search_filters"] is None and after_first["top_k"]
    graph.invoke({"question": "Ngô Quyền đánh tan quân Nam Hán năm nào?"}, config=config)
    state = graph.get_state(config).values
    assert not state["filters"] and state["top_k"] is None  # the first turn's filters ended
    assert state["retrieval_attempts"] == 1 and state["generation_attempts"] == 1
    assert nodes(state)[0] == "check_cache" and nodes(state).count("retrieve") == 1
    assert len(state["history"]) == 2


def test_a_turn_answered_from_the_cache_joins_its_thread(demo_services):
    """A cache hit is a turn too: the thread's follow-up is rewritten with it, and is not
    answered from the shared cache."""
    graph = build_graph(services=demo_services, checkpointer=InMemorySaver())
    question = "Vịnh Hạ Long có bao nhiêu hòn đảo?"
    other: RunnableConfig = {"configurable": {"thread_id": "another-asker"}}
    graph.invoke({"question": question}, config=other)  # another asker fills the cache
    config: RunnableConfig = {"configurable": {"thread_id": "after-a-hit"}}
    first = graph.invoke({"question": question}, config=config)
    assert first["cache_hit"] is True
    assert [t["question"] for t in graph.get_state(config).values["history"]] == [question]
    follow = graph.invoke({"question": "Còn được UNESCO công nhận năm nào?"}, config=config)
    assert follow["cache_hit"] is False and follow["path"][0]["reason"] == "conversation"
    assert follow["path"][1]["node"] == "rewrite_query" and "1994" in follow["answer"]

"""Every LLM edge driven by a scripted fake chat model: regenerate, rewrite, both bounds, and
the heuristic fallback when the model's answer cannot be read."""

import pytest

from graph import build_graph
from tests.fakes import ScriptedChatModel

GOOD = "Vịnh Hạ Long có gần 2.000 hòn đảo đá vôi [1]."
BAD = "Vịnh Hạ Long có một triệu hòn đảo bằng vàng [1]."
QUESTION = {"question": "Vịnh Hạ Long có bao nhiêu hòn đảo?"}


@pytest.fixture
def llm_graph(settings, make_demo_services):
    def make(**scripts):
        model = ScriptedChatModel(scripts=scripts)
        configured = settings.model_copy(
            update={
                "generator": settings.generator.model_copy(
                    update={"kind": "openai", "base_url": "http://127.0.0.1:9/v1"}
                ),
                "grader": settings.grader.model_copy(update={"kind": "llm"}),
            }
        )
        services = make_demo_services(configured, chat_model=model)
        make.services = services
        return build_graph(services=services), model

    return make


def kinds(model):
    return [kind for kind, _ in model.calls]


def test_grounded_answer_from_the_model(llm_graph):
    graph, model = llm_graph(relevance=[True], answer=[GOOD], grounding=[{"grounded": True}])
    result = graph.invoke(QUESTION)
    assert kinds(model) == ["relevance", "answer", "grounding"]
    assert result["answer"] == GOOD and result["grounded"]["value"] is True
    assert result["citations"][0]["marker"] == 1
    generate = next(p for p in result["path"] if p["node"] == "generate")
    assert generate["generator"] == "openai" and generate["model"] is True
    prompt = next(p for k, p in model.calls if k == "answer")
    assert "[1] Vịnh Hạ Long:" in prompt and "Câu hỏi: Vịnh Hạ Long có bao nhiêu hòn đảo?" in prompt


def test_ungrounded_answer_is_regenerated_strictly(llm_graph):
    graph, model = llm_graph(
        relevance=[True],
        answer=[BAD, GOOD],
        grounding=[{"grounded": False, "unsupported_sentence": BAD}, {"grounded": True}],
    )
    result = graph.invoke(QUESTION)
    assert kinds(model) == ["relevance", "answer", "grounding", "answer", "grounding"]
    assert result["answer"] == GOOD
    strict_prompt = [p for k, p in model.calls if k == "answer"][1]
    assert "lần trả lời trước có câu không được nguồn xác nhận" in strict_prompt
    checks = [p for p in result["path"] if p["node"] == "check_grounding"]
    assert [c["grounded"] for c in checks] == [False, True]
    assert result["path"][-1]["node"] == "write_cache"


def test_generation_attempts_are_bounded(llm_graph):
    graph, model = llm_graph(relevance=[True], answer=[BAD], grounding=[{"grounded": False}])
    result = graph.invoke(QUESTION)
    assert kinds(model).count("answer") == 2  # max_generation_attempts
    assert result["fallback_reason"] == "not_grounded"
    assert result["path"][-1]["node"] == "fallback" and result["grounded"]["value"] is False


def test_nothing_relevant_rewrites_with_the_model_then_answers(llm_graph):
    graph, model = llm_graph(
        relevance=[False, True],
        rewrite=["số đảo vịnh Hạ Long"],
        answer=[GOOD],
        grounding=[{"grounded": True}],
    )
    result = graph.invoke(QUESTION)
    assert kinds(model) == ["relevance", "rewrite", "relevance", "answer", "grounding"]
    rewrite = next(p for p in result["path"] if p["node"] == "rewrite_query")
    assert rewrite["by"] == "llm" and rewrite["query"] == "số đảo vịnh Hạ Long"
    assert result["grounded"]["value"] is True


def test_retrieval_attempts_are_bounded_with_the_model(llm_graph):
    graph, model = llm_graph(relevance=[False], rewrite=["vẫn không thấy"])
    result = graph.invoke(QUESTION)
    assert kinds(model) == ["relevance", "rewrite", "relevance"]
    assert result["fallback_reason"] == "no_relevant_documents"


def test_unreadable_model_verdicts_fall_back_to_heuristics(llm_graph):
    graph, model = llm_graph(relevance=["không biết"], answer=[GOOD], grounding=["hmm"])
    result = graph.invoke(QUESTION)
    grade = next(p for p in result["path"] if p["node"] == "grade_documents")
    check = next(p for p in result["path"] if p["node"] == "check_grounding")
    assert grade["by"] == "overlap" and check["by"] == "overlap"
    assert result["answer"] == GOOD and result["grounded"]["value"] is True


def test_follow_up_is_condensed_by_the_model(llm_graph):
    from langgraph.checkpoint.memory import InMemorySaver

    graph, model = llm_graph(
        relevance=[True],
        condense=["Vịnh Hạ Long được UNESCO công nhận năm nào?"],
        answer=[GOOD, "Năm 1994 [1]."],
        grounding=[{"grounded": True}],
    )
    graph = build_graph(services=llm_graph.services, checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t-llm"}}
    graph.invoke(QUESTION, config=config)
    result = graph.invoke({"question": "Còn được UNESCO công nhận năm nào?"}, config=config)
    assert result["standalone_question"] == "Vịnh Hạ Long được UNESCO công nhận năm nào?"
    condense_prompt = next(p for k, p in model.calls if k == "condense")
    assert "Hỏi: Vịnh Hạ Long có bao nhiêu hòn đảo?" in condense_prompt

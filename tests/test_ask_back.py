"""A question that could be about several laws is asked back ("which law?") with LangGraph's
`interrupt`, and answered from the law the reply picks: in the graph, through /rag (with and
without a thread, streamed), through /v1 (the clarification is the assistant's message). The
laws are the project's sample law and another on the same matters, written for tests."""

import json

import pytest
from fastapi.testclient import TestClient
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from evals.law_sample import LAW_VERSIONS
from graph import build_graph
from server.main import create_app
from tools.corpus.documents import Document
from tools.corpus.passages import Passage
from tools.ingest.pipeline import ingest_documents
from tools.kb.ambiguity import chosen_option, find_ambiguity

URBAN = "Luật Vườn cây đô thị 2025 (99/2025/QH15)"
RURAL = "Luật Vườn cây nông thôn 2025 (98/2025/QH15)"
UNNAMED = "Luật này có hiệu lực từ ngày nào?"  # "luật này", and nothing before it
CLOSE = "Hành vi nào bị nghiêm cấm?"  # both laws say it in close words
CLEAR = "Phí gửi xe máy ở vườn là bao nhiêu?"  # the urban law's wording, far ahead


def passage(doc_id: str, name: str, score: float) -> Passage:
    meta = {"loai": "Luật", "ten": name, "van_ban": f"Luật {name}"}
    return Passage(
        id=doc_id, doc_id=doc_id, title=name, text="...", source="", position=0,
        location=name, score=score, metadata=meta,
    )  # fmt: skip


def test_which_laws_are_close_and_which_reply_picks_one():
    urban, rural = passage("u", "Vườn cây đô thị", 1.0), passage("r", "Vườn cây nông thôn", 0.95)
    found = find_ambiguity("Hành vi nào bị cấm?", [urban, rural], margin=0.1, has_history=False)
    assert found is not None and found.reason == "close_scores"
    assert [c.label for c in found.candidates] == [
        "Luật Vườn cây đô thị",
        "Luật Vườn cây nông thôn",
    ]
    far = passage("r", "Vườn cây nông thôn", 0.5)
    assert (
        find_ambiguity("Hành vi nào bị cấm?", [urban, far], margin=0.1, has_history=False) is None
    )
    # "luật này" with nothing before it: asked whatever the scores
    unnamed = find_ambiguity("Luat nay quy dinh gi?", [urban, far], margin=0.1, has_history=False)
    assert unnamed is not None and unnamed.reason == "unnamed_reference"
    # ... but a conversation says which law "này" is
    assert (
        find_ambiguity("Luật này quy định gì?", [urban, far], margin=0.1, has_history=True) is None
    )
    two_docs_one_law = [urban, passage("u2", "Vườn cây đô thị", 0.99)]
    assert find_ambiguity("Cấm gì?", two_docs_one_law, margin=0.1, has_history=False) is None
    plain = Passage(**{**far, "metadata": {}})  # a document that is not a law
    assert find_ambiguity("Cấm gì?", [urban, plain], margin=0.1, has_history=False) is None

    labels = [URBAN, RURAL]
    assert chosen_option("2", labels) == 1 and chosen_option(" 1. ", labels) == 0
    assert chosen_option(RURAL, labels) == 1  # the button's text
    assert chosen_option("luat vuon cay nong thon", labels) == 1  # part of it, without marks
    assert chosen_option("theo 99/2025/QH15", labels) == 0  # its number
    assert chosen_option("3", labels) is None and chosen_option("luật vườn cây", labels) is None
    assert chosen_option("Phí gửi xe là bao nhiêu?", labels) is None  # a new question


@pytest.fixture
def two_laws(make_demo_services):
    services = make_demo_services()
    laws = [v for v in LAW_VERSIONS if v.doc_id in ("urban-2025", "rural")]
    documents = [Document(v.doc_id, v.doc_id, v.text, f"{v.doc_id}.txt") for v in laws]
    ingest_documents(documents, services.retrieval.kb, services.settings)
    return services


def test_the_graph_asks_back_and_resumes_from_the_pick(two_laws):
    graph = build_graph(services=two_laws, checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "which"}}
    stopped = graph.invoke({"question": UNNAMED}, config)
    [interrupt] = stopped["__interrupt__"]
    assert interrupt.value["reason"] == "unnamed_reference"
    assert [o["label"] for o in interrupt.value["options"]] == [URBAN, RURAL]
    assert graph.get_state(config).next == ("ask_which_law",)
    assert {p["doc_id"] for p in interrupt.value["sources"]} == {"urban-2025", "rural"}
    resumed = graph.invoke(Command(resume="2"), config)
    assert "01 tháng 7 năm 2026" in resumed["answer"]  # what the rural law says
    assert {s["doc_id"] for s in resumed["sources"]} == {"rural"}
    [asked] = [p for p in resumed["path"] if p["node"] == "ask_which_law"]
    assert asked["chosen"] == RURAL and asked["options"] == [URBAN, RURAL]
    assert resumed["path"][-1] == {"node": "write_cache", "written": False}  # the pick's answer
    # the same question from someone else is asked again, not answered from the cache
    again = graph.invoke({"question": UNNAMED}, {"configurable": {"thread_id": "other"}})
    assert "__interrupt__" in again

    close = graph.invoke({"question": CLOSE}, {"configurable": {"thread_id": "close"}})
    assert close["__interrupt__"][0].value["reason"] == "close_scores"
    kept = graph.invoke(Command(resume="không rõ"), {"configurable": {"thread_id": "close"}})
    assert {s["doc_id"] for s in kept["sources"]} == {"urban-2025", "rural"}  # none picked: both
    assert next(p for p in kept["path"] if p["node"] == "ask_which_law")["chosen"] is None


def test_what_the_sources_call_for_is_decided_once_by_the_node_that_set_them(two_laws, monkeypatch):
    """The question back and the version choice are decided where the sources were set
    (grading, then the reply's pick) and read by the router and the acting node: not
    recomputed by the route, nor again when the run resumes."""
    import nodes.law_decision as law_decision

    calls = {"ambiguity": 0, "versions": 0}

    def counted(name, function):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return function(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(
        law_decision, "find_ambiguity", counted("ambiguity", law_decision.find_ambiguity)
    )
    monkeypatch.setattr(
        law_decision, "choose_versions", counted("versions", law_decision.choose_versions)
    )
    graph = build_graph(services=two_laws, checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "once"}}
    assert "__interrupt__" in graph.invoke({"question": UNNAMED}, config)
    assert calls == {"ambiguity": 1, "versions": 1}  # grade_documents
    graph.invoke(Command(resume="2"), config)
    assert calls == {"ambiguity": 1, "versions": 2}  # ask_which_law's narrowed sources


def test_clear_named_split_and_switched_off_questions_are_not_asked_back(two_laws):
    graph = build_graph(services=two_laws, checkpointer=InMemorySaver())

    def run(question, thread, **context):
        config = {"configurable": {"thread_id": thread}}
        return graph.invoke({"question": question}, config, context=context or None)

    clear = run(CLEAR, "clear")
    assert "__interrupt__" not in clear and "năm nghìn đồng" in clear["answer"]
    named = run(f"Theo Luật Vườn cây nông thôn, {UNNAMED[0].lower()}{UNNAMED[1:]}", "named")
    assert "__interrupt__" not in named and "01 tháng 7 năm 2026" in named["answer"]
    assert "__interrupt__" not in run(CLOSE, "off", ask_back=False)
    # each ask of a message with several is answered on its own branch, which cannot stop
    split = run(f"{CLOSE} {CLEAR}", "split")
    assert "__interrupt__" not in split and len(split["asks"]) == 2


@pytest.fixture
def client(settings, two_laws):
    with TestClient(create_app(settings, services=two_laws)) as client:
        yield client


def test_rag_returns_the_clarification_and_resumes_in_its_thread(client):
    stopped = client.post("/rag/invoke", json={"input": {"question": UNNAMED}}).json()["output"]
    clarification = stopped["clarification"]
    assert [o["label"] for o in clarification["options"]] == [URBAN, RURAL]
    assert (
        stopped["answer"].startswith(clarification["question"])
        and "2. " + RURAL in stopped["answer"]
    )
    # a client that ignores the question back still gets every candidate's sources
    assert {s["doc_id"] for s in stopped["sources"]} == {"urban-2025", "rural"}
    assert "answer_id" in stopped and "sources" not in clarification
    thread = clarification["thread_id"]  # the server opened one: the request named none
    resume = {"input": {"question": RURAL}, "config": {"configurable": {"thread_id": thread}}}
    answered = client.post("/rag/invoke", json=resume).json()["output"]
    assert "01 tháng 7 năm 2026" in answered["answer"]
    assert answered.get("clarification") is None, answered["clarification"]
    # another caller naming the same thread id finds nothing waiting there
    other = client.post("/rag/invoke", json=resume, headers={"X-User-Id": "someone-else"}).json()[
        "output"
    ]
    assert other.get("clarification") is None and "01 tháng 7 năm 2026" not in other["answer"]

    # a batch: each question back waits in its own thread
    batch = client.post(
        "/rag/batch", json={"inputs": [{"question": UNNAMED}, {"question": CLOSE}]}
    ).json()["output"]
    threads = [out["clarification"]["thread_id"] for out in batch]
    assert len(set(threads)) == 2
    picked = client.post(
        "/rag/invoke",
        json={"input": {"question": "2"}, "config": {"configurable": {"thread_id": threads[0]}}},
    ).json()["output"]
    assert "01 tháng 7 năm 2026" in picked["answer"]

    # a thread of the client's own, streamed (the chat page): the last chunk has it
    headers = {"X-Thread-Id": "chat-1"}
    with client.stream(
        "POST", "/rag/stream", json={"input": {"question": CLOSE}}, headers=headers
    ) as response:
        data = [json.loads(line[5:]) for line in response.iter_lines() if line.startswith("data:")]
    last = data[-1]
    assert last["clarification"]["thread_id"] == "chat-1"
    assert last["clarification"]["reason"] == "close_scores"
    # a message that picks none of the options is a new question in the same thread
    fresh = client.post("/rag/invoke", json={"input": {"question": CLEAR}}, headers=headers)
    assert "năm nghìn đồng" in fresh.json()["output"]["answer"]


def test_v1_asks_back_as_the_assistant_and_resumes_from_the_reply(client):
    asked = [{"role": "user", "content": UNNAMED}]
    first = client.post("/v1/chat/completions", json={"model": "vinarag", "messages": asked})
    message = first.json()["choices"][0]["message"]
    assert message["content"].startswith("Câu hỏi nhắc đến") and "1. " + URBAN in message["content"]
    assert first.json()["vinarag"]["clarification"]["options"][1]["label"] == RURAL
    assert "Nguồn:" not in message["content"] and first.json()["vinarag"]["sources"]
    replied = [*asked, message, {"role": "user", "content": "2"}]
    second = client.post("/v1/chat/completions", json={"model": "vinarag", "messages": replied})
    content = second.json()["choices"][0]["message"]["content"]
    assert "01 tháng 7 năm 2026" in content and "Nguồn:" in content
    # the same reply under an edited clarification resumes nothing: a question on its own
    edited = [*asked, {**message, "content": "Bạn hỏi luật nào?"}, {"role": "user", "content": "2"}]
    third = client.post("/v1/chat/completions", json={"model": "vinarag", "messages": edited})
    assert "01 tháng 7 năm 2026" not in third.json()["choices"][0]["message"]["content"]


def test_without_conversation_memory_the_clarification_names_no_thread(settings, two_laws):
    configured = settings.model_copy(
        update={"memory": settings.memory.model_copy(update={"backend": "none"})}
    )
    with TestClient(create_app(configured, services=two_laws)) as client:
        out = client.post("/rag/invoke", json={"input": {"question": UNNAMED}}).json()["output"]
    assert out["clarification"]["options"] and "thread_id" not in out["clarification"]


@pytest.mark.slow
def test_ask_back_benchmark(settings):
    """`vinarag eval documents`' ask-back figures: never when switched off or a law is named,
    always for the open questions, rarely for the sample ones."""
    from evals.documents_benchmark import ask_back_figures

    figures = ask_back_figures(settings)
    assert all(
        f["asked_back"] == 0.0 for name, f in figures.items() if name.startswith("ask_back off")
    )
    assert figures["ask_back on, naming the law"] == {"questions": 30, "asked_back": 0.0}
    assert figures["ask_back on, open questions"]["asked_back"] >= 0.8  # 5 of 6 sparse-only
    assert figures["ask_back on, sample questions"]["asked_back"] <= 0.1


def test_no_question_back_once_a_version_was_chosen(settings):
    """choose_version narrows the sources to the version in force, which can leave two laws
    that look alike; the way on from it has no edge back to ask_which_law, so the route must
    not choose it (it once raised KeyError('ask_which_law') on real laws)."""
    from graph.routing import make_routes
    from graph.state import VersionPlan
    from nodes.choose_version import make_choose_version
    from nodes.law_decision import decide_for_laws

    urban, rural = passage("u", "Vườn cây đô thị", 1.0), passage("r", "Vườn cây nông thôn", 0.99)
    state = {"question": "Hành vi nào bị cấm?", "relevant": [urban, rural], "path": []}
    decided = decide_for_laws(state, [urban, rural], settings.graph)
    assert decided["ask"] is not None
    route = make_routes(settings).after_grading
    assert route({**state, "law_decision": decided}, None) == "ask_which_law"  # before
    plan = VersionPlan(laws=[], left_out=[], notes=[])
    waiting = {**state, "law_decision": {**decided, "versions": plan}}
    chosen = {**waiting, **make_choose_version(None)(waiting, None)}
    assert route(chosen, None) == "generate"  # after: answered

"""A message with several asks: split by rules on Vietnamese punctuation and conjunctions
(marked or not), each ask answered on its own branch with its own citations, in order; a
message with one ask takes exactly the path it always took."""

import json

import pytest

from graph import build_graph
from tests.helpers import SHARED_DATA, need
from tools.text.asks import split_asks
from tools.text.citations import renumber
from tools.text.tones import strip_tones

TWO_ASKS = "Ngô Quyền đánh tan quân Nam Hán năm nào? Đỉnh Fansipan cao bao nhiêu mét?"
LIMIT = 4


@pytest.mark.parametrize(
    ("message", "asks"),
    [
        (
            "Chiếm đoạt di vật của tử sĩ bị phạt tù bao nhiêu năm? Người dưới bao nhiêu tuổi "
            "không bị áp dụng tù chung thân?",
            [
                "Chiếm đoạt di vật của tử sĩ bị phạt tù bao nhiêu năm?",
                "Người dưới bao nhiêu tuổi không bị áp dụng tù chung thân?",
            ],
        ),
        (  # numbered, after a lead that asks nothing
            "Cho tôi hỏi:\n1. Thời hiệu khởi kiện là bao lâu\n2) Ai có quyền khởi kiện",
            ["Thời hiệu khởi kiện là bao lâu", "Ai có quyền khởi kiện"],
        ),
        (  # two questions joined by a conjunction
            "Người lao động được nghỉ phép bao nhiêu ngày, còn người học việc được trả lương "
            "như thế nào?",
            [
                "Người lao động được nghỉ phép bao nhiêu ngày?",
                "Người học việc được trả lương như thế nào?",
            ],
        ),
        (
            "Mức phạt khi vượt đèn đỏ là bao nhiêu và ai có thẩm quyền xử phạt vi phạm này?",
            ["Mức phạt khi vượt đèn đỏ là bao nhiêu?", "Ai có thẩm quyền xử phạt vi phạm này?"],
        ),
        (  # a clause after the last question that asks nothing stays with it
            "Hà Nội là thủ đô từ năm nào? Sông Hồng dài bao nhiêu km? Xin cảm ơn.",
            ["Hà Nội là thủ đô từ năm nào?", "Sông Hồng dài bao nhiêu km? Xin cảm ơn."],
        ),
    ],
)
def test_asks_are_split_marked_and_unmarked(message, asks):
    assert split_asks(message, LIMIT) == asks
    plain = strip_tones(message)
    assert split_asks(plain, LIMIT) == [strip_tones(a) for a in asks]


@pytest.mark.parametrize(
    "message",
    [
        "Vịnh Hạ Long có bao nhiêu hòn đảo?",
        "Ai và khi nào đã dời đô về Thăng Long?",  # one question: the sides are too short
        "Sông Hồng và sông Cửu Long chảy qua những tỉnh nào?",  # "và" joins two names
        "Tôi đọc Điều 5. Điều này áp dụng cho ai?",  # context before the question
        "1. Hà Nội là thủ đô. 2. Huế là cố đô.",  # a numbered list that asks nothing
        "Năm 938 Ngô Quyền đánh thắng quân Nam Hán",
    ],
)
def test_a_single_ask_is_left_as_it_came(message):
    assert split_asks(message, LIMIT) == [message]
    assert split_asks(strip_tones(message), LIMIT) == [strip_tones(message)]


def test_the_number_of_asks_is_bounded():
    message = " ".join(f"Câu hỏi số {n} hỏi điều gì?" for n in range(1, 7))
    asks = split_asks(message, 3)
    assert len(asks) == 3 and asks[:2] == ["Câu hỏi số 1 hỏi điều gì?", "Câu hỏi số 2 hỏi điều gì?"]
    assert asks[2].startswith("Câu hỏi số 3") and asks[2].endswith("số 6 hỏi điều gì?")
    assert split_asks(message, 1) == [message]


def test_no_question_of_the_shared_set_is_split():
    """Real one-ask questions, as typed and without marks: none is cut in pieces."""
    path = SHARED_DATA / "queries.jsonl"
    need(path.is_file(), f"shared evaluation data not found at {path}")
    questions = [json.loads(line)["question"] for line in path.open(encoding="utf-8")]
    split = [q for q in questions if len(split_asks(q, LIMIT)) > 1]
    split += [q for q in map(strip_tones, questions) if len(split_asks(q, LIMIT)) > 1]
    assert len(questions) > 1000 and split == []


def test_renumbered_markers_keep_their_place():
    assert renumber("A [1]. B [2][1]. C [3].", {1: 4, 2: 1}) == "A [4]. B [1][4]. C [3]."


def nodes(result):
    return [p["node"] for p in result["path"]]


def test_each_ask_is_answered_on_its_own_with_its_own_citations(demo_services):
    graph = build_graph(services=demo_services)
    result = graph.invoke({"question": TWO_ASKS})
    assert nodes(result) == ["check_cache", "combine_answers", "write_cache"]
    first, second = result["asks"]
    assert [first["question"], second["question"]] == TWO_ASKS.replace("? ", "?\n").split("\n")
    for ask in result["asks"]:
        assert [p["node"] for p in ask["path"]] == [
            "retrieve",
            "rerank",
            "grade_documents",
            "generate",
            "check_grounding",
        ]
    assert first["sources"][0]["doc_id"] == "bach-dang-938" and "938" in first["answer"]
    assert second["sources"][0]["doc_id"] == "fansipan" and "3.143" in second["answer"]
    answer = result["answer"]
    assert (
        answer.startswith(f"1. {first['question']}\n")
        and f"\n\n2. {second['question']}\n" in answer
    )
    assert answer.index("938") < answer.index("3.143")
    # every citation, renumbered into the merged source list, points at the passage it cited
    ids = [s["id"] for s in result["sources"]]
    assert len(ids) == len(set(ids))
    cited = {(c["source_id"], c["text"]) for a in result["asks"] for c in a["citations"]}
    assert {(ids[c["marker"] - 1], c["text"]) for c in result["citations"]} == cited
    second_markers = {c["marker"] for c in result["citations"] if c["doc_id"] == "fansipan"}
    assert second_markers and all(f"[{m}]" in answer.split("\n\n2. ")[1] for m in second_markers)
    assert result["grounded"]["value"] is True and result["fallback_reason"] is None
    assert result["path"][1] == {"node": "combine_answers", "asks": 2, "answered": 2}

    again = graph.invoke({"question": TWO_ASKS})  # the whole message is cached, asks included
    assert again["cache_hit"] is True and again["answer"] == answer
    assert [a["question"] for a in again["asks"]] == [first["question"], second["question"]]


def test_unmarked_asks_are_answered_apart(demo_services):
    result = build_graph(services=demo_services).invoke({"question": strip_tones(TWO_ASKS)})
    assert [a["sources"][0]["doc_id"] for a in result["asks"]] == ["bach-dang-938", "fansipan"]


def test_an_ask_the_documents_do_not_answer_falls_back_alone(demo_services):
    graph = build_graph(services=demo_services)
    result = graph.invoke(
        {"question": "Đỉnh Fansipan cao bao nhiêu mét? Thủ đô của nước Pháp là gì?"}
    )
    answered, unanswered = result["asks"]
    assert answered["fallback_reason"] is None and "3.143" in answered["answer"]
    assert unanswered["fallback_reason"] == "no_relevant_documents"
    assert nodes(unanswered).count("retrieve") == 2  # its own retry bound
    assert result["fallback_reason"] is None and result["grounded"]["value"] is False
    assert result["path"][1] == {"node": "combine_answers", "asks": 2, "answered": 1}
    assert result["path"][2] == {"node": "write_cache", "written": False}  # not kept
    assert graph.invoke({"question": result["standalone_question"]})["cache_hit"] is False


def test_branches_are_bounded_by_max_asks(settings, make_demo_services):
    bounded = settings.model_copy(
        update={"graph": settings.graph.model_copy(update={"max_asks": 2})}
    )
    runs: list[str] = []
    graph = build_graph(
        services=make_demo_services(bounded),
        observers=[lambda node, seconds, update, error: runs.append(node)],
    )
    result = graph.invoke({"question": TWO_ASKS + " Vịnh Hạ Long có bao nhiêu hòn đảo?"})
    assert runs.count("answer_ask") == 2 and len(result["asks"]) == 2
    assert result["asks"][1]["question"].endswith("Vịnh Hạ Long có bao nhiêu hòn đảo?")


def test_a_single_ask_takes_todays_path(settings, make_demo_services):
    runs: list[str] = []
    graph = build_graph(
        services=make_demo_services(),
        observers=[lambda node, seconds, update, error: runs.append(node)],
    )
    result = graph.invoke({"question": "Vịnh Hạ Long có bao nhiêu hòn đảo?"})
    assert "answer_ask" not in runs and "combine_answers" not in runs
    assert result["asks"] == [] and nodes(result)[1] == "retrieve"
    assert "combine_answers" not in json.dumps(result["path"])


@pytest.mark.slow
def test_paired_asks_benchmark(settings, shared_data):
    """`vinarag eval asks` on a slice: pairs about different titles, both graphs, JSON shape."""
    from evals.asks_benchmark import make_pairs, run_asks_benchmark
    from evals.rag_benchmark import load_eval_set

    passages, items = load_eval_set(
        corpus=shared_data / "corpus.jsonl", queries=shared_data / "queries.jsonl"
    )
    passages = passages[:12]
    kept = {p.id for p in passages}
    items = [i for i in items if set(i.positive_ids) <= kept]
    titles = {p.id: p.title for p in passages}
    pairs = make_pairs(passages, items, 6, seed=1)
    assert len(pairs) == 6
    for pair in pairs:
        assert titles[pair.first.positive_ids[0]] != titles[pair.second.positive_ids[0]]
        assert pair.message.count("?") == 2
    result = run_asks_benchmark(settings, passages, items, pairs=6, singles=5, progress=False)
    before, after = result["paired"].values()
    assert before["split_in_two"] == 0.0 and after["split_in_two"] == 1.0
    assert after["both_passages_among_sources"] >= before["both_passages_among_sources"]
    assert result["single"]["same_answer"] == 1.0
    assert result["dataset"] == {"passages": 12, "pairs": 6, "singles": 5}

"""Graders and query rewriters as services: the one method each node calls, heuristic or model,
and the model's failures answered by the heuristic inside the service."""

from __future__ import annotations

from tests.fakes import ScriptedChatModel
from tests.helpers import passage
from tools.grade.factory import build_graders
from tools.grade.heuristic import OverlapGrader, TermRewriter
from tools.grade.llm import LLMGrader, LLMRewriter

HA_LONG = passage("ha-long", "Vịnh Hạ Long có gần 2.000 hòn đảo đá vôi.", title="Hạ Long")
HUE = passage("hue", "Huế là kinh đô của triều Nguyễn.", title="Huế")
QUESTION = "Vịnh Hạ Long có bao nhiêu hòn đảo?"


def test_the_configured_kind_is_built(settings):
    grader, rewriter = build_graders(settings, None)
    assert isinstance(grader, OverlapGrader) and isinstance(rewriter, TermRewriter)
    llm = settings.model_copy(update={"grader": settings.grader.model_copy(update={"kind": "llm"})})
    assert isinstance(build_graders(llm, None)[0], OverlapGrader)  # no model: said, heuristic
    model = ScriptedChatModel(scripts={})
    grader, rewriter = build_graders(llm, model)
    assert isinstance(grader, LLMGrader) and isinstance(rewriter, LLMRewriter)


def test_overlap_grades_carry_the_coverage_the_path_shows():
    grades = OverlapGrader(0.5).grade_relevance(QUESTION, [HA_LONG, HUE], 0.5)
    assert grades.relevant == [True, False] and grades.by == "overlap"
    assert grades.coverage[0] > 0.5 > grades.coverage[1]


def test_the_model_decides_relevance_and_a_bad_count_falls_back():
    model = ScriptedChatModel(scripts={"relevance": [{"relevant": [False, True]}]})
    grader = LLMGrader(model, OverlapGrader(0.5))
    grades = grader.grade_relevance(QUESTION, [HA_LONG, HUE], 0.5)
    assert (grades.relevant, grades.by) == ([False, True], "llm")
    assert grades.coverage[0] > 0.5  # the overlap's coverage is kept for the path
    model.scripts["relevance"] = [{"relevant": [True]}]  # one verdict for two sources
    assert grader.grade_relevance(QUESTION, [HA_LONG, HUE], 0.5).by == "overlap"


def test_a_citation_of_no_source_is_never_grounded_whatever_the_model_says():
    model = ScriptedChatModel(scripts={"grounding": [{"grounded": True}]})
    grader = LLMGrader(model, OverlapGrader(0.5))
    fine = grader.check_grounding("Vịnh Hạ Long có gần 2.000 hòn đảo [1].", [HA_LONG], 0.6)
    assert (fine.grounded, fine.by) == (True, "llm")
    bad = grader.check_grounding("Vịnh Hạ Long có gần 2.000 hòn đảo [7].", [HA_LONG], 0.6)
    assert bad.grounded is False and bad.invalid_markers == [7]
    model.scripts["grounding"] = ["không phải JSON"]
    assert grader.check_grounding("Vịnh có đảo [1].", [HA_LONG], 0.6).by == "overlap"


def test_rewriters_condense_follow_ups_and_broaden_retries():
    history = [{"question": "Vịnh Hạ Long ở tỉnh nào?", "answer": "Quảng Ninh."}]
    terms = TermRewriter()
    assert terms.condense("Còn diện tích thì sao?", history).query.startswith("Còn diện tích")
    assert terms.condense("Còn diện tích thì sao?", []).query == "Còn diện tích thì sao?"
    assert terms.broaden("Vịnh Hạ Long có bao nhiêu hòn đảo?").by == "terms"
    model = ScriptedChatModel(scripts={"condense": ["Diện tích vịnh Hạ Long là bao nhiêu?"]})
    llm = LLMRewriter(model, terms)
    condensed = llm.condense("Còn diện tích thì sao?", history)
    assert (condensed.query, condensed.by) == ("Diện tích vịnh Hạ Long là bao nhiêu?", "llm")
    assert llm.condense("Còn diện tích thì sao?", []).by == "terms"  # nothing to condense


def test_an_answer_that_says_nothing_is_not_grounded():
    """Punctuation without a word or a citation (what a broken model writes) has nothing to
    stand on: not grounded, so the graph asks again and then answers honestly."""
    grader = OverlapGrader(0.5)
    for empty in (": : : : : :", "...", ""):
        check = grader.check_grounding(empty, [HA_LONG], 0.6)
        assert check.grounded is False and check.score == 0.0, empty
    assert grader.check_grounding("Có [1].", [HA_LONG], 0.6).grounded  # short, but cited


def test_a_rewrite_without_a_letter_is_no_rewrite():
    model = ScriptedChatModel(scripts={"condense": [": : : :"], "rewrite": ["?? ..."]})
    llm = LLMRewriter(model, TermRewriter())
    history = [{"question": "Vịnh Hạ Long ở tỉnh nào?", "answer": "Quảng Ninh."}]
    assert llm.condense("Còn diện tích thì sao?", history).by == "terms"
    assert llm.broaden(QUESTION) == TermRewriter().broaden(QUESTION)

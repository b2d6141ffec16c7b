import math

import pytest

from tests.helpers import passage
from tools.kb.fusion import normalize_scores, weighted_fusion
from tools.rerank.base import NoRerank
from tools.rerank.proximity import ProximityReranker
from tools.text.idf import window_coverage


def test_normalisation():
    assert normalize_scores([4.0, 2.0, 1.0], "max") == [1.0, 0.5, 0.25]
    assert normalize_scores([4.0, 2.0, 1.0], "minmax") == [1.0, pytest.approx(1 / 3), 0.0]
    assert normalize_scores([], "max") == []


def test_weighted_fusion_lets_a_weak_view_only_break_ties():
    runs = {
        "bm25": [("a", 10.0), ("b", 9.9), ("c", 1.0)],
        "dense": [("c", 0.9), ("b", 0.8), ("a", 0.1)],
    }
    norm = {"bm25": "max", "dense": "minmax"}
    fused = weighted_fusion(runs, {"bm25": 0.9, "dense": 0.1}, norm)
    assert [i for i, _ in fused] == ["b", "a", "c"]  # dense breaks the near-tie a/b only
    assert fused[0][1] == pytest.approx(0.9 * 0.99 + 0.1 * 0.875)
    only_bm25 = weighted_fusion(runs, {"bm25": 1.0, "dense": 0.0}, norm)
    assert [i for i, _ in only_bm25] == ["a", "b", "c"]


def test_window_coverage_counts_distinct_terms_inside_the_window():
    weights = {"a": 1.0, "b": 1.0, "c": 2.0}
    assert window_coverage(["a", "x", "b", "c"], weights, 4) == 1.0
    assert window_coverage(["a", "x", "x", "x", "b", "c"], weights, 3) == 0.75
    assert window_coverage(["x", "y"], weights, 3) == 0.0


def test_proximity_moves_the_passage_holding_the_terms_together_up():
    scattered = passage(
        "scattered",
        "Sông Hồng chảy qua nhiều tỉnh. " + "Đồng bằng rộng lớn và trù phú. " * 4 + "Dài 1.149 km.",
        1.00,
    )
    close = passage("close", "Tổng chiều dài sông Hồng là 1.149 km tính từ Vân Nam.", 0.95)
    ranked = ProximityReranker(window=8, weight=0.2).rerank(
        "sông Hồng dài bao nhiêu km", [scattered, close], top_n=2
    )
    assert [c["id"] for c in ranked] == ["close", "scattered"]
    assert ranked[0]["score"] > 0.95
    assert NoRerank().rerank("q", [scattered, close], 1) == [scattered]


def test_proximity_keeps_order_without_query_terms():
    chunks = [passage("a", "một hai ba", 0.9), passage("b", "bốn năm sáu", 0.5)]
    ranked = ProximityReranker().rerank("không liên quan", chunks, 5)
    assert [c["id"] for c in ranked] == ["a", "b"]
    assert all(math.isclose(c["score"], o["score"]) for c, o in zip(ranked, chunks, strict=True))

"""Evals: metrics by hand (Vietnamese edge cases), loaders against malformed files, the XQuAD
conversion, the Ragas suite offline (and its judge plumbing with a fake model), compare, the
gate, and the report. The gate on a fixed slice of the shared data runs here too (CI)."""

import json

import pytest

from evals.answer_metrics import citations_valid, contains_gold, exact_match, token_f1
from evals.compare import compare, format_comparison
from evals.datasets import DatasetError, load_qa_file, load_queries, load_squad
from evals.gate import GateError, check_gate, load_gate
from evals.ragas_suite import RagasRow, run_ragas
from tests.fakes import FakeJudge
from tests.helpers import DEEP


def test_contains_gold_with_tone_marks_markers_and_case():
    assert contains_gold("Tỉnh Hoà Bình nằm ở phía tây [1].", ["Hòa Bình"])
    assert contains_gold("THỦY ĐIỆN lớn nhất [2]", ["thuỷ điện"])
    assert not contains_gold("Hà Nội", ["Hải Phòng"])
    assert not contains_gold("anything", ["   "])


def test_token_f1_and_exact_match_by_hand():
    # answer syllables: thủ đô là hà nội (5); gold: hà nội (2); common 2 -> P 0.4, R 1.0
    assert token_f1("Thủ đô là Hà Nội [1]", ["Hà Nội"]) == pytest.approx(2 * 0.4 * 1.0 / 1.4)
    # numbers split on their separators, the same on both sides
    assert token_f1("cao 3.143 mét", ["3.143 mét"]) == pytest.approx(
        2 * (3 / 4) * 1.0 / (3 / 4 + 1)
    )
    # compound words count syllable by syllable; the best gold wins
    assert token_f1("quần đảo Hoàng Sa", ["đảo", "quần đảo Hoàng Sa"]) == 1.0
    assert token_f1("không liên quan", ["Hà Nội"]) == 0.0
    assert exact_match("Hoà Bình [1].", ["Hòa Bình"]) and not exact_match(
        "tỉnh Hòa Bình", ["Hòa Bình"]
    )


def test_citation_validity():
    sources = [{"id": "a"}, {"id": "b"}]
    assert citations_valid([{"marker": 2, "source_id": "b"}], sources)
    assert not citations_valid([{"marker": 3, "source_id": "b"}], sources)
    assert not citations_valid([{"marker": 1, "source_id": "b"}], sources)
    assert citations_valid([], sources)


def test_loaders_name_the_bad_line(tmp_path):
    queries = tmp_path / "q.jsonl"
    queries.write_text(
        '{"id": "1", "question": "a", "positive_ids": []}\n{"id": "2", "question": "b"}\n', "utf-8"
    )
    with pytest.raises(DatasetError, match=r"q.jsonl:2: missing field\(s\) positive_ids"):
        load_queries(queries)
    csv_file = tmp_path / "mine.csv"
    csv_file.write_text(
        "question,answer,contexts\nAi?,Lý Thái Tổ,Năm 1010 || Thăng Long\nRỗng?,\n", "utf-8"
    )
    with pytest.raises(DatasetError, match=r"mine.csv:3: empty question or answer"):
        load_qa_file(csv_file)
    csv_file.write_text(
        "question,answer,contexts\nAi dời đô?,Lý Thái Tổ,Năm 1010 || Thăng Long\n", "utf-8"
    )
    [item] = load_qa_file(csv_file)
    assert item.answers == ["Lý Thái Tổ"] and item.reference_contexts == ["Năm 1010", "Thăng Long"]
    (tmp_path / "bad.csv").write_text("q,a\nx,y\n", "utf-8")
    with pytest.raises(DatasetError, match=r"bad.csv:1: missing column\(s\) answer, question"):
        load_qa_file(tmp_path / "bad.csv")
    jsonl = tmp_path / "mine.jsonl"
    jsonl.write_text('{"question": "Ai?", "answer": "Lê Lợi"}\n{"question": "x"\n', "utf-8")
    with pytest.raises(DatasetError, match=r"mine.jsonl:2: invalid JSON"):
        load_qa_file(jsonl)
    squad = tmp_path / "s.json"
    squad.write_text(json.dumps({"data": [{"title": "T", "paragraphs": [{"qas": []}]}]}), "utf-8")
    with pytest.raises(DatasetError, match=r"data\[0\].paragraphs\[0\] has no 'context'"):
        load_squad(squad)


def test_download_converts_the_shared_copy_exactly(shared_data, tmp_path, vinarag):
    result = vinarag(
        "data",
        "download",
        "xquad-vi",
        "--from",
        str(shared_data / "xquad.vi.json"),
        "--out",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert "240 passages, 1190 questions" in result.stdout
    for name in ("corpus.jsonl", "queries.jsonl"):
        made = [
            json.loads(x) for x in (tmp_path / "xquad-vi" / name).read_text("utf-8").splitlines()
        ]
        shared = [json.loads(x) for x in (shared_data / name).read_text("utf-8").splitlines()]
        assert made == shared, name


def test_download_without_network_says_what_to_do(monkeypatch, tmp_path):
    from evals import download

    monkeypatch.setitem(download.SOURCES, "xquad-vi", "http://127.0.0.1:1/xquad.vi.json")
    with pytest.raises(download.DownloadError, match="--from PATH"):
        download.download("xquad-vi", tmp_path)


HANOI = "Hà Nội là thủ đô của Việt Nam."
ROWS = [
    RagasRow("Thủ đô Việt Nam là gì?", HANOI + " [1]", [HANOI], "Hà Nội", [HANOI]),
    RagasRow(
        "Sông nào dài nhất?",
        "Sông Đồng Nai chảy qua Đà Lạt. [1]",
        ["Sông Đồng Nai chảy qua Đà Lạt."],
        "sông Mê Kông",
        ["Sông Mê Kông dài nhất."],
    ),
    RagasRow(
        "Phở có từ khi nào?",
        "Phở ra đời đầu thế kỷ 20. [1]",
        ["Phở ra đời đầu thế kỷ 20."],
        "đầu thế kỷ 20",
        ["Phở ra đời đầu thế kỷ 20."],
    ),
]


def test_ragas_non_llm_suite_offline():
    result = run_ragas(ROWS)
    metrics = result["metrics"]
    assert metrics["string_present"] == pytest.approx(2 / 3, abs=1e-3)  # gold in answers 1 and 3
    assert [q["string_present"] for q in result["per_question"]] == [1.0, 0.0, 1.0]
    assert metrics["non_llm_context_recall"] == pytest.approx(2 / 3, abs=1e-3)
    assert all(0.0 <= v <= 1.0 for v in metrics.values())
    assert "faithfulness" not in metrics and "RougeScore" in result["skipped"]


def test_ragas_judge_plumbing_with_a_fake_model():
    from langchain_core.embeddings import DeterministicFakeEmbedding

    judge = FakeJudge()
    result = run_ragas(ROWS[:1], judge=judge, embeddings=DeterministicFakeEmbedding(size=32))
    metrics = result["metrics"]
    assert metrics["faithfulness"] == 1.0
    assert metrics["llm_context_precision_with_reference"] == pytest.approx(1.0, abs=1e-6)
    assert metrics["context_recall"] == 1.0
    assert metrics["answer_relevancy"] is not None
    assert {"NLIStatementOutput", "StatementGeneratorOutput", "ContextRecallClassification",
            "ResponseRelevanceOutput", "Verification"} <= set(judge.seen)  # fmt: skip


def test_compare_names_changed_settings_and_metrics():
    a = {
        "answers": {"contains_gold": 0.8},
        "latency": {"end_to_end": {"p50_ms": 30}},
        "config": {"settings": {"k1": 1.2}},
    }
    b = {
        "answers": {"contains_gold": 0.82},
        "latency": {"end_to_end": {"p50_ms": 30}},
        "config": {"settings": {"k1": 1.5}},
    }
    result = compare(a, b)
    assert result["config_changes"] == [{"setting": "settings.k1", "a": 1.2, "b": 1.5}]
    change = next(m for m in result["metrics"] if m["metric"] == "answers.contains_gold")
    assert change["change"] == 0.02
    text = format_comparison(result, changed_only=True)
    assert "answers.contains_gold: 0.8 -> 0.82 (+0.02)" in text and "p50_ms" not in text


def test_gate_pass_fail_and_bad_file(tmp_path):
    thresholds = {
        "answers.contains_gold": {"min": 0.8},
        "answers.fallback_rate": {"max": 0.05},
        "ragas.x": {"min": 0.1},
    }
    run = {"answers": {"contains_gold": 0.75, "fallback_rate": 0.01}}
    assert check_gate(run, thresholds) == [
        "answers.contains_gold: 0.75 is below the minimum 0.8",
        "ragas.x: missing from the run",
    ]
    bad = tmp_path / "gate.yaml"
    bad.write_text("thresholds:\n  answers.contains_gold: 0.8\n", "utf-8")
    with pytest.raises(GateError, match="give min and/or max"):
        load_gate(bad)


def _slice_metrics(gated: dict, questions: list[dict]) -> dict[str, float]:
    """The gated metrics of some of a run's questions, as the run's own summary computes them."""
    out = {}
    for metric, (_, value) in gated.items():
        values = [v for q in questions if (v := value(q)) is not None]
        if values:
            out[metric] = sum(values) / len(values)
    return out


SLICES = 3 if DEEP else 2  # disjoint slices of 200 questions the gate must hold on


@pytest.mark.slow
def test_eval_rag_report_and_the_gate_on_disjoint_slices(
    shared_data, tmp_path, vinarag, monkeypatch
):
    """The CI gate over the shared data in the default offline configuration, with its report:
    thresholds set from the sampling spread, so the same system passes on disjoint slices of
    200 questions (not only the first), and a retrieval setting broken on purpose fails."""
    from evals.gate import GATED, check_gate, load_gate

    out, report = tmp_path / "run.json", tmp_path / "report"
    corpus, queries = str(shared_data / "corpus.jsonl"), str(shared_data / "queries.jsonl")
    result = vinarag(
        "eval", "rag", "--corpus", corpus, "--queries", queries, "--limit", str(200 * SLICES),
        "--json", str(out), "--report", str(report), "--quiet", dense=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text("utf-8"))
    assert {"ragas", "answers", "retrieval", "latency", "config", "baselines"} <= set(data)
    answers = data["answers"]
    assert {"contains_gold", "token_f1", "grounded_rate", "median_answer_chars"} <= set(answers)
    assert answers["citation_valid"] == 1.0
    assert answers["cache_hit_rate_second_pass"] == pytest.approx(1.0 - answers["fallback_rate"])
    latency = data["latency"]
    assert set(latency["end_to_end"]) == {"p50_ms", "p95_ms"} and "retrieve" in latency["nodes"]
    assert latency["cache_hit_p50_ms"] < latency["end_to_end"]["p50_ms"]
    assert not (tmp_path / "data").exists()  # an eval writes nothing into the data dir
    assert data["config"]["services"]["retrieval"] == "hybrid"  # the default: dense on
    assert data["baselines"]["bm25s_extractive"]["answers"]["contains_gold"] > 0
    page = (report / "report.md").read_text("utf-8")
    for section in (
        "## Answers",
        "## Retrieval",
        "## Ragas",
        "## Latency",
        "## Charts",
        "## Questions without the gold answer",
    ):
        assert section in page
    assert (report / "scores.png").stat().st_size > 1000 and (
        report / "latency.png"
    ).stat().st_size > 1000
    gate = vinarag("eval", "gate", str(out))
    assert gate.returncode == 0, gate.stderr
    strict = tmp_path / "strict.yaml"
    strict.write_text("thresholds:\n  answers.contains_gold: {min: 0.99}\n", "utf-8")
    failed = vinarag("eval", "gate", str(out), "--thresholds", str(strict))
    assert failed.returncode == 1 and "FAIL answers.contains_gold" in failed.stderr

    questions = data["questions"]
    thresholds = load_gate()
    for start in range(0, 200 * SLICES, 200):
        metrics = _slice_metrics(GATED, questions[start : start + 200])
        assert check_gate(metrics, thresholds) == [], start
    # Broken on purpose: no dense view, lexical search on syllable bigrams alone, and BM25's
    # term-frequency saturation off (k1 = 0).
    for name, value in (("RETRIEVAL__MODE", "sparse"), ("SPARSE__SYLLABLE_WEIGHT", "0"),
                        ("SPARSE__WORD_WEIGHT", "0"), ("SPARSE__BIGRAM_WEIGHT", "1"),
                        ("SPARSE__K1", "0")):  # fmt: skip
        monkeypatch.setenv(f"VINARAG_{name}", value)
    broken = tmp_path / "broken.json"
    ran = vinarag(
        "eval", "rag", "--corpus", corpus, "--queries", queries, "--limit", "200",
        "--json", str(broken), "--quiet",
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    gate = vinarag("eval", "gate", str(broken))
    assert gate.returncode == 1 and "FAIL retrieval.R@1" in gate.stderr
    assert "FAIL retrieval.MRR@10" in gate.stderr

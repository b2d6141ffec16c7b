"""`vinarag eval retrieval` on a slice of the shared data: runs, writes the promised JSON."""

import json
import subprocess
import sys

import pytest

from evals.retrieval_metrics import ndcg_at, recall_at, reciprocal_rank, summarize


def test_metrics_by_hand():
    ranked = ["x", "a", "y", "b"]
    assert recall_at(ranked, {"a", "b"}, 2) == 0.5
    assert reciprocal_rank(ranked, {"a"}, 10) == 0.5
    assert reciprocal_rank(ranked, {"a"}, 1) == 0.0
    assert abs(ndcg_at(ranked, {"a"}, 10) - 1 / 1.5849625) < 1e-6
    result = summarize([["a"], ["x", "a"]], [{"a"}, {"a"}], [0.001, 0.003], 10)
    assert result["R@1"] == 0.5 and result["MRR@10"] == 0.75 and result["p50_ms"] == 2.0


@pytest.mark.slow
def test_benchmark_command_on_a_slice(shared_data, tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.cli",
            "--log-level",
            "WARNING",
            "eval",
            "retrieval",
            "--corpus",
            str(shared_data / "corpus.jsonl"),
            "--queries",
            str(shared_data / "queries.jsonl"),
            "--limit",
            "60",
            "--json",
            str(out),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={
            "VINARAG_DATA_DIR": str(tmp_path / "never-used"),
            "VINARAG_RETRIEVAL__MODE": "sparse",  # the dense path: test_embedders, the gate
            "PATH": "/usr/bin:/bin",
            "HF_HUB_OFFLINE": "1",
            "HOME": str(tmp_path),
        },
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text("utf-8"))
    assert data["dataset"]["passages"] == 240 and data["dataset"]["queries"] == 60
    keys = {"R@1", "R@5", "R@10", "MRR@10", "nDCG@10", "p50_ms", "p95_ms", "index_s"}
    assert keys <= set(data["system"]) and keys <= set(data["baselines"]["bm25s"])
    assert {"open_s", "rss_after_open_mb", "rss_mb", "query_embed_p50_ms"} <= set(data["system"])
    assert data["system"]["first_search_ms"] > 0 and data["config"]["chunks_indexed"] > 240
    assert data["system"]["MRR@10"] >= data["baselines"]["bm25s"]["MRR@10"] - 0.02
    assert data["system"]["R@10"] > 0.9
    assert "system" in result.stdout and "bm25s" in result.stdout
    assert not (tmp_path / "never-used").exists()  # the user's store is never touched


@pytest.mark.slow
def test_distractors_pad_the_corpus_and_unmarked_questions_still_find_it(shared_data, settings):
    from evals.datasets import load_corpus
    from evals.retrieval_benchmark import make_distractors, run_benchmark

    corpus = load_corpus(shared_data / "corpus.jsonl")
    padded = make_distractors(corpus, 50)
    assert len({p.id for p in padded}) == 50 and not {p.id for p in padded} & {p.id for p in corpus}
    real_sentences = {s.strip() for p in corpus for s in p.text.split(".") if len(s) > 40}
    assert not any(s.strip() in real_sentences for p in padded for s in p.text.split("."))
    # no distractor is a reshuffle of one real passage (a bag-of-words copy of it)
    bags = {tuple(sorted(p.text.split())) for p in corpus}
    assert not any(tuple(sorted(p.text.split())) in bags for p in padded)

    sparse = settings.model_copy(
        update={"retrieval": settings.retrieval.model_copy(update={"mode": "sparse"})}
    )
    result = run_benchmark(
        sparse,
        shared_data / "corpus.jsonl",
        shared_data / "queries.jsonl",
        limit=40,
        progress=False,
        strip=True,
        distractors=[0, 300],
    )
    assert result["dataset"]["strip_tones"] is True
    small, large = result["sizes"]
    assert (small["passages"], large["passages"]) == (240, 540)
    assert large["config"]["chunks_indexed"] > small["config"]["chunks_indexed"]
    for run in result["sizes"]:
        # unmarked questions go through the stripped views; bm25s over marked text cannot match
        assert run["system"]["MRR@10"] > run["baselines"]["bm25s"]["MRR@10"] + 0.2
        assert run["system"]["R@10"] > 0.9


def test_the_vectors_cache_serves_a_second_run_and_is_rewritten_only_when_it_grew(tmp_path):
    import numpy as np

    from evals.retrieval_benchmark import _TimedEmbedder
    from tools.kb.embedders import BundledEmbedder

    inner = BundledEmbedder(threads=1)
    cache = tmp_path / "vectors.npz"
    texts = ["Hà Nội là thủ đô.", "Huế là cố đô.", "Sài Gòn ở phía nam."]
    first = _TimedEmbedder(inner, cache)
    vectors = first.embed_passages(texts)
    first.save()
    assert cache.is_file() and first.cached == 0 and first.passage_s > 0
    written = cache.stat().st_mtime_ns
    second = _TimedEmbedder(inner, cache)
    assert np.allclose(second.embed_passages(texts[::-1]), vectors[::-1])
    assert second.cached == 3 and second.passage_s == 0.0
    second.save()
    assert cache.stat().st_mtime_ns == written  # nothing new: not written again
    third = _TimedEmbedder(inner, cache)
    third.embed_passages([*texts, "Đà Nẵng ở miền Trung."])
    third.save()
    assert third.cached == 3 and len(np.load(cache)["keys"]) == 4

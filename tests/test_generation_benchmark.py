"""`vinarag bench generate` (= `vinarag eval generate`) on the tiny MPT the tests build: the
shape of its figures, prompts that grow with their sources, local streams that queue behind one
another as the server would make them, and a clear refusal for the extractive answerer. Its
speed is never asserted."""

from __future__ import annotations

import json

import pytest

from evals.generation_benchmark import run_generation_benchmark
from tests.helpers import write_tiny_mpt
from tools.errors import ServiceError

ROW_KEYS = {
    "sources", "streams", "prompt_chars_median", "prompt_tokens_median", "first_token_s_median",
    "tokens_per_s_per_stream_median", "tokens_per_s_all_median", "tokens_median",
    "waited_s_median", "rounds",
}  # fmt: skip


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return write_tiny_mpt(tmp_path_factory.mktemp("bench") / "tiny-mpt")


def local_settings(settings, model):
    generator = {"kind": "phogpt", "model": str(model), "device": "cpu"}
    return settings.model_copy(
        update={"generator": settings.generator.model_copy(update=generator)}
    )


@pytest.mark.slow
def test_the_figures_for_each_source_count_and_stream_count(
    settings, make_demo_services, tiny_model
):
    services = make_demo_services(local_settings(settings, tiny_model))
    result = run_generation_benchmark(
        services, sources=(1, 3), streams=(1, 2), max_tokens=4, repeats=2, progress=False,
        bandwidth_gb_s=100.0,
    )  # fmt: skip
    json.dumps(result)  # JSON as written by --json
    assert result["generator"]["kind"] == "phogpt" and result["generator"]["weights_bytes"] > 0
    assert result["threads"] == 1  # a model in this process answers one stream at a time
    assert result["bandwidth_limit_tokens_per_s"] > 0
    rows = result["results"]
    assert [(r["sources"], r["streams"]) for r in rows] == [(1, 1), (1, 2), (3, 1), (3, 2)]
    for row in rows:
        assert set(row) == ROW_KEYS
        assert len(row["rounds"]) == 2
        assert all(len(r["streams"]) == row["streams"] for r in row["rounds"])
        assert row["tokens_median"] >= 1 and row["first_token_s_median"] is not None
    one, three = rows[0], rows[2]
    assert three["prompt_tokens_median"] > one["prompt_tokens_median"]  # the sources' text
    for row in (rows[1], rows[3]):
        for round_ in row["rounds"]:
            first, second = sorted(round_["streams"], key=lambda s: s["waited_s"])
            # queued: the second stream started once the first had finished
            assert second["waited_s"] >= first["seconds"]


def test_the_extractive_answerer_is_refused(demo_services):
    with pytest.raises(ServiceError, match="extractive"):
        run_generation_benchmark(demo_services, progress=False)


def test_the_command_writes_its_json(vinarag, monkeypatch, tmp_path, tiny_model):
    assert vinarag("demo").returncode == 0
    monkeypatch.setenv("VINARAG_GENERATOR__KIND", "phogpt")
    monkeypatch.setenv("VINARAG_GENERATOR__MODEL", str(tiny_model))
    monkeypatch.setenv("VINARAG_GENERATOR__DEVICE", "cpu")
    out = tmp_path / "generate.json"
    args = ("--sources", "2", "--streams", "1", "--max-tokens", "3", "--repeats", "1")
    result = vinarag("bench", "generate", *args, "--quiet", "--json", str(out))
    assert result.returncode == 0, result.stderr
    assert "tok/s" in result.stdout
    written = json.loads(out.read_text("utf-8"))
    assert [(r["sources"], r["streams"]) for r in written["results"]] == [(2, 1)]

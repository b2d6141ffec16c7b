"""`vinarag eval load` runs locust and wrk against a live server, bounded in time, loopback only."""

import shutil

import pytest

from evals.load_benchmark import run_load_benchmark
from server.main import create_app
from tests.helpers import LiveServer, need

pytestmark = pytest.mark.integration


def test_refuses_anything_but_this_machine():
    with pytest.raises(ValueError, match="only sent to this machine"):
        run_load_benchmark("http://10.0.0.5:8000", [1], ["hit"], 1)


@pytest.mark.parametrize("tool", ["locust", "wrk"])
def test_short_runs_report_figures(settings, demo_services, tool):
    if tool == "wrk":
        need(shutil.which("wrk") is not None, "wrk not installed (make test installs it as root)")
    with LiveServer(create_app(settings, services=demo_services)) as server:
        result = run_load_benchmark(
            server.url, [2], ["hit", "miss"], 2, tool=tool, routes=("rag", "v1")
        )
    for run in result["runs"]:
        assert run["requests"] > 0 and run["errors"] == 0 and run["rps"] > 0
        assert 0 < run["p50_ms"] <= run["p95_ms"] <= run["p99_ms"]
    assert [(r["mode"], r["route"]) for r in result["runs"]] == [
        ("hit", "rag"), ("hit", "v1"), ("miss", "rag"), ("miss", "v1")
    ]  # fmt: skip


def test_a_short_soak_reports_every_kind_of_request_and_memory(settings, demo_services):
    """The soak's mix on a live server for a few seconds: the shape of its figures (not their
    values), no errors, RSS samples of the serving process (here, this one)."""
    import os

    from evals.soak_benchmark import MIX, format_soak, run_soak

    with pytest.raises(ValueError, match="only sent to this machine"):
        run_soak("http://10.0.0.5:8000", 1, 1)
    with LiveServer(create_app(settings, services=demo_services)) as server:
        result = run_soak(server.url, os.getpid(), seconds=4, users=2, sample_every_s=1)
    assert set(result["by_kind"]) == set(MIX)
    assert result["errors"] == 0, result["by_kind"]
    assert result["requests"] == sum(k["requests"] for k in result["by_kind"].values()) > 0
    rss = result["rss_mb"]
    assert len(rss["samples"]) >= 3 and rss["max"] >= rss["start"] > 0
    assert 0 < result["uss_mb"]["end"] <= rss["end"]
    assert 0 < result["anon_mb"]["end"] <= rss["end"]  # the heaps: what a leak grows
    assert "server RSS" in format_soak(result) and "anonymous (heaps)" in format_soak(result)

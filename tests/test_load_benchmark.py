"""`vinarag eval load` runs locust and wrk against a live server, bounded in time, loopback only."""

import shutil

import pytest

from evals.load_benchmark import run_load_benchmark
from server.main import create_app
from tests.conftest import need
from tests.helpers import LiveServer

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

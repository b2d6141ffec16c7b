"""Monitoring configs against the real tools: promtool checks and unit-tests the alert rules,
and Debian's Prometheus loads them against the live app, evaluates the recording rules and puts
HighErrorRate in pending when requests fail."""

import shutil
import subprocess
import threading
import time

import httpx
import pytest

from server.main import create_app
from tests.helpers import REPO, LiveServer, need
from tests.test_prometheus import query_until

pytestmark = pytest.mark.infra

CONFIGS = REPO / "configs"


@pytest.fixture
def promtool() -> str:
    binary = shutil.which("promtool")
    need(
        binary is not None,
        "promtool not installed (Debian's prometheus package; make test installs it)",
    )
    return binary


@pytest.mark.parametrize(
    "args",
    [
        ["check", "rules", "alert.rules.yml"],
        ["check", "config", "prometheus.yaml"],
        ["test", "rules", "alert.rules.test.yml"],
    ],
)
def test_promtool(promtool, args, tmp_path):
    # a copy with the key file compose writes at start (promtool checks that it exists)
    configs = tmp_path / "configs"
    shutil.copytree(CONFIGS, configs)
    (configs / "secrets").mkdir()
    (configs / "secrets" / "qdrant-api-key").write_text("test-key", "utf-8")
    result = subprocess.run([promtool, *args], cwd=configs, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_the_seed_alerts_and_the_graph_alerts_are_all_there():
    import yaml

    rules = yaml.safe_load((CONFIGS / "alert.rules.yml").read_text("utf-8"))
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    assert alerts == {
        "HighErrorRate", "HighLatency", "LowRetrievalScores", "LowCacheHitRate", "ServiceDown",
        "HighFallbackRate", "HighUngroundedRate", "HighRetriesPerRequest",
        "SlowFirstToken", "GenerationFailing", "IngestQueueGrowing",
    }  # fmt: skip
    tests = (CONFIGS / "alert.rules.test.yml").read_text("utf-8")
    for alert in alerts:
        assert f"alertname: {alert}" in tests, f"{alert} has no promtool unit test"


def test_live_prometheus_evaluates_rules_and_an_alert_goes_pending(
    settings, demo_services, prometheus
):
    def broken(*args, **kwargs):
        raise RuntimeError("injected failure")

    with LiveServer(create_app(settings, services=demo_services)) as server:
        for _ in range(3):
            assert (
                httpx.post(
                    f"{server.url}/rag/invoke", json={"input": {"question": "Phở là gì?"}}
                ).status_code
                == 200
            )
        base = prometheus(
            f"127.0.0.1:{server.port}", rules=str(CONFIGS / "alert.rules.yml"), job="vinarag-api"
        )
        assert query_until(base, "vinarag:graph_runs:rate10m")  # a recording rule evaluated
        demo_services.retrieval.retriever.retrieve = broken
        pending: list = []
        end = time.monotonic() + 60
        pause = threading.Event()
        n = 0
        while not pending and time.monotonic() < end:
            # errors keep coming across scrapes (a counter first seen at 5 has no rate yet)
            n += 1
            question = {"input": {"question": f"Câu hỏi mới số {n} về phở?"}}  # no cache hit
            assert httpx.post(f"{server.url}/rag/invoke", json=question).status_code == 500
            pending = query_until(base, 'ALERTS{alertname="HighErrorRate",alertstate="pending"}', 0)
            pause.wait(0.5)
        assert pending and pending[0]["metric"]["severity"] == "critical"
        ratio = query_until(base, "vinarag:request_errors:ratio_rate5m > 0.05")
        assert ratio and float(ratio[0]["value"][1]) > 0.05

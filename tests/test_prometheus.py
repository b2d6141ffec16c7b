"""A real Prometheus (Debian's) scrapes the running app; its query API returns the graph's node
latency series after a request."""

import threading
import time

import httpx
import pytest

from server.main import create_app
from tests.helpers import LiveServer

pytestmark = pytest.mark.infra


def query_until(base: str, promql: str, deadline_s: float = 30.0) -> list:
    """Prometheus scrapes on its own clock (every 1 s here): ask until the series is there."""
    end = time.monotonic() + deadline_s
    pause = threading.Event()
    while True:
        result = httpx.get(f"{base}/api/v1/query", params={"query": promql}).json()["data"][
            "result"
        ]
        if result or time.monotonic() > end:
            return result
        pause.wait(0.25)


def test_prometheus_scrapes_node_latency(settings, demo_services, prometheus):
    with LiveServer(create_app(settings, services=demo_services)) as server:
        answer = httpx.post(
            f"{server.url}/rag/invoke", json={"input": {"question": "Phở ra đời ở đâu?"}}
        )
        assert answer.status_code == 200
        base = prometheus(f"127.0.0.1:{server.port}")
        result = query_until(base, 'rag_node_latency_seconds_count{node="retrieve"}')
        assert result and float(result[0]["value"][1]) == 1.0
        nodes = query_until(base, "count by (node) (rag_node_latency_seconds_count)")
        assert {r["metric"]["node"] for r in nodes} >= {
            "check_cache",
            "retrieve",
            "generate",
            "write_cache",
        }
        up = query_until(base, 'up{job="vinarag"}')
        assert up[0]["value"][1] == "1"

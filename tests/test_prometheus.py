"""A real Prometheus (Debian's) scrapes the running app; its query API returns the graph's node
latency series after a request."""

import shutil
import subprocess
import threading
import time

import httpx
import pytest

from server.main import create_app
from tests.conftest import need
from tests.helpers import LiveServer, free_port


@pytest.fixture
def prometheus(tmp_path):
    binary = shutil.which("prometheus")
    need(binary is not None, "prometheus not installed (make test installs Debian's as root)")

    def start(target: str) -> str:
        config = tmp_path / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n  - job_name: vinarag\n"
            f"    static_configs:\n      - targets: ['{target}']\n",
            "utf-8",
        )
        port = free_port()
        process = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        processes.append(process)
        ready = threading.Event()

        def watch() -> None:
            for line in process.stderr:
                if "Server is ready to receive web requests" in line:
                    ready.set()

        threading.Thread(target=watch, daemon=True).start()
        assert ready.wait(60), "prometheus did not start"
        return f"http://127.0.0.1:{port}"

    processes: list[subprocess.Popen] = []
    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=30)


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

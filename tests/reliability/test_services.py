"""The cache lost and back under load: a Redis of the test's own is stopped and restarted while
threads keep asking; no request fails, and the cache serves again once Redis is back."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time

import pytest
from fastapi.testclient import TestClient

from server.main import create_app
from tests.helpers import CuttableRelay, free_port, need

QUESTIONS = [
    "Ai dời đô về Thăng Long?",
    "Phở ra đời ở đâu?",
    "Truyện Kiều có bao nhiêu câu thơ?",
    "Vịnh Hạ Long có bao nhiêu hòn đảo?",
]


class OwnRedis:
    def __init__(self, folder) -> None:
        self.port = free_port()
        self.folder = folder
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while (
            subprocess.run(
                ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True
            ).stdout.strip()
            != "PONG"
        ):
            assert time.monotonic() < deadline, "redis-server did not start"

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


class Progress:
    """Requests done so far; the main thread waits for counts instead of sleeping."""

    def __init__(self) -> None:
        self.done = 0
        self.codes: list[int] = []
        self.seconds: list[float] = []
        self.condition = threading.Condition()

    def record(self, code: int, seconds: float) -> None:
        with self.condition:
            self.done += 1
            self.codes.append(code)
            self.seconds.append(seconds)
            self.condition.notify_all()

    def wait_for(self, count: int) -> None:
        with self.condition:
            assert self.condition.wait_for(lambda: self.done >= count, timeout=120)


@pytest.mark.integration
def test_redis_stopped_and_restarted_under_load(settings, make_demo_services, tmp_path):
    need(shutil.which("redis-server") is not None, "redis-server not installed")
    redis = OwnRedis(tmp_path)
    redis.start()
    cache = settings.cache.model_copy(
        update={
            "backend": "redis",
            "redis_url": f"redis://127.0.0.1:{redis.port}/0",
            "redis_timeout_s": 0.2,
            "redis_retry_after_s": 0.05,
        }
    )
    configured = settings.model_copy(update={"cache": cache})
    services = make_demo_services(configured)
    progress, stop = Progress(), threading.Event()
    try:
        with TestClient(create_app(configured, services=services)) as client:

            def ask(n: int) -> None:
                while not stop.is_set():
                    question = QUESTIONS[n % len(QUESTIONS)]
                    start = time.perf_counter()
                    code = client.post("/rag/invoke", json={"input": {"question": question}})
                    progress.record(code.status_code, time.perf_counter() - start)
                    n += 1

            threads = [threading.Thread(target=ask, args=(i,)) for i in range(4)]
            for thread in threads:
                thread.start()
            progress.wait_for(40)
            redis.stop()  # the cache goes away mid-load
            before_outage = progress.done
            progress.wait_for(before_outage + 40)
            redis.start()  # and comes back, empty
            after_restart = progress.done
            progress.wait_for(after_restart + 60)
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
            hits = client.post("/rag/invoke", json={"input": {"question": QUESTIONS[0]}})
    finally:
        stop.set()
        redis.stop()
    assert set(progress.codes) == {200}, "a request failed while Redis was away"
    assert progress.done >= after_restart + 60
    assert hits.json()["output"]["cache_hit"] is True  # the cache serves again


@pytest.mark.slow
def test_postgres_unreachable_for_memory(settings, demo_services):
    """Memory configured on a PostgreSQL that does not answer: the service starts, questions
    without a thread are answered, a question in a thread gets a 503 that says why, and
    /readyz names the checkpointer as unavailable."""
    memory = settings.memory.model_copy(
        update={
            "backend": "postgres",
            "postgres_url": f"postgresql://x@127.0.0.1:{free_port()}/x",
            "timeout_s": 1,
        }
    )
    configured = settings.model_copy(update={"memory": memory})
    with TestClient(create_app(configured, services=demo_services)) as client:
        plain = client.post("/rag/invoke", json={"input": {"question": QUESTIONS[1]}})
        assert plain.status_code == 200 and plain.json()["output"]["answer"]
        threaded = client.post(
            "/rag/invoke",
            json={"input": {"question": QUESTIONS[1]}},
            headers={"X-Thread-Id": "t1"},
        )
        assert threaded.status_code == 503 and "conversation memory" in threaded.json()["detail"]
        in_config = client.post(
            "/rag/invoke",
            json={
                "input": {"question": QUESTIONS[1]},
                "config": {"configurable": {"thread_id": "t"}},
            },
        )
        assert in_config.status_code == 503
        assert client.get("/readyz").json()["checkpointer"].startswith("unavailable: ")


@pytest.mark.integration
def test_postgres_lost_while_serving_and_back(settings, demo_services, postgres_schema):
    """Memory and feedback on the machine's PostgreSQL, through a relay the test cuts after
    startup: the first turn in a thread waits at most memory.timeout_s, later ones fail at once
    (503 that says why, Retry-After), /readyz and feedback say so; turns without a thread still
    answer; once it is back, the probe (every second; called here directly) brings the same
    thread back with its history."""
    with CuttableRelay(5432) as relay:
        url = postgres_schema.replace("127.0.0.1:5432", f"127.0.0.1:{relay.port}")
        memory = settings.memory.model_copy(
            update={"backend": "postgres", "postgres_url": url, "timeout_s": 1}
        )
        configured = settings.model_copy(update={"memory": memory})
        thread = {"X-Thread-Id": "lost-and-back"}
        ask = {"input": {"question": "Vịnh Hạ Long có bao nhiêu hòn đảo?"}}
        follow = {"input": {"question": "Còn được UNESCO công nhận năm nào?"}}
        app = create_app(configured, services=demo_services)
        state = app.state.vinarag
        with TestClient(app) as client:
            first = client.post("/rag/invoke", json=ask, headers=thread)
            assert first.status_code == 200
            answer_id = first.json()["output"]["answer_id"]
            relay.cut()
            lost = client.post("/rag/invoke", json=follow, headers=thread)
            assert lost.status_code == 503, lost.text
            assert lost.json()["detail"].startswith("conversation memory unavailable (")
            again = client.post("/rag/invoke", json=follow, headers=thread)
            assert again.status_code == 503 and again.headers["retry-after"] == "5"
            # refused before any graph run or pool wait, with the reason the first turn met
            assert again.json()["detail"].endswith("ask without a thread, or again once it is back")
            assert client.get("/readyz").json()["checkpointer"].startswith("unavailable: ")
            plain = client.post("/rag/invoke", json=ask)
            assert plain.status_code == 200 and plain.json()["output"]["answer"]
            verdict = {"answer_id": answer_id, "score": "up"}
            assert client.post("/feedback", json=verdict).status_code == 503
            assert client.get("/readyz").json()["feedback"].startswith("unavailable: ")
            relay.restore()
            assert state.runnable.stateful.checkpointer.conn.probe()
            assert state.feedback._pool.probe()
            assert client.get("/readyz").json()["checkpointer"] == "postgres"
            back = client.post("/rag/invoke", json=follow, headers=thread)
            assert back.status_code == 200, back.text
            assert "1994" in back.json()["output"]["answer"]  # rewritten from the first turn
            # an answer given now is recorded (the first one may have been lost with the cut)
            verdict = {"answer_id": back.json()["output"]["answer_id"], "score": "up"}
            assert client.post("/feedback", json=verdict).status_code == 201
            codes = client.get("/metrics").text
            assert 'rag_requests_total{endpoint="/rag/invoke",status="503"} 2.0' in codes
            assert 'rag_requests_total{endpoint="/rag/invoke",status="500"}' not in codes

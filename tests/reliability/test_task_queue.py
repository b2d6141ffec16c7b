"""Ingestion past one machine, on the real broker (RabbitMQ on 127.0.0.1) and PostgreSQL: two
`vinarag serve` replicas, one `vinarag worker --role jobs` owning the embedded store (it has
one owner; with a Qdrant server any number of writers run) and two `vinarag worker` steps
processes, every one a process of its own. A job sent through one replica is the same job
through the other; a configured source syncs once per period; a steps worker killed with
SIGKILL under a task leaves it to the other; a job that keeps failing ends failed after
`ingest.task_attempts`; an upload outlives the replica that received it (its input in a real
S3-compatible server, moto's, in a process of its own)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.helpers import free_port, need, serve_process

BROKER = "amqp://guest:guest@127.0.0.1:5672//"
TEXT = "Cơm tấm là món ăn nổi tiếng của Sài Gòn, ăn với sườn nướng và nước mắm chua ngọt."
WAIT_S = 180.0

pytestmark = pytest.mark.slow


def _broker_up() -> None:
    import socket

    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=2).close()
    except OSError as exc:
        need(False, f"RabbitMQ not reachable on 127.0.0.1:5672: {exc}")


def until(check: Callable[[], object], what: str, timeout: float = WAIT_S) -> object:
    """Polls `check` until it returns something true (a bounded wait on a condition, never a
    fixed sleep)."""
    deadline = time.monotonic() + timeout
    pause = 0.05
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(pause)
        pause = min(pause * 1.5, 0.5)


@dataclass
class Cluster:
    """Processes sharing one broker's queues, one job store and one uploads storage."""

    root: Path
    env: dict[str, str]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def _env(self, name: str, **extra: str) -> dict[str, str]:
        return {**self.env, "VINARAG_DATA_DIR": str(self.root / name), **extra}

    def worker(self, role: str, name: str, *options: str) -> subprocess.Popen[bytes]:
        log = (self.root / f"{name}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "tools.cli", "--log-level", "INFO", "worker",
             "--role", role, "--name", f"{name}@{self.env['VINARAG_INGEST__QUEUE_NAME']}",
             *options],
            env=self._env(name), stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.processes.append(process)
        return process

    def server(self, name: str) -> tuple[subprocess.Popen[bytes], str]:
        process, url = serve_process(self._env(name))
        self.processes.append(process)
        return process, url

    def settings(self):
        from tools.settings import load_settings

        with pytest.MonkeyPatch.context() as patch:
            for key, value in self.env.items():
                patch.setenv(key, value)
            return load_settings(data_dir=self.root / "probe")

    def consumers(self, role: str) -> int:
        from tools.queue.app import celery_app, queue_counts, queue_names

        settings = self.settings()
        queue = queue_names(settings)[0 if role == "jobs" else 1]
        return queue_counts(celery_app(settings), (queue,))[queue][1]

    def ready(self, role: str, count: int) -> None:
        until(lambda: self.consumers(role) >= count, f"{count} {role} workers")

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)
        from tools.queue.app import celery_app, queue_names

        settings = self.settings()
        with celery_app(settings).connection_for_write() as connection:
            for queue in queue_names(settings):
                with contextlib.suppress(Exception):  # never declared
                    connection.default_channel.queue_delete(queue)


@pytest.fixture
def cluster(tmp_path: Path, postgres_schema: str) -> Iterator[Cluster]:
    _broker_up()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VINARAG_")}
    env.update(
        CELERY_BROKER_URL=BROKER,
        POSTGRES_URL=postgres_schema,
        VINARAG_INGEST__QUEUE_NAME=f"test-{uuid.uuid4().hex[:10]}",
        VINARAG_INGEST__UPLOADS_URL=str(tmp_path / "uploads"),
        VINARAG_INGEST__WORKER="thread",
        VINARAG_INGEST__TASK_ATTEMPTS="2",
        VINARAG_DENSE__BACKEND="none",
    )
    built = Cluster(tmp_path, env)
    try:
        yield built
    finally:
        built.close()


def _job(url: str, job_id: str) -> dict:
    return httpx.get(f"{url}/jobs/{job_id}", timeout=10).json()


def _ended(url: str, job_id: str) -> dict:
    return until(
        lambda: (j := _job(url, job_id))["state"] in ("done", "failed") and j, f"job {job_id}"
    )  # type: ignore[return-value]


def _upload(url: str, name: str, data: bytes) -> dict:
    answer = httpx.post(f"{url}/documents", files={"files": (name, data)}, timeout=60)
    assert answer.status_code == 202, answer.text
    return answer.json()


def test_a_job_sent_through_one_replica_is_the_same_job_through_the_other(cluster):
    cluster.worker("jobs", "writer")
    cluster.worker("steps", "steps-1")
    _, a = cluster.server("server-a")
    _, b = cluster.server("server-b")
    sent = _upload(a, "com-tam.txt", TEXT.encode())
    seen = _job(b, sent["id"])
    assert seen["id"] == sent["id"] and seen["files"] == ["com-tam.txt"]
    done = _ended(b, sent["id"])
    assert done["state"] == "done", done
    assert len(done["report"]["added"]) == 1 and done["report"]["chunks"] >= 1
    assert _job(a, sent["id"]) == _job(b, sent["id"])  # one record, whoever answers
    listed = httpx.get(f"{b}/jobs", timeout=10).json()["jobs"]
    assert [j["id"] for j in listed] == [sent["id"]]
    depth = httpx.get(f"{a}/metrics", timeout=10).text
    assert 'vinarag_queue_depth{queue="' in depth


def _metric(url: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in httpx.get(url, timeout=10).text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_a_configured_source_syncs_once_per_period_with_two_replicas(cluster, tmp_path):
    folder = tmp_path / "van-ban"
    folder.mkdir()
    (folder / "com-tam.txt").write_text(TEXT, "utf-8")
    period_minutes = 0.05  # 3 s
    cluster.env["VINARAG_SOURCES"] = json.dumps(
        [{"path": str(folder), "collection": "luat", "every_minutes": period_minutes}]
    )
    port = free_port()
    cluster.worker("jobs", "writer", "--metrics-port", str(port))
    metrics = f"http://127.0.0.1:{port}/metrics"
    cluster.server("server-a")
    cluster.server("server-b")
    from tools.records.jobs import PostgresJobStore

    store = PostgresJobStore.open(cluster.settings())
    try:
        until(lambda: len([c for c in store.claims("source:") if c[3]]) >= 3, "three periods")
        claims = store.claims("source:")
        syncs = _metric(metrics, "vinarag_queue_tasks_total", task="vinarag.job.sync")
    finally:
        store.close()
    periods = [name.rsplit(":", 1)[1] for name, *_ in claims]
    assert len(periods) == len(set(periods)) and all(p.startswith("period-") for p in periods)
    settled = [c for c in claims if c[3]]
    assert {c[3] for c in settled} == {"synced"}
    # every sync the writer ran was one claimed period's: none twice for two replicas (the
    # last claimed may still be under way)
    assert len(settled) <= syncs <= len(claims)


def test_a_steps_worker_killed_under_a_task_leaves_it_to_the_other(cluster, shared_data):
    # the three longest laws as one file: its read holds a worker for many seconds
    laws = sorted((shared_data.parent / "laws-vn").glob("*.txt"), key=lambda p: -p.stat().st_size)
    data = "\n\n".join(p.read_text("utf-8") for p in laws[:3]).encode()
    cluster.worker("jobs", "writer")
    workers = {name: cluster.worker("steps", name) for name in ("steps-1", "steps-2")}
    cluster.ready("steps", 2)
    _, url = cluster.server("server-a")
    sent = _upload(url, "ba-bo-luat.txt", data)
    logs = {name: cluster.root / f"{name}.log" for name in workers}

    taken = b"Task vinarag.step.read_upload["  # as a worker logs a task it received

    def holder() -> str | None:
        return next((n for n, p in logs.items() if taken in p.read_bytes()), None)

    held = until(holder, "a worker to take the read")
    os.kill(workers[held].pid, signal.SIGKILL)
    workers[held].wait(timeout=30)
    other = next(n for n in logs if n != held)
    done = _ended(url, sent["id"])
    assert done["state"] == "done", done
    assert len(done["report"]["added"]) == 1 and not done["report"]["failed"]
    assert done["files_done"] == 1 and done["chunks_written"] == done["report"]["chunks"]
    assert taken in logs[other].read_bytes()  # the other worker read it


def test_a_job_that_keeps_failing_ends_failed_after_its_attempts(cluster):
    cluster.worker("steps", "steps-1")
    _, url = cluster.server("server-a")
    sent = _upload(url, "com-tam.txt", TEXT.encode())  # no writer yet: it waits in the queue
    # its input gone before a worker could read it: every attempt fails the same way
    shutil.rmtree(Path(cluster.env["VINARAG_INGEST__UPLOADS_URL"]) / sent["id"])
    cluster.worker("jobs", "writer")
    ended = _ended(url, sent["id"])
    assert ended["state"] == "failed", ended
    assert ended["error"].startswith("FileNotFoundError") and "0.txt" in ended["error"]
    assert ended["attempts"] == 2  # ingest.task_attempts


def test_an_upload_outlives_the_replica_that_received_it(cluster, tmp_path):
    moto = shutil.which("moto_server", path=str(Path(sys.executable).parent))
    need(moto is not None, "moto_server not installed (pip install 'moto[server]')")
    port = free_port()
    s3 = subprocess.Popen(
        [moto, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    cluster.processes.append(s3)
    endpoint = f"http://127.0.0.1:{port}"
    until(lambda: _answers(endpoint), "the S3 server")
    import boto3

    credentials = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                   "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="test", aws_secret_access_key="test",
    )  # fmt: skip
    client.create_bucket(Bucket="uploads")
    cluster.env.update(
        credentials,
        VINARAG_INGEST__UPLOADS_URL="s3://uploads/jobs",
        VINARAG_INGEST__S3_ENDPOINT_URL=endpoint,
    )
    receiver, a = cluster.server("server-a")
    _, b = cluster.server("server-b")
    sent = _upload(a, "com-tam.txt", TEXT.encode())  # no worker runs yet: it waits
    stored = client.list_objects_v2(Bucket="uploads", Prefix=f"jobs/{sent['id']}/")
    assert [o["Key"] for o in stored.get("Contents", [])] == [f"jobs/{sent['id']}/input/0.txt"]
    receiver.kill()
    receiver.wait(timeout=30)
    cluster.worker("jobs", "writer")
    cluster.worker("steps", "steps-1")
    done = _ended(b, sent["id"])
    assert done["state"] == "done" and len(done["report"]["added"]) == 1, done
    left = client.list_objects_v2(Bucket="uploads", Prefix=f"jobs/{sent['id']}/")
    assert left.get("KeyCount", 0) == 0  # removed once its job ended
    # its original is kept beside the uploads, by its content (one setting moves both)
    kept = client.list_objects_v2(Bucket="uploads", Prefix="jobs/originals/")
    assert [o["Key"][-4:] for o in kept.get("Contents", [])] == [".txt"]


def _answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=1)
    except httpx.HTTPError:
        return False
    return True


def test_dense_vectors_are_embedded_by_the_steps_workers_and_none_is_left_waiting(
    cluster, tmp_path
):
    """With the bundled dense model: a job's chunks are embedded by the steps workers, and a
    writer that starts embeds what an earlier writer left waiting (the queue's backfill)."""
    cluster.env["VINARAG_DENSE__BACKEND"] = "bundled"
    earlier = tmp_path / "truoc.txt"
    earlier.write_text("Phở là món ăn truyền thống của Hà Nội, nấu từ xương bò.", "utf-8")
    left = subprocess.run(
        [sys.executable, "-m", "tools.cli", "ingest", str(earlier), "--dense", "later"],
        env={**cluster.env, "VINARAG_DATA_DIR": str(cluster.root / "writer"),
             "VINARAG_INGEST__QUEUE": "local"},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert left.returncode == 0, left.stderr
    port = free_port()
    writer = cluster.worker("jobs", "writer", "--metrics-port", str(port))
    cluster.worker("steps", "steps-1")
    _, url = cluster.server("server-a")
    sent = _upload(url, "com-tam.txt", TEXT.encode())
    done = _ended(url, sent["id"])
    assert done["state"] == "done", done
    assert done["chunks_embedded"] == done["chunks_written"] >= 1
    metrics = f"http://127.0.0.1:{port}/metrics"
    until(
        lambda: _metric(metrics, "vinarag_queue_tasks_total", task="vinarag.job.backfill") >= 1,
        "the writer's backfill",
    )
    writer.send_signal(signal.SIGTERM)
    assert writer.wait(timeout=60) == 0
    from tools.kb.backfill import DenseBackfill
    from tools.kb.factory import build_knowledge_base, configured_embedder
    from tools.settings import load_settings

    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("CELERY_BROKER_URL", raising=False)
        settings = load_settings(data_dir=cluster.root / "writer")
    kb = build_knowledge_base(settings, embedder=configured_embedder(settings))
    try:
        assert kb.has_dense and DenseBackfill(kb).waiting() == []
        assert len(kb.list_documents()) == 2  # the earlier document and the upload
    finally:
        kb.close()

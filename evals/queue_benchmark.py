"""`vinarag eval queue`: ingestion on the task queue against the embedded default, on real
files (laws), on this machine.

- throughput: one job of the chosen files, in seconds and chunks/s until every document is
  searchable (sparse views written) and until it is done (dense vectors too): first the
  embedded default (the server's own job thread and worker processes, in this process), then
  `ingest.queue: celery` with one writer (`vinarag worker --role jobs`) and 1, 2, 3 steps
  workers, each a process of its own on the real broker and PostgreSQL.
- job records: the time a save and a read of a job record take, files against PostgreSQL,
  and how many saves a job makes.
- a killed worker: a steps worker is killed (SIGKILL) under a read; the seconds until another
  worker starts the same step (its start recorded in the job store).

Needs CELERY_BROKER_URL and POSTGRES_URL (a scratch schema is made there and dropped)."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.ingest.job import FileJobStore, Job
from tools.settings import Settings, load_settings

log = logging.getLogger(__name__)
WAIT_S = 3600.0


def pick_files(folder: Path, count: int, max_kb: float) -> list[Path]:
    """The first `count` files by name no larger than `max_kb` (the same every run)."""
    files = sorted(p for p in folder.iterdir() if p.is_file())
    chosen = [p for p in files if p.stat().st_size <= max_kb * 1024][:count]
    if len(chosen) < count:
        raise ValueError(f"{folder}: only {len(chosen)} files of at most {max_kb:g} KB")
    return chosen


def _until(check: Callable[[], Any], what: str, timeout: float = WAIT_S) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)
    return value


def _timing(job: Job, files: int) -> dict[str, float]:
    assert job.searchable_at is not None and job.ended_at is not None and job.report
    searchable = job.searchable_at - job.created_at
    done = job.ended_at - job.created_at
    chunks = job.report.chunks
    return {
        "files": files,
        "chunks": chunks,
        "searchable_s": round(searchable, 2),
        "done_s": round(done, 2),
        "searchable_chunks_per_s": round(chunks / searchable, 1),
        "embedded_chunks_per_s": round(chunks / done, 1),
    }


def embedded_default(files: list[Path], data_dir: Path) -> dict[str, float]:
    """One job through the server's own queue (`IngestJobs`, worker processes)."""
    from tools.ingest.jobs import IngestJobs
    from tools.ingest.worker import build_workers
    from tools.kb.factory import build_knowledge_base, configured_embedder

    with _without("CELERY_BROKER_URL"):  # the default: no broker
        settings = load_settings(data_dir=data_dir)
    kb = build_knowledge_base(settings, embedder=configured_embedder(settings))
    jobs = IngestJobs(kb, build_workers(settings, kb), data_dir / "jobs")
    jobs.start()
    try:
        job = jobs.submit_files([(p.name, p.read_bytes()) for p in files], "default")
        jobs.wait(job.id, WAIT_S)
        ended = jobs.get(job.id)
        assert ended is not None and ended.state == "done", ended
        return _timing(ended, len(files))
    finally:
        jobs.close()
        kb.close()


@contextlib.contextmanager
def _without(name: str) -> Iterator[None]:
    kept = os.environ.pop(name, None)
    try:
        yield
    finally:
        if kept is not None:
            os.environ[name] = kept


@dataclass
class QueueRun:
    """Worker processes on one queue name, one scratch schema, one uploads folder."""

    root: Path
    env: dict[str, str]
    settings: Settings
    processes: list[subprocess.Popen[bytes]]

    def worker(self, role: str, name: str) -> subprocess.Popen[bytes]:
        env = {**self.env, "VINARAG_DATA_DIR": str(self.root / name)}
        queue = self.env["VINARAG_INGEST__QUEUE_NAME"]
        process = subprocess.Popen(
            [sys.executable, "-m", "tools.cli", "--log-level", "INFO", "worker", "--role",
             role, "--name", f"{name}@{queue}"],
            env=env, stdout=(self.root / f"{name}.log").open("wb"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.processes.append(process)
        return process

    def consumers(self, role: str) -> int:
        from tools.queue.app import celery_app, queue_counts, queue_names

        queue = queue_names(self.settings)[0 if role == "jobs" else 1]
        return queue_counts(celery_app(self.settings), (queue,))[queue][1]


@contextlib.contextmanager
def queue_run(base: Settings, root: Path) -> Iterator[QueueRun]:
    """A scratch schema and queue name for one run; every process killed and both dropped
    after."""
    import psycopg

    postgres = base.memory.postgres_url
    broker = base.ingest.broker_url
    if not postgres or not broker:
        raise ValueError("eval queue needs CELERY_BROKER_URL and POSTGRES_URL")
    root.mkdir(parents=True, exist_ok=True)
    schema = f"vinarag_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    url = f"{postgres}{'&' if '?' in postgres else '?'}options=-csearch_path%3D{schema}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VINARAG_")}
    env.update(
        CELERY_BROKER_URL=broker,
        POSTGRES_URL=url,
        VINARAG_INGEST__QUEUE_NAME=f"bench-{uuid.uuid4().hex[:8]}",
        VINARAG_INGEST__UPLOADS_URL=str(root / "uploads"),
    )
    settings = load_settings(
        data_dir=root / "client",
        memory={"backend": "postgres", "postgres_url": url},
        ingest={
            "queue": "celery",
            "broker_url": broker,
            "queue_name": env["VINARAG_INGEST__QUEUE_NAME"],
            "uploads_url": str(root / "uploads"),
        },
    )
    run = QueueRun(root, env, settings, [])
    try:
        yield run
    finally:
        for process in run.processes:
            if process.poll() is None:
                process.terminate()
        for process in run.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        from tools.queue.app import celery_app, queue_names

        with celery_app(settings).connection_for_write() as connection:
            for queue in queue_names(settings):
                with contextlib.suppress(Exception):
                    connection.default_channel.queue_delete(queue)
        with psycopg.connect(postgres, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")


def _queued_jobs(settings: Settings) -> Any:
    from tools.ingest.uploads import open_uploads
    from tools.kb.factory import build_knowledge_base
    from tools.queue.app import celery_app
    from tools.queue.jobs import QueuedJobs
    from tools.records.jobs import PostgresJobStore

    store = PostgresJobStore.open(settings)
    kb = build_knowledge_base(settings, location=":memory:")
    uploads = open_uploads(settings, settings.data_dir / "uploads")
    return QueuedJobs(celery_app(settings), store, uploads, kb, settings.ingest.jobs_kept)


def queued(base: Settings, files: list[Path], steps: int, root: Path) -> dict[str, float]:
    with queue_run(base, root) as run:
        run.worker("jobs", "writer")
        for i in range(steps):
            run.worker("steps", f"steps-{i + 1}")
        _until(lambda: run.consumers("jobs") >= 1, "the writer")
        _until(lambda: run.consumers("steps") >= steps, f"{steps} steps workers")
        jobs = _queued_jobs(run.settings)
        try:
            job = jobs.submit_files([(p.name, p.read_bytes()) for p in files], "default")
            jobs.wait(job.id, WAIT_S)
            ended = jobs.get(job.id)
            assert ended is not None and ended.state == "done", ended
            return {**_timing(ended, len(files)), "steps_workers": steps}
        finally:
            jobs.close()


def pickup_after_kill(base: Settings, big: bytes, root: Path) -> float:
    """Seconds from the SIGKILL of the steps worker holding a read to the read's start on the
    other worker (its second start, as the job store recorded it)."""
    with queue_run(base, root) as run:
        run.worker("jobs", "writer")
        workers = {n: run.worker("steps", n) for n in ("steps-1", "steps-2")}
        _until(lambda: run.consumers("steps") >= 2 and run.consumers("jobs") >= 1, "workers")
        jobs = _queued_jobs(run.settings)
        try:
            jobs.submit_files([("big.txt", big)], "default")
            taken = b"Task vinarag.step.read_upload["

            def holder() -> str | None:
                logs = {n: (root / f"{n}.log").read_bytes() for n in workers}
                return next((n for n, text in logs.items() if taken in text), None)

            held = _until(holder, "a read to be taken")
            killed_at = time.time()
            os.kill(workers[held].pid, signal.SIGKILL)

            return round(_until(jobs.store.restarted, "the read to start again") - killed_at, 3)
        finally:
            jobs.close()


def record_costs(base: Settings, root: Path, rounds: int = 200) -> dict[str, float]:
    """Milliseconds a job record's save and read take, files against PostgreSQL (median)."""
    from tools.records.jobs import PostgresJobStore

    def timed(store: Any) -> tuple[float, float]:
        saves, reads = [], []
        for i in range(rounds):
            job = Job(str(uuid.uuid4()), "default", "files", [f"{i}.txt"])
            began = time.perf_counter()
            store.save(job)
            saves.append(time.perf_counter() - began)
            began = time.perf_counter()
            store.get(job.id)
            reads.append(time.perf_counter() - began)
        return statistics.median(saves) * 1000, statistics.median(reads) * 1000

    file_save, file_read = timed(FileJobStore(root / "records"))
    with queue_run(base, root / "pg") as run:
        store = PostgresJobStore.open(run.settings)
        try:
            pg_save, pg_read = timed(store)
        finally:
            store.close()
    return {
        "file_save_ms": round(file_save, 3),
        "file_read_ms": round(file_read, 3),
        "postgres_save_ms": round(pg_save, 3),
        "postgres_read_ms": round(pg_read, 3),
    }


def run_queue_benchmark(
    folder: Path, count: int, max_kb: float, steps: list[int], repeats: int
) -> dict[str, Any]:
    base = load_settings()
    files = pick_files(folder, count, max_kb)
    big = max(folder.iterdir(), key=lambda p: p.stat().st_size).read_bytes()
    result: dict[str, Any] = {
        "files": [p.name for p in files],
        "cpus": os.cpu_count(),
        "runs": {},
    }
    with tempfile.TemporaryDirectory(prefix="vinarag-queue-bench-") as scratch:
        root = Path(scratch)
        plans: list[tuple[str, Callable[[Path], dict[str, float]]]] = [
            ("embedded", lambda where: embedded_default(files, where)),
            *[(f"queue-{n}", lambda where, n=n: queued(base, files, n, where)) for n in steps],
        ]
        for name, plan in plans:
            runs = []
            for i in range(repeats):
                log.info("%s, run %d of %d", name, i + 1, repeats)
                runs.append(plan(root / f"{name}-{i}"))
            result["runs"][name] = {
                "median": {k: statistics.median(r[k] for r in runs) for k in runs[0]},
                "each": runs,
            }
        pickups = [pickup_after_kill(base, big, root / f"kill-{i}") for i in range(repeats)]
        result["pickup_after_kill_s"] = {"median": statistics.median(pickups), "each": pickups}
        result["records"] = record_costs(base, root / "records")
    return result


def format_queue(result: dict[str, Any]) -> str:
    lines = [
        f"{len(result['files'])} files, {result['cpus']} CPUs",
        f"{'run':<12} {'chunks':>7} {'searchable s':>13} {'chunks/s':>9} {'done s':>8} "
        f"{'chunks/s':>9}",
    ]
    for name, run in result["runs"].items():
        m = run["median"]
        lines.append(
            f"{name:<12} {m['chunks']:>7.0f} {m['searchable_s']:>13.1f} "
            f"{m['searchable_chunks_per_s']:>9.1f} {m['done_s']:>8.1f} "
            f"{m['embedded_chunks_per_s']:>9.1f}"
        )
    pickup = result["pickup_after_kill_s"]["median"]
    lines.append(f"a killed worker's read started again after {pickup} s (median)")
    r = result["records"]
    lines.append(
        f"job record: save {r['file_save_ms']} ms (files) / {r['postgres_save_ms']} ms "
        f"(PostgreSQL), read {r['file_read_ms']} / {r['postgres_read_ms']} ms"
    )
    return "\n".join(lines)

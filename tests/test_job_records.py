"""Job records in PostgreSQL (the task queue's), against the machine's real server: what every
replica reads, the claims that make a scheduled run happen once, the attempts that end a task
whose worker keeps dying, and the lock a collection's writers take turns on."""

from __future__ import annotations

import threading

import pytest

from tools.ingest.job import FileJobStore, Job
from tools.records.jobs import PostgresJobStore


@pytest.fixture
def records(postgres_schema, settings):
    store = PostgresJobStore.open(
        settings.model_copy(
            update={"memory": settings.memory.model_copy(update={"postgres_url": postgres_schema})}
        )
    )
    yield store
    store.close()


def _job(created: float, state: str = "queued") -> Job:
    job = Job(f"job-{created:g}", "default", "files", ["a.txt"], created_at=created)
    job.state = state  # type: ignore[assignment]
    return job


@pytest.mark.parametrize("kind", ["postgres", "files"])
def test_records_read_back_newest_first_and_pruned_to_the_kept_ended(kind, records, tmp_path):
    store = records if kind == "postgres" else FileJobStore(tmp_path / "jobs")
    for created, state in ((1, "done"), (2, "failed"), (3, "running"), (4, "done"), (5, "queued")):
        store.save(_job(created, state))
    running = store.get("job-3")
    running.chunks_written = 7
    store.save(running)  # saved again: replaced, not added
    assert store.get("job-3").chunks_written == 7
    assert [j.id for j in store.recent(10)] == ["job-5", "job-4", "job-3", "job-2", "job-1"]
    assert [j.id for j in store.unfinished()] == ["job-3", "job-5"]
    assert sorted(store.prune(1)) == ["job-1", "job-2"]  # the newest ended one stays
    assert [j.id for j in store.recent(10)] == ["job-5", "job-4", "job-3"]
    assert store.get("job-1") is None


def test_a_claim_is_won_once_and_attempts_count_up(records):
    assert records.claim("source:0:/van-ban:period-7", "replica-a")
    assert not records.claim("source:0:/van-ban:period-7", "replica-b")
    assert records.claim("source:0:/van-ban:period-8", "replica-b")
    records.settle("source:0:/van-ban:period-7", "synced")
    claims = records.claims("source:0:")
    assert [(name, by, outcome) for name, by, _, outcome in claims] == [
        ("source:0:/van-ban:period-7", "replica-a", "synced"),
        ("source:0:/van-ban:period-8", "replica-b", None),
    ]
    assert claims[0][2] is not None and claims[1][2] is None  # ended, and not yet
    assert records.claims("source:1:") == []
    assert [records.attempt("step:x") for _ in range(3)] == [1, 2, 3]
    assert records.attempt("step:y") == 1
    assert records.restarted() is not None


def test_an_outcome_is_taken_once(records):
    records.put_outcome("task-1", b"payload")
    assert records.take_outcome("task-1") == b"payload"
    assert records.take_outcome("task-1") is None


def test_writers_of_one_collection_take_turns(records):
    inside = threading.Event()
    release = threading.Event()
    order: list[str] = []

    def first() -> None:
        with records.collection_lock("luat"):
            order.append("first in")
            inside.set()
            release.wait(30)
            order.append("first out")

    thread = threading.Thread(target=first)
    thread.start()
    assert inside.wait(30)
    with records.collection_lock("khac"):  # another collection does not wait
        order.append("other")
    waiter = threading.Thread(target=lambda: _enter(records, order))
    waiter.start()
    release.set()
    thread.join(30)
    waiter.join(30)
    assert order == ["first in", "other", "first out", "second in"]


def _enter(records: PostgresJobStore, order: list[str]) -> None:
    with records.collection_lock("luat"):
        order.append("second in")

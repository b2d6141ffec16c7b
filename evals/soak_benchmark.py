"""`vinarag eval soak`: a long mixed load against a server on this machine (cache hits, misses,
conversation turns in threads, /v1 streams, uploads and deletes), reporting errors, latency per
kind of request, and the server's resident memory over time. Target: no errors, and memory at
the end within 10 % of its value after warm-up (a leak shows as steady growth)."""

from __future__ import annotations

import itertools
import logging
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import psutil

from evals.load.questions import QUESTIONS
from evals.load_benchmark import LOOPBACK

log = logging.getLogger(__name__)

# How often each kind of request is sent (out of 100).
MIX = {"hit": 40, "miss": 25, "thread": 15, "v1_stream": 15, "upload_delete": 5}
UPLOAD = "Quy định soak {n}: nhân viên kiểm thử được nghỉ {n} ngày sau mỗi đợt chạy dài."


@dataclass
class _Tally:
    seconds: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class _Mix:
    """One user's requests: each call sends one request of a kind drawn from MIX."""

    def __init__(self, client: httpx.Client, user: int) -> None:
        self.client, self.user = client, user
        self.count = itertools.count()
        self.kinds: dict[str, Callable[[], None]] = {
            "hit": self.hit,
            "miss": self.miss,
            "thread": self.thread,
            "v1_stream": self.v1_stream,
            "upload_delete": self.upload_delete,
        }

    def _ok(self, response: httpx.Response, expect: str) -> None:
        if response.status_code not in (200, 201) or expect not in response.text:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")

    def hit(self) -> None:
        body = {"input": {"question": random.choice(QUESTIONS)}}
        self._ok(self.client.post("/rag/invoke", json=body), "answer")

    def miss(self) -> None:
        question = f"{random.choice(QUESTIONS)} (soak {self.user}-{next(self.count)})"
        self._ok(self.client.post("/rag/invoke", json={"input": {"question": question}}), "answer")

    def thread(self) -> None:
        headers = {"X-Thread-Id": f"soak-{self.user}-{next(self.count) % 50}"}
        for question in ("Vịnh Hạ Long có bao nhiêu hòn đảo?", "Còn được công nhận năm nào?"):
            body = {"input": {"question": question}}
            self._ok(self.client.post("/rag/invoke", json=body, headers=headers), "answer")

    def v1_stream(self) -> None:
        body = {
            "model": "vinarag",
            "stream": True,
            "messages": [{"role": "user", "content": random.choice(QUESTIONS)}],
        }
        with self.client.stream("POST", "/v1/chat/completions", json=body) as response:
            text = "".join(response.iter_text())
        if response.status_code != 200 or "[DONE]" not in text or "event: error" in text:
            raise RuntimeError(f"HTTP {response.status_code}: {text[-200:]}")

    def upload_delete(self) -> None:
        n = next(self.count)
        name = f"soak-{self.user}-{n}.txt"
        files = [("files", (name, UPLOAD.format(n=n).encode(), "text/plain"))]
        added = self.client.post("/documents/files?wait=true", files=files)
        self._ok(added, "added")
        for doc_id in added.json()["added"]:
            self._ok(self.client.delete(f"/documents/{doc_id}"), "deleted")


def _rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


def _anon_mb(pid: int) -> float:
    """Anonymous resident memory (the heaps: what a leak grows), without the pages of mapped
    files (the store's segments), which come and go with the page cache. 0 off Linux."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    line = next((li for li in status.splitlines() if li.startswith("RssAnon:")), "RssAnon: 0")
    return int(line.split()[1]) / 1024


def _uss_mb(pid: int) -> float:
    """Memory only this process holds (no shared library or mapped model pages): what a leak
    grows."""
    return psutil.Process(pid).memory_full_info().uss / 2**20


def _listening_pid(url: str) -> int:
    port = urlparse(url).port or 80
    for connection in psutil.net_connections("tcp"):
        listening = connection.status == psutil.CONN_LISTEN and connection.laddr.port == port
        if listening and connection.pid is not None:
            return connection.pid
    raise RuntimeError(f"no process found listening on port {port}: give --pid")


@contextmanager
def own_server(
    port: int, env: dict[str, str] | None = None, setup: Sequence[str] = ("demo",)
) -> Iterator[tuple[str, int]]:
    """`vinarag serve` on a fresh data folder loaded by `vinarag SETUP...` (the demo knowledge
    base by default), with this process's settings otherwise (dense model included) and `env`
    over them; stopped after."""
    with tempfile.TemporaryDirectory(prefix="vinarag-soak-") as folder:
        env = {**os.environ, **(env or {}), "VINARAG_DATA_DIR": folder}
        vinarag = [sys.executable, "-m", "tools.cli", "--log-level", "WARNING"]
        subprocess.run([*vinarag, *setup], env=env, check=True, capture_output=True)
        server = subprocess.Popen([*vinarag, "serve", "--port", str(port)], env=env)
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(600):  # up to a minute for the models to load
                try:
                    if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if server.poll() is not None:
                    raise RuntimeError("vinarag serve exited before it was ready")
                time.sleep(0.1)
            yield url, server.pid
        finally:
            server.terminate()
            server.wait(30)


def run_soak(
    url: str,
    pid: int | None,
    seconds: float,
    users: int = 4,
    sample_every_s: float = 10.0,
    warmup_share: float = 0.1,
) -> dict[str, Any]:
    """`users` threads send the mix for `seconds`; the server's RSS is sampled meanwhile."""
    host = urlparse(url).hostname
    if host not in LOOPBACK:
        raise ValueError(f"load is only sent to this machine (127.0.0.1, localhost): got {host}")
    pid = pid or _listening_pid(url)
    tallies = {kind: _Tally() for kind in MIX}
    lock = threading.Lock()
    began = time.monotonic()
    deadline = began + seconds
    stop = threading.Event()
    samples: list[tuple[float, float]] = [(0.0, _rss_mb(pid))]
    unique: list[tuple[float, float]] = [(0.0, _uss_mb(pid))]
    anonymous: list[tuple[float, float]] = [(0.0, _anon_mb(pid))]
    kinds, weights = list(MIX), list(MIX.values())

    def user(number: int) -> None:
        with httpx.Client(base_url=url, timeout=120) as client:
            mix = _Mix(client, number)
            while time.monotonic() < deadline:
                kind = random.choices(kinds, weights)[0]
                start = time.perf_counter()
                error = None
                try:
                    mix.kinds[kind]()
                except Exception as exc:  # noqa: BLE001 (every failure is counted, none stops it)
                    error = f"{type(exc).__name__}: {exc}"[:300]
                with lock:
                    tally = tallies[kind]
                    tally.seconds.append(time.perf_counter() - start)
                    if error:
                        tally.errors.append(error)

    def sample() -> None:
        while not stop.wait(sample_every_s):
            at = round(time.monotonic() - began, 1)
            samples.append((at, round(_rss_mb(pid), 1)))
            unique.append((at, round(_uss_mb(pid), 1)))
            anonymous.append((at, round(_anon_mb(pid), 1)))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    workers = [threading.Thread(target=user, args=(n,)) for n in range(users)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    stop.set()
    sampler.join()
    at = round(time.monotonic() - began, 1)
    samples.append((at, round(_rss_mb(pid), 1)))
    unique.append((at, round(_uss_mb(pid), 1)))
    anonymous.append((at, round(_anon_mb(pid), 1)))
    series = {"rss_mb": samples, "uss_mb": unique, "anon_mb": anonymous}
    return _summary(url, seconds, users, tallies, series, warmup_share)


def _quantile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return round(values[0] * 1000, 2) if values else 0.0
    return round(statistics.quantiles(values, n=100)[int(q * 100) - 1] * 1000, 2)


def _summary(
    url: str,
    seconds: float,
    users: int,
    tallies: dict[str, _Tally],
    series: dict[str, list[tuple[float, float]]],
    warmup_share: float,
) -> dict[str, Any]:
    window = seconds * warmup_share

    def memory(samples: list[tuple[float, float]]) -> dict[str, Any]:
        """After warm-up and at the end, each the median of a window as long as the warm-up
        (one sample is at the mercy of the store's file pages being mapped in or not)."""
        warm = [mb for t, mb in samples if window <= t < 2 * window] or [samples[-1][1]]
        end = [mb for t, mb in samples if t >= seconds - window] or [samples[-1][1]]
        after, last = statistics.median(warm), statistics.median(end)
        return {
            "start": samples[0][1],
            "after_warmup": round(after, 1),
            "end": round(last, 1),
            "max": max(mb for _, mb in samples),
            "drift_pct": round((last - after) / after * 100, 1) if after else 0.0,
            "samples": samples,
        }

    memories = {name: memory(samples) for name, samples in series.items()}
    every = [s for t in tallies.values() for s in t.seconds]
    errors = sum(len(t.errors) for t in tallies.values())
    return {
        "url": url,
        "seconds": seconds,
        "users": users,
        "requests": len(every),
        "errors": errors,
        "p50_ms": _quantile(every, 0.5),
        "p95_ms": _quantile(every, 0.95),
        "by_kind": {
            kind: {
                "requests": len(t.seconds),
                "errors": len(t.errors),
                "p50_ms": _quantile(t.seconds, 0.5),
                "p95_ms": _quantile(t.seconds, 0.95),
                "first_errors": t.errors[:5],
            }
            for kind, t in tallies.items()
        },
        **memories,
        "passed": errors == 0 and abs(memories["rss_mb"]["drift_pct"]) <= 10,
    }


def format_soak(result: dict[str, Any]) -> str:
    lines = [
        f"{result['requests']} requests in {result['seconds']:g} s by {result['users']} users: "
        f"{result['errors']} errors, p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms",
        f"{'kind':14}{'requests':>9}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}",
    ]
    for kind, row in result["by_kind"].items():
        lines.append(
            f"{kind:14}{row['requests']:>9}{row['errors']:>8}{row['p50_ms']:>9}{row['p95_ms']:>9}"
        )
    for name, key in (
        ("RSS", "rss_mb"),
        ("USS (its own pages)", "uss_mb"),
        ("anonymous (heaps)", "anon_mb"),
    ):
        mem = result[key]
        lines.append(
            f"server {name}: {mem['start']} MB at start, {mem['after_warmup']} MB after warm-up, "
            f"{mem['end']} MB at the end (medians of a warm-up's length; max {mem['max']}; "
            f"drift {mem['drift_pct']:+} %)"
        )
    lines.append("PASSED" if result["passed"] else "FAILED (errors, or RSS drift over 10 %)")
    return "\n".join(lines)


def default_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def soak(url: str | None, pid: int | None, seconds: float, users: int) -> dict[str, Any]:
    """Against `url` (the server listening there, or `pid`), or a server of its own."""
    if url:
        return run_soak(url, pid, seconds, users)
    with own_server(default_port()) as (own_url, own_pid):
        return run_soak(own_url, own_pid, seconds, users)

"""`vinarag eval load`: locust, headless and bounded in time, against a running server on
loopback: requests/s and p50/p95/p99 latency of /rag/invoke (and /v1/chat/completions) on cache
hits and on misses, at several user counts, with the error count."""

from __future__ import annotations

import csv
import json
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

log = logging.getLogger(__name__)
LOCUSTFILE = Path(__file__).resolve().parent / "load" / "locustfile.py"
WRK_SCRIPT = Path(__file__).resolve().parent / "load" / "wrk.lua"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
PATHS = {"rag": "/rag/invoke", "v1": "/v1/chat/completions"}


def run_locust(url: str, users: int, mode: str, seconds: int, route: str = "rag") -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="vinarag-load-") as folder:
        prefix = Path(folder) / "run"
        command = [
            sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", url,
            "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--csv", str(prefix),
            "--only-summary", "--stop-timeout", "5",
        ]  # fmt: skip
        env = {**os.environ, "VINARAG_LOAD_MODE": mode, "VINARAG_LOAD_ROUTE": route}
        result = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=seconds + 120
        )
        stats_file = Path(f"{prefix}_stats.csv")
        if not stats_file.exists():
            raise RuntimeError(f"locust wrote no stats: {result.stderr[-500:]}")
        with stats_file.open(encoding="utf-8") as handle:
            rows = {row["Name"]: row for row in csv.DictReader(handle)}
    row = rows[PATHS[route]]
    return {
        "route": route,
        "mode": mode,
        "users": users,
        "seconds": seconds,
        "requests": int(row["Request Count"]),
        "errors": int(row["Failure Count"]),
        "rps": round(float(row["Requests/s"]), 1),
        "p50_ms": float(row["50%"]),
        "p95_ms": float(row["95%"]),
        "p99_ms": float(row["99%"]),
        "tool": "locust",
    }


def run_wrk(url: str, users: int, mode: str, seconds: int, route: str = "rag") -> dict[str, Any]:
    """wrk (C): the load generator takes less of the machine's 2 cores than locust does."""
    command = [
        "wrk",
        "-t1",
        f"-c{users}",
        f"-d{seconds}s",
        "-s",
        str(WRK_SCRIPT),
        f"{url}{PATHS[route]}",
    ]
    env = {**os.environ, "VINARAG_LOAD_MODE": mode, "VINARAG_LOAD_ROUTE": route}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=seconds + 60)
    line = next((x for x in result.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no figures: {result.stdout[-300:]} {result.stderr[-300:]}")
    figures = json.loads(line.removeprefix("WRK_JSON "))
    return {
        "route": route,
        "mode": mode,
        "users": users,
        "seconds": seconds,
        "tool": "wrk",
        **figures,
    }


def run_load_benchmark(
    url: str,
    users: list[int],
    modes: list[str],
    seconds: int,
    tool: str = "locust",
    routes: tuple[str, ...] = ("rag",),
) -> dict[str, Any]:
    """Each route, mode and user count in turn, on the same server in the same run (so the
    routes' figures compare)."""
    host = urlparse(url).hostname
    if host not in LOOPBACK:
        raise ValueError(f"load is only sent to this machine (127.0.0.1, localhost): got {host}")
    runs = []
    for mode in modes:
        for count in users:
            for route in routes:
                log.info("%s: %s %s, %d users, %d s", tool, PATHS[route], mode, count, seconds)
                run = run_wrk if tool == "wrk" else run_locust
                runs.append(run(url, count, mode, seconds, route))
    return {"url": url, "tool": tool, "runs": runs}


def format_runs(result: dict[str, Any]) -> str:
    lines = [
        f"{'route':6}{'mode':6}{'users':>6}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
        f"{'errors':>8}"
    ]
    for r in result["runs"]:
        lines.append(
            f"{r.get('route', 'rag'):6}{r['mode']:6}{r['users']:>6}{r['rps']:>9}{r['p50_ms']:>9}"
            f"{r['p95_ms']:>9}{r['p99_ms']:>9}{r['errors']:>8}"
        )
    return "\n".join(lines)

"""`vinarag eval upload`: how long after a person presses "Tải lên" on the documents page does
the new document appear in its list, against the time the server took to make it searchable?
A `vinarag serve` of its own (the demo loaded, this process's settings, dense model included)
and headless Chromium on `/tai-lieu`; each law is uploaded and followed to its end before the
next."""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import httpx

from evals.soak_benchmark import own_server

CHROMIUM = "/usr/bin/chromium"
_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]


def _newest_job(url: str) -> dict[str, Any]:
    return httpx.get(f"{url}/jobs", params={"limit": 1}, timeout=10).json()["jobs"][0]


def run_upload_benchmark(folder: Path, files: int, max_kb: int, port: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    laws = sorted(p for p in folder.glob("*.txt") if p.stat().st_size <= max_kb * 1024)[:files]
    rows: list[dict[str, Any]] = []
    with own_server(port) as (url, _), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=_ARGS)
        page = browser.new_page()
        page.goto(f"{url}/tai-lieu")
        page.locator(".document").first.wait_for(timeout=60_000)
        for law in laws:
            before = page.locator(".document").count()
            page.set_input_files("#files", str(law))
            pressed = time.time()
            page.locator("#upload-form button[type=submit]").click()
            page.locator(".document").nth(before).wait_for(timeout=600_000)
            listed = time.time()
            job = _newest_job(url)
            while job["state"] not in {"done", "failed"}:
                time.sleep(0.5)
                job = httpx.get(f"{url}{job['url']}", timeout=10).json()
            searchable = job["searchable_at"] - pressed if job["searchable_at"] else None
            rows.append(
                {
                    "file": law.name,
                    "kb": round(law.stat().st_size / 1024, 1),
                    "chunks": job["chunks_written"],
                    "listed_s": round(listed - pressed, 2),
                    "searchable_s": round(searchable, 2) if searchable is not None else None,
                    "done_s": round(job["ended_at"] - pressed, 2),
                    "listed_after_searchable_s": round(listed - pressed - searchable, 2)
                    if searchable is not None
                    else None,
                }
            )
        browser.close()
    gaps = [
        r["listed_after_searchable_s"] for r in rows if r["listed_after_searchable_s"] is not None
    ]
    return {
        "files": rows,
        "median_listed_after_searchable_s": round(statistics.median(gaps), 2) if gaps else None,
        "max_listed_after_searchable_s": round(max(gaps), 2) if gaps else None,
    }


def format_upload(result: dict[str, Any]) -> str:
    lines = [
        "file                                              KB  chunks  searchable  listed   done"
    ]
    for r in result["files"]:
        lines.append(
            f"{r['file'][:48]:<48} {r['kb']:>5} {r['chunks']:>7} {r['searchable_s']:>10} s"
            f" {r['listed_s']:>6} s {r['done_s']:>6} s"
        )
    lines.append(
        f"listed after searchable: median {result['median_listed_after_searchable_s']} s, "
        f"most {result['max_listed_after_searchable_s']} s"
    )
    return "\n".join(lines)

"""The `vinarag` command as a user runs it, on a fresh data dir (in process, and once through
the installed console script)."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

FANSIPAN = "Fansipan là ngọn núi cao nhất Việt Nam, cao khoảng 3.143 mét."


def test_help_lists_every_command(vinarag):
    """Every layer's commands arrive through the entry points; each answers --help. The
    installed `vinarag` script is run as its own process here: the one test of that boundary."""
    script = Path(sys.executable).with_name("vinarag")
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    every = (
        "ingest", "delete", "documents", "search", "demo", "kb", "sync", "audit", "worker",  # tools
        "ask", "chat", "diagram",  # graph
        "eval", "data",  # evals
        "serve", "keys", "mcp",  # server
        "train",  # training
    )  # fmt: skip
    listed = set(re.findall(r"^    (\w+) ", result.stdout, re.MULTILINE))
    assert listed == set(every), result.stdout
    assert "--corpus" in vinarag("eval", "retrieval", "--help").stdout
    assert "--strip-tones" in vinarag("eval", "rag", "--help").stdout
    assert "--pairs" in vinarag("eval", "asks", "--help").stdout
    assert "promote" in vinarag("train", "--help").stdout
    assert {"migrate", "backup", "restore"} <= set(vinarag("kb", "--help").stdout.split())
    assert "--role" in vinarag("worker", "--help").stdout
    unqueued = vinarag("worker")  # the embedded default has no queue to take tasks from
    assert unqueued.returncode == 2 and "ingest.queue: celery" in unqueued.stderr


@pytest.mark.slow
def test_ingest_reports_failures_and_exit_codes(vinarag, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "fansipan.txt").write_text(FANSIPAN, "utf-8")
    (folder / "broken.docx").write_bytes(b"not a zip")
    result = vinarag("ingest", str(folder), "--quiet", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert len(report["added"]) == 1 and report["failed"][0]["source"].endswith("broken.docx")
    assert report["chunks"] == 1 and report["chunks_per_s"] > 0 and "chunks/s" in result.stderr
    assert "FAILED" in result.stderr and "ingested 1 new" in result.stderr

    only_bad = vinarag("ingest", str(folder / "broken.docx"), "--quiet")
    assert only_bad.returncode == 1 and "ingested 0 new" in only_bad.stderr

    again = vinarag("ingest", str(folder), "--quiet", "--json")
    assert json.loads(again.stdout)["unchanged"] == report["added"]

    listing = vinarag("documents", "--json")
    docs = json.loads(listing.stdout)["documents"]
    assert [d["doc_id"] for d in docs] == report["added"]

    found = vinarag("search", "núi cao nhất")
    assert "3.143" in found.stdout and found.stdout.startswith("[1]")

    assert vinarag("delete", report["added"][0]).returncode == 0
    assert vinarag("delete", report["added"][0]).returncode == 1
    assert json.loads(vinarag("documents", "--json").stdout)["documents"] == []


@pytest.mark.slow
def test_demo_loads_once_and_search_reads_stdin(vinarag):
    first = vinarag("demo")
    assert first.returncode == 0 and "ingested 40 new" in first.stderr
    second = vinarag("demo")
    assert second.returncode == 0 and "ingested" not in second.stderr
    forced = vinarag("demo", "--force")  # loaded again: unchanged, so nothing more recorded
    assert forced.returncode == 0 and "40 unchanged" in forced.stderr
    (entry,) = json.loads(vinarag("audit", "--json").stdout)
    assert entry["action"] == "ingest" and entry["counts"]["added"] == 40
    assert entry["source"] == "documents.jsonl"
    answers = vinarag("search", "--top-n", "1", stdin="Ai dời đô về Thăng Long?\n\n")
    assert answers.returncode == 0 and "Lý Thái Tổ" in answers.stdout


def test_serve_refuses_several_workers_on_the_local_store(vinarag):
    result = vinarag("serve", "--workers", "2")
    assert result.returncode == 2
    assert "needs a Qdrant server (QDRANT_URL)" in result.stderr


@pytest.mark.slow
def test_ingest_searchable_first_then_backfilled(vinarag, tmp_path):
    """`--dense later`: the files are searchable by their sparse views when the command ends,
    their chunks wait for the dense vector, and `vinarag kb backfill` embeds them."""
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "fansipan.txt").write_text(FANSIPAN, "utf-8")
    later = vinarag("ingest", str(folder), "--quiet", "--json", "--dense", "later", dense=True)
    assert later.returncode == 0, later.stderr
    report = json.loads(later.stdout)
    assert report["chunks"] == 1 and report["dense_waiting"] == 1
    assert report["searchable_s"] <= report["seconds"]
    assert "1 chunks wait for their dense vector" in later.stderr
    assert "3.143" in vinarag("search", "núi cao nhất", dense=True).stdout  # found meanwhile
    filled = vinarag("kb", "backfill", "--quiet", dense=True)
    assert filled.returncode == 0 and "embedded 1 chunks; 0 still waiting" in filled.stdout
    again = vinarag("kb", "backfill", "--quiet", dense=True)
    assert "embedded 0 chunks; 0 still waiting" in again.stdout
    now = vinarag("ingest", str(folder), "--quiet", "--json", dense=True)  # unchanged: nothing
    assert json.loads(now.stdout)["dense_waiting"] == 0
    sparse_only = vinarag("kb", "backfill", "--quiet")
    assert sparse_only.returncode == 1 and "no dense embedder" in sparse_only.stdout

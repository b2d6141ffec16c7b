"""`langgraph dev` (LangGraph Studio's server) serves the graph from langgraph.json, offline."""

import os
import queue
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from evals.law_sample import LAW_VERSIONS
from tests.helpers import REPO, free_port, need

pytestmark = pytest.mark.integration


@pytest.fixture
def langgraph_dev(tmp_path):
    cli = Path(sys.executable).parent / "langgraph"
    need(cli.exists() or shutil.which("langgraph") is not None, "langgraph CLI not installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VINARAG_", "QDRANT_"))}
    env.update(
        VINARAG_DATA_DIR=str(tmp_path / "data"),
        VINARAG_DENSE__MODEL="",
        LANGGRAPH_CLI_NO_ANALYTICS="1",
        LANGGRAPH_NO_VERSION_CHECK="true",
    )
    demo = subprocess.run(
        [sys.executable, "-m", "tools.cli", "demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert demo.returncode == 0, demo.stderr
    laws = tmp_path / "laws"  # two laws on the same matters: a question can be about either
    laws.mkdir()
    for version in LAW_VERSIONS:
        if version.doc_id in ("urban-2025", "rural"):
            (laws / f"{version.doc_id}.txt").write_text(version.text, "utf-8")
    ingest = subprocess.run(
        [sys.executable, "-m", "tools.cli", "ingest", "--quiet", str(laws)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ingest.returncode == 0, ingest.stderr
    port = free_port()
    process = subprocess.Popen(
        [
            str(cli),
            "dev",
            "--no-browser",
            "--no-reload",
            "--port",
            str(port),
            "--config",
            "langgraph.json",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(line) for line in process.stdout], daemon=True
    ).start()
    seen = []
    try:
        while True:
            line = lines.get(timeout=120)  # the server says when it has started up
            seen.append(line)
            if "Application started up" in line:
                break
            assert process.poll() is None, "".join(seen)
        url = f"http://127.0.0.1:{port}"
        _until_listening(url, process)  # started up is logged before the socket is bound
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def _until_listening(url: str, process: subprocess.Popen, seconds: float = 120) -> None:
    import time

    deadline = time.monotonic() + seconds
    while True:
        try:
            httpx.get(f"{url}/ok", timeout=5)
            return
        except httpx.TransportError:
            assert process.poll() is None and time.monotonic() < deadline, "langgraph dev is not up"
            time.sleep(0.1)


def test_runs_wait_through_langgraph_dev(langgraph_dev):
    with httpx.Client(base_url=langgraph_dev, timeout=60) as client:
        assistants = client.post("/assistants/search", json={}).json()
        assert [a["graph_id"] for a in assistants] == ["vinarag"]
        result = client.post(
            "/runs/wait",
            json={"assistant_id": "vinarag", "input": {"question": "Phở ra đời ở đâu?"}},
        ).json()
        assert "Nam Định" in result["answer"] and result["grounded"]["value"] is True
        assert [p["node"] for p in result["path"]][-1] == "write_cache"
        thread = client.post("/threads", json={}).json()["thread_id"]
        first = client.post(
            f"/threads/{thread}/runs/wait",
            json={
                "assistant_id": "vinarag",
                "input": {"question": "Vịnh Hạ Long có bao nhiêu hòn đảo?"},
            },
        ).json()
        assert "2.000" in first["answer"]
        follow = client.post(
            f"/threads/{thread}/runs/wait",
            json={
                "assistant_id": "vinarag",
                "input": {"question": "Còn được UNESCO công nhận năm nào?"},
            },
        ).json()
        assert "1994" in follow["answer"]


def test_the_question_back_is_an_interrupt_in_langgraph_dev(langgraph_dev):
    """Studio shows the interrupt (the question and the laws); the run resumes from a pick."""
    with httpx.Client(base_url=langgraph_dev, timeout=60) as client:
        thread = client.post("/threads", json={}).json()["thread_id"]
        run = {
            "assistant_id": "vinarag",
            "input": {"question": "Luật này có hiệu lực từ ngày nào?"},
        }
        client.post(f"/threads/{thread}/runs/wait", json=run).raise_for_status()
        state = client.get(f"/threads/{thread}/state").json()
        assert state["next"] == ["ask_which_law"]
        [interrupt] = [i for task in state["tasks"] for i in task["interrupts"]]
        labels = [o["label"] for o in interrupt["value"]["options"]]
        assert labels == [
            "Luật Vườn cây đô thị 2025 (99/2025/QH15)",
            "Luật Vườn cây nông thôn 2025 (98/2025/QH15)",
        ]
        resume = {"assistant_id": "vinarag", "command": {"resume": "2"}}
        result = client.post(f"/threads/{thread}/runs/wait", json=resume).json()
        assert "01 tháng 7 năm 2026" in result["answer"]
        assert {s["title"] for s in result["sources"]} == {labels[1]}

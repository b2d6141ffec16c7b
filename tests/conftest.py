"""Shared fixtures. Every test builds what it needs in tmp_path and cleans up after itself."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from tests.helpers import POSTGRES, SHARED_DATA, need
from tools.logs import disable_telemetry

disable_telemetry()
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture
def postgres_schema() -> Iterator[str]:
    """A scratch schema on the machine's PostgreSQL (dropped afterwards): its URL."""
    psycopg = pytest.importorskip("psycopg")
    try:
        connection = psycopg.connect(POSTGRES, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        need(False, f"PostgreSQL not reachable at {POSTGRES}: {exc}")
    schema = f"vinarag_test_{uuid.uuid4().hex[:10]}"
    connection.execute(f"CREATE SCHEMA {schema}")
    yield f"{POSTGRES}?options=-csearch_path%3D{schema}"
    connection.execute(f"DROP SCHEMA {schema} CASCADE")
    connection.close()


class _LangfuseRecorder(BaseHTTPRequestHandler):
    received: list = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.received.append((self.path, dict(self.headers), body))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")


@pytest.fixture
def langfuse_server(monkeypatch):
    from langfuse._client.resource_manager import LangfuseResourceManager

    # Langfuse keeps one client per public key for the process, bound to the first base URL
    # and dead after shutdown: each test starts from none, so its client sends here.
    LangfuseResourceManager.reset()
    server = HTTPServer(("127.0.0.1", 0), _LangfuseRecorder)
    _LangfuseRecorder.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("LANGFUSE_BASE_URL", f"http://127.0.0.1:{server.server_port}")
    monkeypatch.setenv("LANGFUSE_HOST", f"http://127.0.0.1:{server.server_port}")
    monkeypatch.setenv("LANGFUSE_PUBLIC_KEY", "pk-lf-test")
    monkeypatch.setenv("LANGFUSE_SECRET_KEY", "sk-lf-test")
    yield _LangfuseRecorder.received
    LangfuseResourceManager.reset()
    server.shutdown()
    server.server_close()


@pytest.fixture
def shared_data() -> Path:
    need(SHARED_DATA.is_dir(), f"shared evaluation data not found at {SHARED_DATA}")
    return SHARED_DATA


def _settings_on(data_dir: Path, monkeypatch: pytest.MonkeyPatch):
    for key in list(os.environ):
        if key.startswith("VINARAG_") or key in {
            "QDRANT_URL",
            "QDRANT_API_KEY",
            "REDIS_URL",
            "POSTGRES_URL",
        }:
            monkeypatch.delenv(key)
    from tools.settings import load_settings

    # Uploads run their steps in the server's process here (no worker process per test app);
    # the job tests run the worker processes.
    return load_settings(data_dir=data_dir, dense={"backend": "none"}, ingest={"worker": "thread"})


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Settings on a fresh data dir, no dense model (tests that need one inject it)."""
    return _settings_on(tmp_path / "data", monkeypatch)


@pytest.fixture(scope="module")
def module_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """The demo app, built once per module, for tests whose requests are refused (or only
    read): nothing they send changes what another test sees. A test that writes uses its own
    app (`demo_services`)."""
    from fastapi.testclient import TestClient

    from server.main import create_app
    from tools.demo import DEMO_DOCUMENTS
    from tools.ingest.pipeline import ingest_paths
    from tools.services import build_services

    with pytest.MonkeyPatch.context() as monkeypatch:
        configured = _settings_on(tmp_path_factory.mktemp("module-app") / "data", monkeypatch)
        services = build_services(configured, location=":memory:", embedder=None)
        try:
            ingest_paths([DEMO_DOCUMENTS], services.retrieval.kb, configured, progress=False)
            with TestClient(create_app(configured, services=services)) as client:
                yield client
        finally:
            services.close()


@pytest.fixture
def memory_kb(settings) -> Iterator:
    from tools.kb.factory import build_knowledge_base

    kb = build_knowledge_base(settings, location=":memory:")
    yield kb
    kb.client.close()


# Settings sections that do not change what ingesting the demo writes into the store: a test
# whose settings differ only there starts from a copy of one demo store built per session.
_NOT_IN_THE_STORE = {
    "data_dir", "log_level", "api_keys", "server", "cache", "memory", "feedback", "generator",
    "grader", "graph", "rerank", "sources", "sync", "evaluation",
}  # fmt: skip


def _store_settings(configured) -> dict:
    return configured.model_dump(mode="json", exclude=_NOT_IN_THE_STORE)


def _copy_store(source: Path, target: Path) -> None:
    """An embedded store's files are mostly holes (32 MB pages, a few KB written): copied as
    holes, a demo store is 800 KB and 50 ms; byte by byte it would be 400 MB."""
    subprocess.run(["cp", "-a", "--sparse=always", f"{source}/.", str(target)], check=True)


@pytest.fixture(scope="session")
def _demo_store(tmp_path_factory: pytest.TempPathFactory):
    """The demo knowledge base ingested once (an embedded store's folder) and the settings it
    was ingested under."""
    from tools.demo import DEMO_DOCUMENTS
    from tools.ingest.pipeline import ingest_paths
    from tools.services import build_services

    with pytest.MonkeyPatch.context() as monkeypatch:
        configured = _settings_on(tmp_path_factory.mktemp("demo-store") / "data", monkeypatch)
    services = build_services(configured, location=":memory:", embedder=None)
    try:
        ingest_paths([DEMO_DOCUMENTS], services.retrieval.kb, configured, progress=False)
        client = services.retrieval.kb.client
        client.release()  # flushed and closed: the folder is a whole store
        folder = tmp_path_factory.mktemp("demo-store-template")
        _copy_store(client.root, folder)
    finally:
        services.close()
    return folder, _store_settings(configured)


class _SeededTemp:
    """`tempfile` for the store factory: a temporary store folder that starts as a copy of
    `folder` (then opened as any existing store is)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def mkdtemp(self, prefix: str = "") -> str:
        import tempfile

        made = tempfile.mkdtemp(prefix=prefix)
        _copy_store(self.folder, Path(made))
        return made


@pytest.fixture
def make_demo_services(settings, _demo_store):
    """Builds services over the bundled demo knowledge base in an in-memory store, for the
    test's settings or settings it changed (extra keywords go to build_services); all closed
    after the test. Sparse-only services whose settings ingest the demo as the session's copy
    did start from a copy of that store (the same points, not ingested again)."""
    import tools.kb.qdrant
    from tools.demo import DEMO_DOCUMENTS
    from tools.ingest.pipeline import ingest_paths
    from tools.services import build_services

    template, template_settings = _demo_store
    created = []

    def make(configured=None, **kwargs):
        configured = configured or settings
        kwargs.setdefault("embedder", None)
        if kwargs["embedder"] is None and _store_settings(configured) == template_settings:
            with pytest.MonkeyPatch.context() as monkeypatch:
                monkeypatch.setattr(tools.kb.qdrant, "tempfile", _SeededTemp(template))
                services = build_services(configured, location=":memory:", **kwargs)
            created.append(services)
            return services
        services = build_services(configured, location=":memory:", **kwargs)
        created.append(services)
        ingest_paths([DEMO_DOCUMENTS], services.retrieval.kb, configured, progress=False)
        return services

    yield make
    for services in created:
        services.close()


@pytest.fixture
def demo_services(make_demo_services):
    """Services over the bundled demo knowledge base in an in-memory store."""
    return make_demo_services()


@dataclass
class CommandResult:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def vinarag(tmp_path, monkeypatch, capsys) -> Iterator[Callable[..., CommandResult]]:
    """Runs `vinarag ARGS` as a user would, on a fresh data dir, in this process
    (`tools.cli.main`): exit code, stdout and stderr as the terminal would show them. Sparse-only
    unless `dense=True` (the default configuration, with its embedding cost). The process
    boundary itself is tested once, in test_cli."""
    import io
    import logging
    import sys

    from tools.cli import main

    for name in [k for k in os.environ if k.startswith(("VINARAG_", "QDRANT_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("VINARAG_DATA_DIR", str(tmp_path / "data"))
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level

    def run(*args: str, stdin: str | None = None, dense: bool = False) -> CommandResult:
        if dense:
            monkeypatch.delenv("VINARAG_DENSE__BACKEND", raising=False)
        else:
            monkeypatch.setenv("VINARAG_DENSE__BACKEND", "none")
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin or ""))
        capsys.readouterr()
        try:
            code = main(["--log-level", "WARNING", *args])
        except SystemExit as exc:  # argparse: --help, usage errors
            code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
        finally:
            for handler in root.handlers[:]:  # the command's logging set-up, undone
                if handler not in handlers:
                    root.removeHandler(handler)
            root.handlers[:] = handlers
            root.setLevel(level)
        out, err = capsys.readouterr()
        return CommandResult(code, out, err)

    yield run


@pytest.fixture
def prometheus(tmp_path):
    binary = shutil.which("prometheus")
    need(binary is not None, "prometheus not installed (make test installs Debian's as root)")
    from tests.helpers import free_port

    def start(target: str, rules: str | None = None, job: str = "vinarag") -> str:
        config = tmp_path / "prometheus.yml"
        rule_files = f"rule_files:\n  - {rules}\n" if rules else ""
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            f"{rule_files}scrape_configs:\n  - job_name: {job}\n"
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

"""The Grafana dashboard: every panel query passes promtool, and every metric it names is one
the running server exports (or a recording rule of configs/alert.rules.yml)."""

import json
import re
import shutil
import subprocess

import pytest
import yaml
from fastapi.testclient import TestClient

from server.main import create_app
from tests.helpers import REPO, need

pytestmark = pytest.mark.infra

GRAFANA = REPO / "configs" / "grafana"


def _queries() -> list[str]:
    dashboard = json.loads((GRAFANA / "dashboards" / "rag-metrics.json").read_text("utf-8"))
    return [t["expr"] for p in dashboard["panels"] for t in p["targets"]]


def test_panels_cover_what_operators_watch():
    text = " ".join(_queries())
    for metric in (
        "rag_requests_total", "request_errors", "rag_request_latency_seconds_bucket",
        "rag_node_latency_seconds_bucket", "cache_hits", "retrieval_score", "ungrounded",
        "fallbacks", "rag_retries_total", "rag_documents_ingested_total",
        "rag_generated_tokens_total",
    ):  # fmt: skip
        assert metric in text, metric


def test_every_panel_query_passes_promtool(tmp_path):
    promtool = shutil.which("promtool")
    need(promtool is not None, "promtool not installed (Debian's prometheus package)")
    rules = {
        "groups": [
            {
                "name": "panels",
                "rules": [{"record": f"panel:q{i}", "expr": q} for i, q in enumerate(_queries())],
            }
        ]
    }
    path = tmp_path / "panels.rules.yml"
    path.write_text(yaml.safe_dump(rules), "utf-8")
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_metric_a_panel_names_is_exported(settings, demo_services):
    with TestClient(create_app(settings, services=demo_services)) as client:
        client.post("/rag/invoke", json={"input": {"question": "Phở ra đời ở đâu?"}})
        exported = set(
            re.findall(r"^# TYPE (\w+) ", client.get("/metrics").text, flags=re.MULTILINE)
        )
    recorded = {
        r["record"]
        for g in yaml.safe_load((REPO / "configs" / "alert.rules.yml").read_text("utf-8"))["groups"]
        for r in g["rules"]
        if "record" in r
    }
    for query in _queries():
        for name in re.findall(r"\b(rag_\w+|vinarag:[\w:]+)", query):
            base = re.sub(r"_(bucket|count|sum|total)$", "", name)
            assert name in recorded or base in exported or name in exported, f"{name} in {query!r}"

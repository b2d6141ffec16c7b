"""The knowledge base as MCP tools, through the official SDK's client: over streamable HTTP at
/mcp of a served app (the API's keys and scopes), over stdio from `vinarag mcp` as a desktop
assistant starts it, and loaded into a LangGraph agent by langchain-mcp-adapters. The agent's
model is a scripted fake (a model's judgement cannot run here): it calls the tool, then answers
with what the tool returned."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamablehttp_client

from server.main import create_app
from tests.helpers import LiveServer
from tools.settings import ApiKey

READER = "mcp-reader-key-0123456789abcdef"
OUTSIDER = "mcp-outsider-key-0123456789abcd"
WRITER = "mcp-writer-key-0123456789abcdef0"
QUESTION = "Phở ra đời ở đâu?"

TOOLS = {
    "search", "ask", "list_documents", "get_document", "get_article", "ingest", "job_status",
    "sync_now",
}  # fmt: skip

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Served:
    url: str
    app: Any  # its state: what a test waits on


@pytest.fixture
def served(settings, demo_services) -> Iterator[Served]:
    keys = [
        ApiKey(name="reader", key=READER, read=["default"], write=[]),
        ApiKey(name="outsider", key=OUTSIDER, read=["public"], write=[]),
        ApiKey(name="writer", key=WRITER, read=["default", "hr"], write=["hr"]),
    ]
    configured = settings.model_copy(update={"api_keys": keys})
    app = create_app(configured, services=demo_services)
    with LiveServer(app) as server:
        yield Served(server.url, app)


async def _session_call(url: str, key: str, tool: str, arguments: dict) -> Any:
    async with (
        streamablehttp_client(f"{url}/mcp", headers={"X-API-Key": key}) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        tools = await session.list_tools()
        assert {t.name for t in tools.tools} == TOOLS
        return await session.call_tool(tool, arguments)


def _call(url: str, key: str, tool: str, arguments: dict) -> Any:
    return asyncio.run(_session_call(url, key, tool, arguments))


def test_search_and_ask_over_http_match_the_rest_api(served):
    found = _call(served.url, READER, "search", {"query": QUESTION, "top_k": 3})
    assert not found.isError
    passages = found.structuredContent["passages"]
    assert 1 <= len(passages) <= 3 and all(p["collection"] == "default" for p in passages)
    assert "Hà Nội" in passages[0]["text"] or "phở" in passages[0]["text"].lower()
    asked = _call(served.url, READER, "ask", {"question": QUESTION})
    assert not asked.isError
    answer = asked.structuredContent
    rest = httpx.post(
        f"{served.url}/rag/invoke",
        json={"input": {"question": QUESTION}},
        headers={"X-API-Key": READER},
        timeout=60,
    ).json()["output"]
    assert answer["answer"] == rest["answer"]
    assert [s["document"] for s in answer["sources"]] == [s["doc_id"] for s in rest["sources"]]
    listed = _call(served.url, READER, "list_documents", {})
    assert listed.structuredContent["documents"]
    assert {d["collection"] for d in listed.structuredContent["documents"]} == {"default"}


def test_scopes_hold_through_mcp_as_through_rest(served):
    refused = _call(served.url, OUTSIDER, "search", {"query": QUESTION, "collection": "default"})
    assert refused.isError and "may not read collection 'default'" in refused.content[0].text
    # its own scope holds nothing here: no passage of another collection leaks
    own = _call(served.url, OUTSIDER, "search", {"query": QUESTION})
    assert not own.isError and own.structuredContent["passages"] == []
    assert _call(served.url, OUTSIDER, "list_documents", {}).structuredContent["documents"] == []
    wrong = httpx.post(
        f"{served.url}/mcp",
        headers={"X-API-Key": "not-a-key", "Accept": "application/json, text/event-stream"},
        json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}},
    )
    assert wrong.status_code == 401  # refused before any MCP message is read


def test_a_key_that_may_write_ingests_and_reads_back_through_mcp(served):
    new = {"id": "bun-cha", "title": "Bún chả", "text": "Bún chả là món ăn của Hà Nội, ăn với "
           "chả nướng, bún và nước mắm pha chua ngọt."}  # fmt: skip
    into_hr = {"documents": [new], "collection": "hr"}
    refused = _call(served.url, READER, "ingest", into_hr)
    assert refused.isError and "may not write collection 'hr'" in refused.content[0].text
    sent = _call(served.url, WRITER, "ingest", into_hr)
    assert not sent.isError, sent.content
    job_id = sent.structuredContent["job_id"]
    assert served.app.state.vinarag.jobs.wait(job_id, 120)
    status = _call(served.url, WRITER, "job_status", {"job_id": job_id}).structuredContent
    assert status["state"] == "done", status
    assert _call(served.url, OUTSIDER, "job_status", {"job_id": job_id}).isError  # not its own
    read = _call(served.url, WRITER, "get_document", {"document": "bun-cha", "collection": "hr"})
    assert read.structuredContent["title"] == "Bún chả"
    assert "chả nướng" in read.structuredContent["chunks"][0]["text"]
    found = _call(served.url, WRITER, "search", {"query": "Bún chả ăn với gì?", "top_k": 1})
    assert found.structuredContent["passages"][0]["collection"] == "hr"  # where it was found
    hidden = _call(served.url, READER, "get_document", {"document": "bun-cha", "collection": "hr"})
    assert hidden.isError and "no document 'bun-cha'" in hidden.content[0].text
    assert _call(served.url, WRITER, "sync_now", {"source": 0}).isError  # none configured


class _ScriptedModel(BaseChatModel):
    """Calls `search` with the user's question, then answers with the tool's first passage."""

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Any, **kwargs: Any) -> _ScriptedModel:
        return self

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        results = [m for m in messages if isinstance(m, ToolMessage)]
        if not results:
            question = str(messages[-1].content)
            call = {"name": "search", "args": {"query": question, "top_k": 1}, "id": "call-1"}
            reply = AIMessage(content="", tool_calls=[call])
        else:
            content = results[-1].content
            text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
            reply = AIMessage(content=text)
        return ChatResult(generations=[ChatGeneration(message=reply)])


def test_a_langgraph_agent_answers_from_the_knowledge_base_through_the_adapters(served):
    from langchain_mcp_adapters.client import MultiServerMCPClient
    from langgraph.prebuilt import create_react_agent

    async def run() -> dict:
        client = MultiServerMCPClient(
            {
                "vinarag": {
                    "url": f"{served.url}/mcp",
                    "transport": "streamable_http",
                    "headers": {"X-API-Key": READER},
                }
            }
        )
        tools = await client.get_tools()
        assert {t.name for t in tools} == TOOLS
        agent = create_react_agent(_ScriptedModel(), tools)
        return await agent.ainvoke({"messages": [("user", QUESTION)]})

    result = asyncio.run(run())
    messages = result["messages"]
    assert any(isinstance(m, ToolMessage) and m.name == "search" for m in messages)
    assert "Hà Nội" in str(messages[-1].content)


def test_vinarag_mcp_over_stdio(vinarag, tmp_path):
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VINARAG_", "QDRANT_"))}
    env.update(VINARAG_DATA_DIR=str(data), VINARAG_DENSE__BACKEND="none")
    loaded = vinarag("demo")
    assert loaded.returncode == 0
    params = StdioServerParameters(command=sys.executable, args=["-m", "tools.cli", "mcp"], env=env)

    async def run() -> Any:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            return await session.call_tool("search", {"query": QUESTION, "top_k": 2})

    found = asyncio.run(run())
    assert not found.isError and found.structuredContent["passages"]


def test_the_mcp_route_is_not_a_rest_route(settings, demo_services):
    with TestClient(create_app(settings, services=demo_services)) as client:
        assert "/mcp" not in client.get("/openapi.json").json()["paths"]


def test_eval_mcp_counts_the_same_answers_as_rest(tmp_path, monkeypatch):
    from evals.mcp_benchmark import format_mcp, run_mcp_benchmark
    from tests.helpers import free_port

    for name in [k for k in os.environ if k.startswith(("VINARAG_", "QDRANT_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("VINARAG_DENSE__BACKEND", "none")
    corpus, queries = tmp_path / "corpus.jsonl", tmp_path / "queries.jsonl"
    rows = [
        {"id": "p1", "title": "Phở", "text": "Phở ra đời ở Nam Định và Hà Nội đầu thế kỷ 20."},
        {"id": "p2", "title": "Cơm tấm", "text": "Cơm tấm là món ăn nổi tiếng của Sài Gòn."},
    ]
    corpus.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), "utf-8")
    asked = [
        {"id": "q1", "question": QUESTION, "answers": ["Nam Định"], "positive_ids": ["p1"]},
        {"id": "q2", "question": "Cơm tấm nổi tiếng ở đâu?", "answers": ["Sài Gòn"],
         "positive_ids": ["p2"]},
    ]  # fmt: skip
    queries.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in asked), "utf-8")
    result = run_mcp_benchmark(corpus, queries, 50, free_port())
    assert result["questions"] == 2 and result["errors"] == 0
    assert result["same_answer"] == 2 and result["same_sources"] == 2
    assert result["with_sources"] == 2  # answered from the corpus, not both empty
    assert "same answer 2/2" in format_mcp(result)


def test_get_article_reads_the_version_in_force_with_its_references(settings, make_demo_services):
    """Two real versions of one law (Luật Thi đua, khen thưởng 2003 and 2022): an article is read
    from the one in force, naming the other, with the articles it refers to."""
    from tests.helpers import LAWS_VN, need
    from tools.ingest.pipeline import ingest_paths

    need(LAWS_VN.is_dir(), f"the real laws are not at {LAWS_VN}")
    services = make_demo_services()
    laws = sorted(LAWS_VN.glob("Luat-Thi-dua-Khen-thuong-*.txt"))
    assert len(laws) == 2
    ingest_paths(laws, services.retrieval.kb, services.settings, progress=False)
    newer = next(d for d in services.retrieval.kb.list_documents() if "2022" in d.doc_id)
    referring = next(
        p
        for _, p in services.retrieval.kb.find({"doc_id": newer.doc_id}, None, 1000)
        if p.metadata.get("tham_chieu") and "dieu" in p.metadata
    )
    keys = [ApiKey(name="reader", key=READER, read=["default"], write=[]),
            ApiKey(name="outsider", key=OUTSIDER, read=["public"], write=[])]  # fmt: skip
    configured = settings.model_copy(update={"api_keys": keys})
    with LiveServer(create_app(configured, services=services)) as server:
        read = _call(server.url, READER, "get_article",
                     {"law": "Luật Thi đua, khen thưởng", "article": "Điều 2"})  # fmt: skip
        assert not read.isError, read.content
        article = read.structuredContent
        assert article["document"] == newer.doc_id and article["article"] == "2"
        assert article["text"].startswith("Điều 2.") and article["text"].count("Điều 2.") == 1
        assert article["law"] == "Luật Thi đua, khen thưởng 2022 (06/2022/QH15)"
        assert [v for v in article["other_versions"] if "15/2003/QH11" in v]
        number = str(referring.metadata["dieu"])
        cited = _call(server.url, READER, "get_article",
                      {"law": "06/2022/QH15", "article": number}).structuredContent  # fmt: skip
        first = str(referring.metadata["tham_chieu"][0]).split(".")[0]
        assert any(r.startswith(f"Điều {first}") for r in cited["references"]), cited
        hidden = _call(server.url, OUTSIDER, "get_article",
                       {"law": "Luật Thi đua, khen thưởng", "article": "2"})  # fmt: skip
        assert hidden.isError and "no law" in hidden.content[0].text
        wrong = _call(server.url, READER, "get_article", {"law": "06/2022/QH15", "article": "x"})
        assert wrong.isError and "give its number" in wrong.content[0].text

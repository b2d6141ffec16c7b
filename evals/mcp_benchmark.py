"""`vinarag eval mcp`: does an agent through MCP get what `/rag/invoke` gives? A `vinarag serve`
of its own over the corpus (ingested with `vinarag ingest`, the answer cache off so that neither
path answers from the other's run), then each question asked through the MCP tool `ask` (the
official SDK's client, streamable HTTP) and through `/rag/invoke`: the share with the same
answer and the same sources in the same order, and each path's latency."""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path
from typing import Any

import httpx

from evals.datasets import load_queries
from evals.soak_benchmark import own_server


async def _compare(url: str, questions: list[str]) -> list[dict[str, Any]]:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    rows = []
    async with (
        streamablehttp_client(f"{url}/mcp") as (read, write, _),
        ClientSession(read, write) as session,
        httpx.AsyncClient(base_url=url, timeout=120) as rest,
    ):
        await session.initialize()
        for question in questions:
            began = time.perf_counter()
            called = await session.call_tool("ask", {"question": question})
            mcp_s = time.perf_counter() - began
            began = time.perf_counter()
            answered = await rest.post("/rag/invoke", json={"input": {"question": question}})
            rest_s = time.perf_counter() - began
            answered.raise_for_status()
            output = answered.json()["output"]
            via_mcp = called.structuredContent or {}
            rows.append(
                {
                    "question": question,
                    "error": called.isError,
                    "sourced": bool(via_mcp.get("sources")),
                    "same_answer": via_mcp.get("answer") == output.get("answer"),
                    "same_sources": [s["document"] for s in via_mcp.get("sources", [])]
                    == [s["doc_id"] for s in output.get("sources", [])],
                    "mcp_s": mcp_s,
                    "rest_s": rest_s,
                }
            )
    return rows


def run_mcp_benchmark(corpus: Path, queries: Path, limit: int, port: int) -> dict[str, Any]:
    questions = [q.question for q in load_queries(queries)][:limit]
    # the answer cache off: neither path may answer from the other's run
    setup = ("ingest", str(corpus))
    with own_server(port, {"VINARAG_CACHE__ENABLED": "false"}, setup) as (url, _):
        rows = asyncio.run(_compare(url, questions))
    n = len(rows)
    return {
        "questions": n,
        "errors": sum(r["error"] for r in rows),
        "with_sources": sum(r["sourced"] for r in rows),
        "same_answer": sum(r["same_answer"] for r in rows),
        "same_sources": sum(r["same_sources"] for r in rows),
        "mcp_ms_median": round(statistics.median(r["mcp_s"] for r in rows) * 1000, 1),
        "rest_ms_median": round(statistics.median(r["rest_s"] for r in rows) * 1000, 1),
        "different": [r["question"] for r in rows if not (r["same_answer"] and r["same_sources"])],
    }


def format_mcp(result: dict[str, Any]) -> str:
    n = result["questions"]
    return (
        f"{n} questions: same answer {result['same_answer']}/{n}, same sources "
        f"{result['same_sources']}/{n} ({result['with_sources']} with sources), tool errors "
        f"{result['errors']}; median "
        f"{result['mcp_ms_median']} ms through MCP, {result['rest_ms_median']} ms through "
        "/rag/invoke"
    )

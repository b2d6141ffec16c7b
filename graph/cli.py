"""`vinarag ask` / `chat`: questions through the whole graph, from the command line;
`vinarag diagram`: the graph as built, in Mermaid."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from tools.settings import Settings

if TYPE_CHECKING:
    from langchain_core.runnables import RunnableConfig

    from graph.state import Clarification, OutputState


def _print_answer(result: OutputState) -> None:
    from graph.path import answered_by

    print(result.get("answer", ""))
    for note in result.get("notes", []):
        print(f"\n{note}")
    sources = result.get("sources", [])
    if sources:
        print("\nNguồn:")
        for i, source in enumerate(sources, start=1):
            text = source["text"] if len(source["text"]) <= 200 else source["text"][:197] + "..."
            where = source.get("location") or source["doc_id"]
            print(f"  [{i}] {source['title']} ({where}): {text}")
    grounded = result.get("grounded", {})
    steps = " -> ".join(p["node"] for p in result.get("path", []))
    print(f"\nĐường đi: {steps}")
    generator = answered_by(result.get("path", []))
    if generator:
        print(
            f"Trả lời bởi: {generator}"
            + (" (trích xuất, không dùng mô hình)" if generator == "extractive" else "")
        )
    if grounded:
        print(
            f"Có căn cứ: {'có' if grounded.get('value') else 'không'} "
            f"(điểm {grounded.get('score', 0):.2f})"
        )


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    from graph.builder import build_graph
    from graph.resume import stopped_on, turn_input
    from tools.records.checkpoints import open_checkpointer, prune_thread
    from tools.services import build_services

    question = " ".join(args.question).strip()
    if not question:
        print("vinarag ask: the question is empty", file=sys.stderr)
        return 2
    services = build_services(settings)
    try:
        memory = (
            settings
            if args.thread
            else settings.model_copy(
                update={"memory": settings.memory.model_copy(update={"backend": "none"})}
            )
        )
        with open_checkpointer(memory) as checkpointer:
            graph = build_graph(services=services, checkpointer=checkpointer)
            config: RunnableConfig = (
                {"configurable": {"thread_id": args.thread}} if args.thread else {}
            )
            asked = {"question": question, "filters": args.filters}
            run: Any = turn_input(graph, asked, config) if args.thread else asked
            result = graph.invoke(run, config=config)
            if args.thread:
                prune_thread(checkpointer, args.thread)
    finally:
        services.close()
    clarification = stopped_on(result)
    if args.json:
        if clarification is not None:
            result["clarification"] = clarification
        print(json.dumps(result, ensure_ascii=False, default=str, indent=2))
    elif clarification is not None:
        _print_clarification(clarification, args.thread)
    else:
        _print_answer(cast("OutputState", result))
    return 0


def _print_clarification(clarification: Clarification, thread: str | None) -> None:
    from graph.resume import as_text

    print(as_text(clarification))
    if thread is None:
        print(
            "\n(Hỏi lại với tên văn bản trong câu hỏi, hoặc hỏi với --thread để trả lời bằng "
            "số hoặc tên văn bản.)",
            file=sys.stderr,
        )


def _chat(args: argparse.Namespace, settings: Settings) -> int:
    import uuid

    from graph.builder import build_graph
    from graph.resume import stopped_on, turn_input
    from tools.records.checkpoints import open_checkpointer, prune_thread
    from tools.services import build_services

    thread = args.thread or f"chat-{uuid.uuid4().hex[:8]}"
    services = build_services(settings)
    try:
        with open_checkpointer(settings) as checkpointer:
            graph = build_graph(services=services, checkpointer=checkpointer)
            config: RunnableConfig = {"configurable": {"thread_id": thread}}
            print(
                f"Hỏi về các tài liệu (cuộc trò chuyện {thread}; Ctrl-D để thoát). "
                f"Trả lời bởi: {services.running.describe()['generator']}.",
                file=sys.stderr,
            )
            for line in sys.stdin:
                question = line.strip()
                if not question:
                    continue
                result = graph.invoke(turn_input(graph, {"question": question}, config), config)
                prune_thread(checkpointer, thread)
                clarification = stopped_on(result)
                if clarification is not None:
                    _print_clarification(clarification, thread)
                else:
                    _print_answer(cast("OutputState", result))
                print(file=sys.stderr)
    finally:
        services.close()
    return 0


def _diagram(args: argparse.Namespace, settings: Settings) -> int:
    from graph.diagram import built_graph_mermaid, with_diagram

    diagram = built_graph_mermaid(settings)
    if args.write is None:
        print(diagram, end="")
        return 0
    document = args.write.read_text("utf-8")
    try:
        updated = with_diagram(document, diagram)
    except ValueError as exc:
        print(f"vinarag diagram: {args.write}: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if updated != document:
            print(
                f"vinarag diagram: {args.write} shows another graph: run `vinarag diagram "
                f"--write {args.write}`",
                file=sys.stderr,
            )
            return 1
        return 0
    args.write.write_text(updated, "utf-8")
    return 0


def _filters(value: str) -> dict:
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"--filters must be a JSON object: {exc.msg}") from None
    if not isinstance(parsed, dict):
        raise argparse.ArgumentTypeError("--filters must be a JSON object")
    return parsed


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "ask",
        help="answer a question from the knowledge base (the whole graph)",
        description="Runs the question through cache, retrieval, rerank, grading, generation and "
        "the grounding check. With --thread, earlier turns of that conversation are remembered "
        'so follow-ups ("còn dân số thì sao?") work.',
    )
    p.add_argument("question", nargs="+")
    p.add_argument("--thread", default=None, help="conversation id (memory across calls)")
    p.add_argument("--filters", type=_filters, default=None, help='JSON, e.g. {"topic": "lịch sử"}')
    p.add_argument("--json", action="store_true", help="print the output state as JSON")
    p.set_defaults(func=_ask)

    p = subparsers.add_parser(
        "chat",
        help="answer questions typed on standard input, one conversation (make run uses it)",
        description="Reads one question per line and answers each through the graph; the turns "
        "share a conversation thread, so follow-up questions work.",
    )
    p.add_argument("--thread", default=None, help="continue this conversation id")
    p.set_defaults(func=_chat)

    p = subparsers.add_parser(
        "diagram",
        help="the graph as built, in Mermaid (ARCHITECTURE.md shows it)",
        description="Builds the graph on throwaway services and prints its nodes and edges as a "
        "Mermaid flowchart. --write replaces the block between the markers in a Markdown file; "
        "with --check it only says (exit 1) whether the file shows another graph.",
    )
    p.add_argument("--write", type=Path, default=None, metavar="FILE", help="e.g. ARCHITECTURE.md")
    p.add_argument("--check", action="store_true", help="with --write: compare, do not write")
    p.set_defaults(func=_diagram)

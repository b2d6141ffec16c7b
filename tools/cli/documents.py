"""`vinarag ingest`, `delete`, `documents`, `search` and `demo`: documents in and out of the
knowledge base, and what retrieval finds in it."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from tools.cli.arguments import add_dense_option, collection_arg, doc_id_arg, opened_audit
from tools.corpus.documents import DEFAULT_COLLECTION, DocKey, DocRef
from tools.corpus.metadata import spelled_out
from tools.demo import DEMO_DOCUMENTS
from tools.settings import Settings

if TYPE_CHECKING:
    from tools.kb.catalogue import ListedDocument
    from tools.kb.factory import RetrievalStack

# Qdrant, the embedder and ingestion are imported inside each command: `vinarag --help` and the
# other layers' commands do not pay for them.

log = logging.getLogger("vinarag")


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    from tools.ingest.pipeline import ingest_paths
    from tools.kb.factory import build_knowledge_base, configured_embedder
    from tools.records.audit import command_line_actor, ingest_entry

    kb = build_knowledge_base(settings, embedder=configured_embedder(settings))
    try:
        report = ingest_paths(
            [Path(p) for p in args.paths],
            kb,
            settings,
            progress=not args.quiet,
            collection=args.collection,
            dense=args.dense,
        )
    finally:
        kb.close()
    with opened_audit(settings) as audit:
        if audit is not None and (report.added or report.replaced):
            audit.record(ingest_entry(report, command_line_actor(), args.collection, args.paths))
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    for source, reason in report.failed:
        print(f"FAILED  {source}: {reason}", file=sys.stderr)
    for source, reason in report.skipped:
        print(f"SKIPPED {source}: {reason}", file=sys.stderr)
    for source, reason in report.warnings:
        print(f"WARNING {source}: {reason}", file=sys.stderr)
    print(report.summary(), file=sys.stderr)
    return 0 if report.accepted else 1


def _delete(args: argparse.Namespace, settings: Settings) -> int:
    from tools.ingest.originals import delete_with_original, open_originals
    from tools.kb.factory import build_knowledge_base
    from tools.records.audit import AuditEntry, command_line_actor

    kb = build_knowledge_base(settings)
    originals = open_originals(settings)
    deleted: list[str] = []
    try:
        missing = []
        for doc_id in args.doc_ids:
            removed = delete_with_original(kb, DocRef(args.collection, doc_id), originals)
            if removed:
                deleted.append(doc_id)
                print(f"deleted {doc_id} ({removed} chunks)")
            else:
                missing.append(doc_id)
                print(f"no document with id {doc_id} in {args.collection!r}", file=sys.stderr)
    finally:
        kb.close()
    with opened_audit(settings) as audit:
        if audit is not None and deleted:
            audit.record(
                AuditEntry(
                    command_line_actor(),
                    "delete",
                    args.collection,
                    deleted,
                    {"deleted": len(deleted)},
                )
            )
    return 1 if missing else 0


def _documents(args: argparse.Namespace, settings: Settings) -> int:
    from tools.kb.factory import build_knowledge_base

    kb = build_knowledge_base(settings)
    try:
        docs = kb.list_documents(collections=[args.collection] if args.collection else None)
        if args.search:
            docs = [d for d in docs if d.matches(args.search)]
        stats = kb.stats()
        unreadable = kb.unreadable_documents() if args.check else {}
    finally:
        kb.close()
    if args.check:
        return _report_unreadable(docs, unreadable, args.json)
    if args.json:
        print(
            json.dumps(
                {"version": stats.version, "documents": [asdict(d) for d in docs]},
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0
    for doc in docs:
        print(f"{doc.collection}\t{doc.doc_id}\t{doc.chunks} chunks\t{doc.title}\t{doc.source}")
    chunks = sum(d.chunks for d in docs)
    print(f"{len(docs)} documents, {chunks} chunks, corpus version {stats.version}")
    return 0


def _report_unreadable(
    docs: list[ListedDocument], unreadable: dict[DocKey, str], as_json: bool
) -> int:
    """`documents --check`: the documents answers leave out (exit 1 when there are some)."""
    listed = {(d.collection, d.doc_id) for d in docs}
    bad = [
        {"collection": c, "doc_id": spelled_out(d), "reason": spelled_out(reason)}
        for (c, d), reason in sorted(unreadable.items())
        if (c, d) in listed
    ]
    if as_json:
        print(json.dumps({"unreadable": bad}, ensure_ascii=False, indent=2))
    else:
        for entry in bad:
            print(f"UNREADABLE {entry['collection']}\t{entry['doc_id']}: {entry['reason']}")
    print(
        f"{len(docs)} documents checked, {len(bad)} cannot be served "
        "(left out of answers; delete or re-ingest them)",
        file=sys.stderr,
    )
    return 1 if bad else 0


def _print_hits(question: str, stack: RetrievalStack, top_n: int) -> None:
    hits = stack.retriever.retrieve(question)
    hits = stack.reranker.rerank(question, hits, top_n)
    if not hits:
        print("(không tìm thấy đoạn nào phù hợp)")
    for rank, hit in enumerate(hits, start=1):
        text = hit["text"] if len(hit["text"]) <= 300 else hit["text"][:297] + "..."
        print(f"[{rank}] {hit['title']} ({hit['doc_id']}, score {hit['score']:.3f})\n    {text}")


def _search(args: argparse.Namespace, settings: Settings) -> int:
    from tools.kb.factory import build_retrieval_stack, configured_embedder

    stack = build_retrieval_stack(settings, embedder=configured_embedder(settings))
    top_n = args.top_n or settings.rerank.top_n
    try:
        if args.question:
            _print_hits(" ".join(args.question), stack, top_n)
            return 0
        print("Hỏi về các tài liệu (Ctrl-D để thoát). Mode: retrieval only.", file=sys.stderr)
        for line in sys.stdin:
            if line.strip():
                _print_hits(line.strip(), stack, top_n)
        return 0
    finally:
        stack.close()


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from tools.ingest.pipeline import ingest_paths
    from tools.kb.factory import build_knowledge_base, configured_embedder

    kb = build_knowledge_base(settings, embedder=configured_embedder(settings))
    try:
        if kb.count() and not args.force:
            log.info("knowledge base already holds %d chunks: demo not loaded", kb.count())
            return 0
        demo = DEMO_DOCUMENTS
        report = ingest_paths([demo], kb, settings, progress=True)
        print(report.summary(), file=sys.stderr)
        if report.added or report.replaced:
            from tools.records.audit import command_line_actor, ingest_entry

            with opened_audit(settings) as audit:
                if audit is not None:
                    entry = ingest_entry(
                        report, command_line_actor(), DEFAULT_COLLECTION, [demo.name]
                    )
                    audit.record(entry)
        return 0 if report.accepted else 1
    finally:
        kb.close()


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "ingest",
        help="add or update documents (.txt .md .html .pdf .docx .jsonl, files or folders)",
        description="Load, clean, chunk and index documents. Re-ingesting an unchanged file "
        "changes nothing; a changed file replaces its chunks. Exits 1 only when nothing went in.",
    )
    p.add_argument("paths", nargs="+", help="files or folders")
    p.add_argument(
        "--collection",
        type=collection_arg,
        default=DEFAULT_COLLECTION,
        help="the collection they go in (default: default)",
    )
    add_dense_option(p, "every file is")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_ingest)

    p = subparsers.add_parser("delete", help="remove documents by id")
    p.add_argument("doc_ids", nargs="+", metavar="DOC_ID", type=doc_id_arg)
    p.add_argument("--collection", type=collection_arg, default=DEFAULT_COLLECTION)
    p.set_defaults(func=_delete)

    p = subparsers.add_parser("documents", help="list the documents in the knowledge base")
    p.add_argument("--collection", type=collection_arg, default=None, help="only this collection")
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--search",
        default=None,
        metavar="WORDS",
        help="only documents whose title, file or id holds every word (marks and case aside: "
        "'luat hinh' finds Bộ luật Hình sự)",
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="list documents that cannot be served (bad text from an older release): answers "
        "leave them out; exit 1 when there are some",
    )
    p.set_defaults(func=_documents)

    p = subparsers.add_parser(
        "search",
        help="show the passages retrieval + rerank find for a question",
        description="Without a question, reads questions from standard input, one per line.",
    )
    p.add_argument("question", nargs="*")
    p.add_argument("--top-n", type=int, default=None)
    p.set_defaults(func=_search)

    p = subparsers.add_parser("demo", help="load the bundled demo knowledge base if empty")
    p.add_argument("--force", action="store_true", help="load even if documents are present")
    p.set_defaults(func=_demo)

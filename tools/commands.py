"""Knowledge-base subcommands: ingest, delete, documents, search, demo."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from tools.corpus.documents import (
    DEFAULT_COLLECTION,
    DocKey,
    DocRef,
    check_doc_id,
)
from tools.corpus.metadata import spelled_out
from tools.settings import Settings
from tools.sync_cli import collection_arg, opened_audit
from tools.sync_cli import register as register_sync

if TYPE_CHECKING:
    from tools.kb.catalogue import ListedDocument
    from tools.kb.factory import RetrievalStack

# Qdrant, the embedder and ingestion are imported inside each command: `vinarag --help` and the
# other layers' commands do not pay for them.

log = logging.getLogger("vinarag")
DEMO_DIR = Path(__file__).resolve().parent / "demo"


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    from tools.audit import command_line_actor, ingest_entry
    from tools.ingest.pipeline import ingest_paths
    from tools.kb.factory import build_knowledge_base, configured_embedder

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
    from tools.audit import AuditEntry, command_line_actor
    from tools.kb.factory import build_knowledge_base

    kb = build_knowledge_base(settings)
    deleted: list[str] = []
    try:
        missing = []
        for doc_id in args.doc_ids:
            removed = kb.delete_document(DocRef(args.collection, doc_id))
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
        demo = DEMO_DIR / "documents.jsonl"
        report = ingest_paths([demo], kb, settings, progress=True)
        print(report.summary(), file=sys.stderr)
        if report.added or report.replaced:
            from tools.audit import command_line_actor, ingest_entry

            with opened_audit(settings) as audit:
                if audit is not None:
                    entry = ingest_entry(
                        report, command_line_actor(), DEFAULT_COLLECTION, [demo.name]
                    )
                    audit.record(entry)
        return 0 if report.accepted else 1
    finally:
        kb.close()


def _backfill(args: argparse.Namespace, settings: Settings) -> int:
    """`vinarag kb backfill`: the dense vectors of every chunk written without one."""
    from tqdm import tqdm

    from tools.kb.factory import build_knowledge_base, configured_embedder

    kb = build_knowledge_base(settings, embedder=configured_embedder(settings))
    try:
        if not kb.has_dense:
            print("no dense embedder configured (dense.backend): nothing to embed")
            return 1
        waiting = len(kb.pending_dense())
        with tqdm(total=waiting, desc="embedding", unit="chunk", disable=args.quiet) as bar:
            done = kb.backfill(on_embedded=bar.update)
        left = len(kb.pending_dense())
    finally:
        kb.close()
    print(f"embedded {done} chunks; {left} still waiting")
    return 0


def _kb(args: argparse.Namespace, settings: Settings) -> int:
    """`vinarag kb backfill|migrate|backup|restore`: the embedded store across releases and
    machines."""
    from tools.kb import migrate

    if args.kb_command == "backfill":
        return _backfill(args, settings)
    if args.kb_command == "migrate":
        counts = migrate.migrate(settings)
        what = "converted"
    elif args.kb_command == "backup":
        counts = migrate.backup(settings, Path(args.folder))
        what = f"backed up to {args.folder}"
    else:
        counts = migrate.restore(settings, Path(args.folder), force=args.force)
        what = f"restored from {args.folder}"
    chunks = counts.points.get(settings.qdrant.collection, 0)
    print(f"{what}: {counts.documents} documents, {chunks} chunks")
    if args.kb_command in ("migrate", "restore"):  # the store's contents were replaced
        from tools.audit import WHOLE_STORE, AuditEntry, command_line_actor

        with opened_audit(settings) as audit:
            if audit is not None:
                audit.record(
                    AuditEntry(
                        actor=command_line_actor(),
                        action=args.kb_command,
                        collection=WHOLE_STORE,
                        counts={"documents": counts.documents, "chunks": chunks},
                        source=getattr(args, "folder", None),
                    )
                )
    return 0


def _doc_id(value: str) -> str:
    try:
        return check_doc_id(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


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
    p.add_argument(
        "--dense",
        choices=("now", "later"),
        default="now",
        help="every file is searchable first (its sparse views written), then embedded: now "
        "(default), or later (by the server's backfill or `vinarag kb backfill`)",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_ingest)

    p = subparsers.add_parser("delete", help="remove documents by id")
    p.add_argument("doc_ids", nargs="+", metavar="DOC_ID", type=_doc_id)
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

    p = subparsers.add_parser(
        "kb",
        help="the embedded store: embed what waits, convert the previous release's, back up, "
        "restore",
        description="The embedded store (Qdrant Edge, under data_dir/edge) is used by one "
        "process at a time: stop the server before a backup or a restore.",
    )
    kb = p.add_subparsers(dest="kb_command", metavar="KB", required=True)
    q = kb.add_parser(
        "migrate",
        help="convert the previous release's store (data_dir/qdrant); also done on first open",
        description="Every document, collection, metadata field and vector is carried over "
        "(nothing is embedded again) and checked before the new store is used; the old folder "
        "is kept until you delete it.",
    )
    q.set_defaults(func=_kb)
    q = kb.add_parser(
        "backfill",
        help="embed every chunk written without its dense vector (`vinarag ingest --dense "
        "later`, an interrupted run), oldest first, with a progress bar",
    )
    q.add_argument("--quiet", action="store_true", help="no progress bar")
    q.set_defaults(func=_kb)
    q = kb.add_parser("backup", help="copy the store to a new folder (checked)")
    q.add_argument("folder", help="a folder that does not exist yet (or is empty)")
    q.set_defaults(func=_kb)
    q = kb.add_parser("restore", help="make a backup the store (checked first)")
    q.add_argument("folder", help="a folder written by `vinarag kb backup`")
    q.add_argument(
        "--force", action="store_true", help="replace a store that is there (kept aside)"
    )
    q.set_defaults(func=_kb)

    p = subparsers.add_parser("demo", help="load the bundled demo knowledge base if empty")
    p.add_argument("--force", action="store_true", help="load even if documents are present")
    p.set_defaults(func=_demo)

    register_sync(subparsers)

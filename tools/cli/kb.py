"""`vinarag kb backfill|migrate|backup|restore`: the embedded store across releases and machines,
and the dense vectors that wait."""

from __future__ import annotations

import argparse
from pathlib import Path

from tools.cli.arguments import opened_audit
from tools.settings import Settings


def _backfill(args: argparse.Namespace, settings: Settings) -> int:
    """`vinarag kb backfill`: the dense vectors of every chunk written without one."""
    from tqdm import tqdm

    from tools.kb.backfill import DenseBackfill
    from tools.kb.factory import build_knowledge_base, configured_embedder

    kb = build_knowledge_base(settings, embedder=configured_embedder(settings))
    try:
        if not kb.has_dense:
            print("no dense embedder configured (dense.backend): nothing to embed")
            return 1
        backfill = DenseBackfill(kb)
        waiting = len(backfill.waiting())
        with tqdm(total=waiting, desc="embedding", unit="chunk", disable=args.quiet) as bar:
            done = backfill.drain(on_embedded=bar.update)
        left = len(backfill.waiting())
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
        from tools.records.audit import WHOLE_STORE, AuditEntry, command_line_actor

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


def register(subparsers: argparse._SubParsersAction) -> None:
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

"""`vinarag audit`: who wrote what into the knowledge base, newest first."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from datetime import datetime

from tools.cli.arguments import collection_arg, date_arg, opened_audit, timestamp
from tools.settings import Settings

NAMED = 3  # document ids a plain line names (--json has them all)


def _audit(args: argparse.Namespace, settings: Settings) -> int:
    with opened_audit(settings) as audit:
        if audit is None:
            return 1
        entries = audit.entries(
            [args.collection] if args.collection else None,
            since=timestamp(args.since),
            until=timestamp(args.until),
            limit=args.limit,
        )
    if args.json:
        print(json.dumps([asdict(e) for e in entries], ensure_ascii=False, indent=2))
        return 0
    for entry in entries:
        at = datetime.fromtimestamp(entry.at).isoformat(sep=" ", timespec="seconds")
        counts = ", ".join(f"{k} {v}" for k, v in entry.counts.items() if v)
        line = f"{at}  {entry.actor:16} {entry.action:7} {entry.collection:12} {counts}"
        if entry.doc_ids:  # which documents, not only how many
            named = ", ".join(entry.doc_ids[:NAMED])
            more = len(entry.doc_ids) - NAMED
            line += f": {named}" + (f" and {more} more" if more > 0 else "")
        if entry.source:
            line += f"  ({entry.source})"
        if entry.detail:
            line += f"  -- {entry.detail}"
        print(line)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "audit",
        help="who wrote what into the knowledge base (ingests, deletions, syncs)",
        description="Newest first, from the feedback database (SQLite beside the store, or "
        "PostgreSQL).",
    )
    p.add_argument("--collection", type=collection_arg, default=None, help="only this collection")
    p.add_argument("--since", type=date_arg, default=None, help="ISO date or time, e.g. 2026-12-01")
    p.add_argument("--until", type=date_arg, default=None, help="ISO date or time (excluded)")
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_audit)

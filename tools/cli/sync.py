"""`vinarag sync`: a collection kept as a mirror of a folder, once or watching."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from tools.cli.arguments import add_dense_option, collection_arg, opened_audit
from tools.corpus.documents import DEFAULT_COLLECTION
from tools.settings import Settings

if TYPE_CHECKING:
    from tools.ingest.sync import SyncReport, SyncStatus

log = logging.getLogger(__name__)
# What `vinarag sync` exits with (2 is argparse's, for a command line it cannot read).
EXIT_STATUS: dict[SyncStatus, int] = {"synced": 0, "not synced": 1, "partial": 3}


def _print_report(report: SyncReport, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        return
    for relative in report.added:
        print(f"added    {relative}")
    for relative in report.changed:
        print(f"changed  {relative}")
    for was, now in report.renamed:
        print(f"renamed  {was} -> {now}")
    for relative in report.deleted:
        print(f"deleted  {relative}")
    for relative, why in report.failed:
        print(f"FAILED   {relative}: {why}", file=sys.stderr)
    for relative, why in report.unreadable_folders:
        print(f"FAILED   {relative}/: {why}", file=sys.stderr)
    for relative, why in report.passed_over:
        print(f"passed   {relative}: {why}", file=sys.stderr)
    print(report.summary(), file=sys.stderr)


def _sync(args: argparse.Namespace, settings: Settings) -> int:
    from tools.ingest.sync import sync_folder
    from tools.kb.factory import build_knowledge_base, configured_embedder
    from tools.records.audit import command_line_actor, sync_entry

    kb = build_knowledge_base(settings, embedder=configured_embedder(settings))
    actor = command_line_actor()
    try:
        with opened_audit(settings) as audit:

            def once() -> SyncReport:
                report = sync_folder(
                    Path(args.folder),
                    args.collection,
                    kb,
                    settings,
                    force=args.force,
                    progress=not args.quiet,
                    dense=args.dense,
                )
                if audit is not None:
                    audit.record(sync_entry(report, actor))
                _print_report(report, args.json)
                return report

            if not args.watch:
                report = once()
                return EXIT_STATUS[report.status]
            watch(Path(args.folder), settings, once, threading.Event())
            return 0
    except KeyboardInterrupt:
        return 0
    finally:
        kb.close()


def snapshot(folder: Path) -> frozenset[tuple[str, int, int]] | None:
    """What the folder holds now (file, size, time); None when it cannot be read."""
    from tools.ingest.loaders import LOADERS
    from tools.ingest.walk import walk_folder

    try:
        if not folder.is_dir():
            return None
        listing = walk_folder(folder.resolve(), LOADERS)
        return frozenset((f.relative, f.size, f.mtime_ns) for f in listing.files)
    except OSError:
        return None


def watch(
    folder: Path, settings: Settings, run: Callable[[], object], stop: threading.Event
) -> None:
    """Sync now, then whenever the folder changes and has stayed unchanged for
    sync.watch_debounce_s (a copy in progress is waited for); a folder that disappears is
    waited for, and synced when it is back. Polls every sync.watch_poll_s: network shares
    tell no file watcher about changes made elsewhere. Until `stop` is set."""
    poll, quiet = settings.sync.watch_poll_s, settings.sync.watch_debounce_s

    def run_once() -> None:
        try:
            run()
        except Exception:  # a run that fails is said, and the next change tries again
            log.exception("sync --watch: the sync of %s failed", folder)

    synced = snapshot(folder)  # before the run: a change made while it runs is seen next
    run_once()
    seen, since = synced, time.monotonic()
    gone_said = False
    while not stop.wait(poll):
        now = snapshot(folder)
        if now is None:
            if not gone_said:
                print(f"sync --watch: {folder} cannot be read: waiting for it", file=sys.stderr)
                gone_said = True
            continue
        gone_said = False
        if now != seen:
            seen, since = now, time.monotonic()
        if now != synced and time.monotonic() - since >= quiet:
            synced = now
            run_once()


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "sync",
        help="make a collection mirror a folder tree (added, changed, renamed, deleted files)",
        description="New files are added, changed files (by content) replaced, deleted files "
        "removed, renamed or moved files recognised by their content (nothing embedded again), "
        "unchanged files untouched. Only documents that came from this folder are ever "
        "deleted, and a run that would delete more than sync.max_delete_share of them (an "
        "unmounted share looks empty) deletes nothing unless --force. Exits 1 when the folder "
        "cannot be read, a file failed, or deletions were refused.",
    )
    p.add_argument("folder", help="the folder tree to mirror")
    p.add_argument(
        "--collection", type=collection_arg, default=DEFAULT_COLLECTION, help="(default: default)"
    )
    p.add_argument("--force", action="store_true", help="delete past sync.max_delete_share")
    p.add_argument(
        "--watch",
        action="store_true",
        help="keep syncing as files change (polls every sync.watch_poll_s; Ctrl-C stops)",
    )
    add_dense_option(p, "new and changed files are")
    p.add_argument("--json", action="store_true", help="print each report as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_sync)

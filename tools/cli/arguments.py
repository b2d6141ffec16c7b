"""What the knowledge-base commands share: argument types that say the rule a value broke, the
`--dense` choice, and the audit log a write is recorded in."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

from tools.corpus.documents import check_collection, check_doc_id
from tools.settings import Settings

if TYPE_CHECKING:
    from tools.records.audit import AuditLog


@contextmanager
def opened_audit(settings: Settings) -> Iterator[AuditLog | None]:
    """The audit log in the feedback database (None when feedback.backend is none: nothing
    is recorded, and the command says so)."""
    from tools.records.audit import AuditLog
    from tools.records.feedback import open_feedback_store

    store = open_feedback_store(settings)
    if store is None:
        print("audit: off (feedback.backend none): this write is not recorded", file=sys.stderr)
        yield None
        return
    try:
        yield AuditLog(store)
    finally:
        store.close()


def collection_arg(value: str) -> str:
    """A collection named on the command line, as an argparse type (its rule in the error)."""
    try:
        return check_collection(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def doc_id_arg(value: str) -> str:
    try:
        return check_doc_id(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def date_arg(value: str) -> str:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: use an ISO date, e.g. 2026-12-01") from None
    return value


def timestamp(value: str | None) -> float | None:
    """A `date_arg` value as seconds since the epoch (None stays None)."""
    return datetime.fromisoformat(value).timestamp() if value else None


def add_dense_option(parser: argparse.ArgumentParser, what: str) -> None:
    """`--dense now|later`, the same choice for every command that writes."""
    parser.add_argument(
        "--dense",
        choices=("now", "later"),
        default="now",
        help=f"{what} searchable first (their sparse views written), then embedded: now "
        "(default), or later (by the server's backfill or `vinarag kb backfill`)",
    )

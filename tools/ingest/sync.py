"""A collection kept as a mirror of a folder tree (a shared drive, an exported archive): new files
added, changed files (by content) replaced, deleted files removed, renamed or moved files
recognised by their content and moved without embedding again, unchanged files untouched.

Every document a sync writes carries its source in its metadata (`source_root`, the folder;
`source_path`, the file under it; `file_hash`, `file_size`, `file_mtime_ns`): a sync only ever
deletes documents of its own source, and a folder that is gone or suddenly (nearly) empty (an
unmounted share) is reported instead of emptying the collection (`sync.max_delete_share`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from tqdm import tqdm

from tools.corpus.documents import DocRef, file_doc_id
from tools.ingest.loaders import LOADERS
from tools.ingest.originals import delete_with_original, open_originals
from tools.ingest.pipeline import DenseWhen, IngestReport, ingest_documents, load_files
from tools.ingest.walk import FoundFile, file_hash, walk_folder
from tools.kb.catalogue import ListedDocument
from tools.kb.store import KnowledgeBase
from tools.settings import Settings

log = logging.getLogger(__name__)


SyncStatus = Literal["synced", "partial", "not synced"]
_EMPTY = "empty: 0 bytes"


@dataclass
class SyncReport:
    """What a sync did, file by file (paths relative to the source folder)."""

    source: str  # the folder, resolved
    collection: str
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)  # (was, now)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file, why): kept as it was
    # Entries not read on purpose (links to outside the folder, FIFOs, devices, empty files)
    # and subfolders that could not be listed (their documents are kept as they were).
    passed_over: list[tuple[str, str]] = field(default_factory=list)
    unreadable_folders: list[tuple[str, str]] = field(default_factory=list)
    # Why nothing was deleted although files are missing (the folder is gone, or the run would
    # delete more than sync.max_delete_share of the source): None when deletions went ahead.
    refused: str | None = None
    error: str | None = None  # the folder could not be read at all: nothing was changed
    documents_written: list[str] = field(default_factory=list)  # doc ids added or replaced
    documents_deleted: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "synced"

    @property
    def status(self) -> SyncStatus:
        """synced: the collection mirrors the folder; partial: files or subfolders that could
        not be read are kept as they were, the rest is synced; not synced: nothing was
        (the folder) or deletions were refused."""
        if self.error is not None or self.refused is not None:
            return "not synced"
        return "partial" if self.failed or self.unreadable_folders else "synced"

    def summary(self) -> str:
        parts = [
            f"{len(self.added)} added",
            f"{len(self.changed)} changed",
            f"{len(self.renamed)} renamed",
            f"{len(self.deleted)} deleted",
            f"{self.unchanged} unchanged",
        ]
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        if self.passed_over:
            parts.append(f"{len(self.passed_over)} passed over")
        if self.unreadable_folders:
            parts.append(f"{len(self.unreadable_folders)} folders unreadable")
        text = f"{self.source} -> {self.collection}: " + ", ".join(parts)
        if self.refused:
            text += f"; nothing deleted: {self.refused}"
        if self.error:
            text = f"{self.source} -> {self.collection}: not synced: {self.error}"
        return text

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "ok": self.ok, "status": self.status}


def _under(relative: str, folders: list[tuple[str, str]]) -> bool:
    return any(relative.startswith(f"{folder}/") for folder, _ in folders)


def _meta(document: ListedDocument, key: str) -> object:
    return document.metadata.get(key)


def source_documents(kb: KnowledgeBase, root: Path, collection: str) -> list[ListedDocument]:
    """The documents of the collection that came from this folder."""
    return [
        d
        for d in kb.list_documents(collections=[collection])
        if _meta(d, "source_root") == str(root)
    ]


def sync_folder(
    folder: Path,
    collection: str,
    kb: KnowledgeBase,
    settings: Settings,
    *,
    force: bool = False,
    progress: bool = True,
    on_step: Callable[[str], None] | None = None,
    dense: DenseWhen = "now",
) -> SyncReport:
    """Make `collection`'s documents from `folder` mirror it now. `force`: delete even past
    sync.max_delete_share. `on_step` hears what the sync is doing (the server shows it).
    `dense`: as for `ingest_documents` (new and changed files are searchable first)."""
    began = time.perf_counter()
    root = folder.expanduser().resolve()
    report = SyncReport(str(root), collection)
    say = on_step or (lambda step: None)
    say("scanning")
    try:
        if not root.is_dir():
            raise OSError(f"{root} is not a folder (gone, or not mounted?)")
        listing = walk_folder(root, LOADERS)
    except OSError as exc:
        report.error = f"cannot read the folder: {exc}"
        log.error("sync %s: %s", root, report.error)
        report.seconds = time.perf_counter() - began
        return report
    report.passed_over = listing.passed_over
    report.unreadable_folders = listing.unreadable
    for relative, why in (*listing.passed_over, *listing.unreadable):
        log.warning("sync %s: %s passed over: %s", root, relative, why)
    seen: dict[str, FoundFile] = {}
    for found in listing.files:
        if found.size == 0:  # nothing to read yet (a copy just begun): no failure either
            report.passed_over.append((found.relative, _EMPTY))
        else:
            seen[found.relative] = found

    stored: dict[str, list[ListedDocument]] = {}
    for document in source_documents(kb, root, collection):
        stored.setdefault(str(_meta(document, "source_path")), []).append(document)

    def same_file(seen_file: FoundFile, documents: list[ListedDocument]) -> bool:
        first = documents[0]
        return (_meta(first, "file_size"), _meta(first, "file_mtime_ns")) == (
            seen_file.size,
            seen_file.mtime_ns,
        )

    hashes: dict[str, str] = {}
    todo: list[FoundFile] = []  # new or changed: read and written
    touched = False
    for relative, seen_file in tqdm(
        seen.items(), desc="comparing", unit="file", disable=not progress
    ):
        documents = stored.get(relative)
        if documents and same_file(seen_file, documents):
            report.unchanged += 1
            continue
        try:
            hashes[relative] = file_hash(seen_file.path)
        except OSError as exc:
            report.failed.append((relative, f"cannot read: {exc}"))
            continue
        if documents and _meta(documents[0], "file_hash") == hashes[relative]:
            report.unchanged += 1  # touched, not changed: its size and time are recorded anew
            _record_file(kb, documents, seen_file)
            touched = True
            continue
        todo.append(seen_file)

    # Not deleted: files that failed to read, empty ones (a copy just begun) and everything
    # under a subfolder that could not be listed. A file that became a link to outside the
    # folder or a FIFO is gone as a document.
    empty = [(r, why) for r, why in report.passed_over if why == _EMPTY]
    kept = {relative for relative, _ in (*report.failed, *empty)}
    missing = {
        r: docs
        for r, docs in stored.items()
        if r not in seen and r not in kept and not _under(r, report.unreadable_folders)
    }
    by_hash = {str(_meta(docs[0], "file_hash")): r for r, docs in missing.items()}
    for seen_file in list(todo):
        was = by_hash.get(hashes[seen_file.relative])
        if seen_file.relative in stored or was is None or was not in missing:
            continue
        say(f"moving {was} -> {seen_file.relative}")
        if _move(kb, missing[was], root, seen_file, hashes[seen_file.relative]):
            report.renamed.append((was, seen_file.relative))
            del missing[was]
            todo.remove(seen_file)

    if todo:
        say(f"reading {len(todo)} files")
        _write(todo, hashes, stored, root, collection, kb, settings, report, progress, dense)

    doomed = [d for docs in missing.values() for d in docs]
    total = sum(len(docs) for docs in stored.values())
    share = settings.sync.max_delete_share
    if doomed and not force and len(doomed) > share * total:
        report.refused = (
            f"it would delete {len(doomed)} of the source's {total} documents, more than "
            f"sync.max_delete_share ({share:g}): is the folder complete? (--force deletes them)"
        )
        log.warning("sync %s: %s", root, report.refused)
    elif doomed and not root.is_dir():
        report.refused = "the folder went away during the sync"
    else:
        originals = open_originals(settings)
        for relative, documents in sorted(missing.items()):
            say(f"deleting {relative}")
            for document in documents:
                ref = DocRef(document.collection, document.doc_id)
                delete_with_original(kb, ref, originals, optimize=False)
                report.documents_deleted.append(document.doc_id)
            report.deleted.append(relative)
    if touched or report.renamed or report.deleted or report.changed:
        kb.optimize()  # once: the moved and deleted points leave the segments (exact IDF)
    report.seconds = time.perf_counter() - began
    log.info("sync: %s", report.summary())
    return report


def _from(source: str, path: Path) -> bool:
    """A loaded document's source names its file (a JSONL record: "file:3")."""
    return source == str(path) or source.startswith(f"{path}:")


def _source_metadata(root: Path, seen_file: FoundFile, digest: str) -> dict[str, object]:
    return {
        "source_root": str(root),
        "source_path": seen_file.relative,
        "file_hash": digest,
        "file_size": seen_file.size,
        "file_mtime_ns": seen_file.mtime_ns,
    }


def _record_file(kb: KnowledgeBase, documents: list[ListedDocument], seen_file: FoundFile) -> None:
    """A file touched but not changed: its new size and time, so the next run skips hashing."""
    for document in documents:
        ref = DocRef(document.collection, document.doc_id)
        kb.move_document(
            ref,
            ref,
            document.source,
            {"file_size": seen_file.size, "file_mtime_ns": seen_file.mtime_ns},
            optimize=False,
        )


def _move(
    kb: KnowledgeBase,
    documents: list[ListedDocument],
    root: Path,
    seen_file: FoundFile,
    digest: str,
) -> bool:
    """The documents of a renamed or moved file under the ids its new path gives."""
    old_base = file_doc_id(root / str(_meta(documents[0], "source_path")))
    new_base = file_doc_id(seen_file.path)
    metadata = _source_metadata(root, seen_file, digest)
    for document in documents:
        if not document.doc_id.startswith(old_base):
            return False
        new_id = new_base + document.doc_id[len(old_base) :]
        old, new = DocRef(document.collection, document.doc_id), DocRef(document.collection, new_id)
        if not kb.move_document(old, new, str(seen_file.path), metadata, optimize=False):
            return False
    return True


def _write(
    todo: list[FoundFile],
    hashes: dict[str, str],
    stored: dict[str, list[ListedDocument]],
    root: Path,
    collection: str,
    kb: KnowledgeBase,
    settings: Settings,
    report: SyncReport,
    progress: bool,
    dense: DenseWhen = "now",
) -> None:
    """Read new and changed files and write their documents; a changed file that cannot be
    read now keeps its previous version."""
    loaded = IngestReport()
    by_path = {seen_file.path: seen_file for seen_file in todo}
    documents = load_files(list(by_path), settings, loaded, progress, collection=collection)
    failed = {Path(path): why for path, why in (*loaded.failed, *loaded.skipped)}
    for document in documents:
        seen_file = next((f for p, f in by_path.items() if _from(document.source, p)), None)
        if seen_file is not None:
            document.metadata.update(_source_metadata(root, seen_file, hashes[seen_file.relative]))
    ingested = ingest_documents(documents, kb, settings, loaded, progress=progress, dense=dense)
    written = {*ingested.added, *ingested.replaced, *ingested.unchanged}
    failed.update({Path(path): why for path, why in ingested.failed})
    for seen_file in todo:
        if seen_file.path in failed:
            report.failed.append((seen_file.relative, failed[seen_file.path]))
            continue
        ids = [d.doc_id for d in documents if _from(d.source, seen_file.path)]
        kept = [i for i in ids if i in written]
        previous = stored.get(seen_file.relative, [])
        (report.changed if previous else report.added).append(seen_file.relative)
        report.documents_written += kept
        for listed in previous:  # a changed file that now holds fewer documents
            if listed.doc_id not in ids:
                ref = DocRef(listed.collection, listed.doc_id)
                delete_with_original(kb, ref, open_originals(settings), optimize=False)
                report.documents_deleted.append(listed.doc_id)

"""Ingestion: files -> documents -> clean -> language check -> chunks -> knowledge base.

Bad input never stops the batch: each file that cannot be used is reported with its reason and
the rest go in. The report says what was added, replaced, left unchanged, skipped and failed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

from tqdm import tqdm

from tools.corpus.documents import DEFAULT_COLLECTION, Chunk, DocKey, Document, file_doc_id
from tools.corpus.metadata import payload_problem, spelled_out
from tools.errors import one_line
from tools.ingest.chunk import chunk_document
from tools.ingest.legal import parse_header
from tools.ingest.loaders import LOADERS, Loaded, LoadError, LoadSkipped
from tools.ingest.originals import (
    ORIGINAL,
    Originals,
    open_originals,
    originals_of,
    release_unnamed,
)
from tools.ingest.reader import FileReader
from tools.ingest.walk import walk_folder
from tools.kb.backfill import DenseBackfill
from tools.kb.store import KnowledgeBase
from tools.kb.writes import ChunkedDocument, UpsertStatus
from tools.settings import Settings
from tools.text.clean import clean_text
from tools.text.language import vietnamese_score
from tools.text.legacy import ENCODINGS, legacy_encoding, to_unicode

log = logging.getLogger(__name__)

DenseWhen = Literal["now", "later"]  # embed in the same command, or leave it to the backfill


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    chunks: int = 0
    corpus_version: int = 0
    seconds: float = 0.0  # writing to the store (cleaning, chunking, encoding, embedding)
    searchable_s: float = 0.0  # until every document was searchable (its sparse views written)
    dense_waiting: int = 0  # chunks still waiting for their dense vector at the end

    @property
    def chunks_per_s(self) -> float:
        return round(self.chunks / self.seconds, 1) if self.seconds > 0 else 0.0

    @property
    def accepted(self) -> int:
        return len(self.added) + len(self.replaced) + len(self.unchanged)

    def summary(self) -> str:
        return (
            f"ingested {len(self.added)} new, {len(self.replaced)} replaced, "
            f"{len(self.unchanged)} unchanged ({self.chunks} chunks written); "
            f"skipped {len(self.skipped)}, failed {len(self.failed)}; "
            f"corpus version {self.corpus_version}"
            + (f"; {self.chunks_per_s} chunks/s" if self.chunks else "")
            + (f"; searchable after {self.searchable_s:.1f} s" if self.chunks else "")
            + (
                f"; {self.dense_waiting} chunks wait for their dense vector"
                if self.dense_waiting
                else ""
            )
        )

    @property
    def nothing_went_in(self) -> bool:
        """No document was added, replaced or found unchanged (an upload answers 422)."""
        return self.accepted == 0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IngestReport:
        """The report `to_dict` wrote (a job's, read back after a restart)."""

        def issues(key: str) -> list[tuple[str, str]]:
            return [(str(i["source"]), str(i["reason"])) for i in data.get(key) or []]

        return cls(
            added=[str(d) for d in data.get("added") or []],
            replaced=[str(d) for d in data.get("replaced") or []],
            unchanged=[str(d) for d in data.get("unchanged") or []],
            skipped=issues("skipped"),
            failed=issues("failed"),
            warnings=issues("warnings"),
            chunks=int(data.get("chunks") or 0),
            corpus_version=int(data.get("corpus_version") or 0),
            seconds=float(data.get("seconds") or 0.0),
            searchable_s=float(data.get("searchable_s") or 0.0),
            dense_waiting=int(data.get("dense_waiting") or 0),
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "added": self.added,
            "replaced": self.replaced,
            "unchanged": self.unchanged,
            "skipped": [{"source": s, "reason": r} for s, r in self.skipped],
            "failed": [{"source": s, "reason": r} for s, r in self.failed],
            "warnings": [{"source": s, "reason": r} for s, r in self.warnings],
            "chunks": self.chunks,
            "corpus_version": self.corpus_version,
            "seconds": round(self.seconds, 3),
            "searchable_s": self.searchable_s,
            "dense_waiting": self.dense_waiting,
            "chunks_per_s": self.chunks_per_s,
        }


def find_files(paths: Iterable[Path], report: IngestReport) -> list[Path]:
    """Files under the given paths: a folder's regular files inside it (hidden entries left
    out, links to outside it, FIFOs and devices passed over with the reason, an unreadable
    subfolder reported), a file named as it is."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            root = path.resolve()
            try:
                listing = walk_folder(root)
            except OSError as exc:
                report.failed.append((str(path), f"cannot read the folder: {exc}"))
                continue
            for found in listing.files:
                if found.path.suffix.lower() in LOADERS:
                    files.append(path / found.relative)
                else:
                    why = f"unsupported file type {found.path.suffix}"
                    report.skipped.append((str(path / found.relative), why))
            report.skipped += [(str(path / r), why) for r, why in listing.passed_over]
            report.failed += [
                (str(path / r), f"cannot read: {why}") for r, why in listing.unreadable
            ]
        elif path.is_file():
            files.append(path)
        elif path.exists():
            report.failed.append((str(path), "not a regular file (a FIFO, socket or device)"))
        else:
            report.failed.append((str(path), "no such file or folder"))
    return files


def prepare(document: Document, settings: Settings, report: IngestReport) -> list[Chunk] | None:
    """Clean, check the language and chunk one document; None when it must not go in."""
    encoding = legacy_encoding(document.text)
    if encoding is not None:  # typed in TCVN3 / VNI / VISCII: converted, and the report says so
        document.text = to_unicode(document.text, encoding)[0]
        document.title = to_unicode(document.title, legacy_encoding(document.title))[0]
        for part in document.parts:
            part.text = to_unicode(part.text, encoding)[0]
        document.metadata.setdefault("converted_from", encoding)
        report.warnings.append(
            (document.source, f"converted from {ENCODINGS[encoding]} to Unicode")
        )
    document.text = clean_text(document.text)
    document.title = clean_text(document.title) or document.doc_id
    for part in document.parts:
        part.text = clean_text(part.text)
    header = parse_header(document.text)
    if header.official:  # số hiệu, loại, cơ quan, ngày as filterable metadata
        document.metadata = {**header.metadata(), **document.metadata}
        if header.label:
            document.metadata.setdefault("van_ban", header.label)
            document.title = header.label
    if not document.text:
        report.skipped.append((document.source, "empty: no text after cleanup"))
        return None
    # A title or source taken from a file name may hold bytes the file system did not decode:
    # spelled out. The text and metadata are the document: refused if no response can carry them.
    document.title, document.source = spelled_out(document.title), spelled_out(document.source)
    stored = {"doc_id": document.doc_id, "text": document.text, "metadata": document.metadata}
    if problem := payload_problem(stored):
        report.failed.append((document.source, problem))
        return None
    score = vietnamese_score(document.text)
    document.metadata.setdefault("language_score", round(score, 3))
    if score < settings.ingest.min_vietnamese_score:
        reason = f"not Vietnamese (language score {score:.2f})"
        if settings.ingest.skip_non_vietnamese:
            report.skipped.append((document.source, reason))
            return None
        report.warnings.append((document.source, reason))
    return chunk_document(document, settings.chunking.size, settings.chunking.overlap)


def chunked_documents(
    documents: Sequence[Document], settings: Settings, report: IngestReport
) -> list[ChunkedDocument]:
    """Each document cleaned, checked and chunked (a second one of an id is skipped)."""
    chunked: list[ChunkedDocument] = []
    seen: set[DocKey] = set()
    for document in documents:
        if document.key in seen:
            report.skipped.append(
                (document.source, f"duplicate id {document.doc_id} in this batch")
            )
            continue
        seen.add(document.key)
        chunks = prepare(document, settings, report)
        if chunks:
            chunked.append(ChunkedDocument(document, chunks, document.content_hash))
    return chunked


def record(report: IngestReport, item: ChunkedDocument, status: UpsertStatus) -> None:
    getattr(report, status).append(item.document.doc_id)
    if status != "unchanged":
        report.chunks += len(item.chunks)


def ingest_documents(
    documents: Sequence[Document],
    kb: KnowledgeBase,
    settings: Settings,
    report: IngestReport | None = None,
    progress: bool = False,
    dense: DenseWhen = "now",
) -> IngestReport:
    """Everything in this process (the command line, `vinarag sync`; the server runs ingestion
    as jobs, `jobs.py`), searchable first: every document's sparse views are written as soon
    as it is chunked (with the dense vectors of chunks an earlier version already had), then
    the other chunks are embedded (`dense="now"`), or left waiting for the server's backfill or
    `vinarag kb backfill` (`"later"`)."""
    report = report or IngestReport()
    began = time.perf_counter()
    prepared = chunked_documents(documents, settings, report)
    size = max(settings.ingest.batch_size, 1)
    bar = tqdm(total=len(prepared), desc="searchable", unit="doc", disable=not progress)
    written: set[DocKey] = set()
    originals = open_originals(settings)
    for start in range(0, len(prepared), size):
        batch = prepared[start : start + size]
        statuses, todo = kb.plan(batch)
        # optimised once at the end: after every batch it grows with the store (quadratic)
        if todo:
            before = originals_of(kb, [item.key for item in todo]) if originals else set()
            statuses |= kb.write(kb.encode(todo), None, optimize=False)
            written |= {item.key for item in todo}
            if originals is not None:
                release_unnamed(kb, originals, before)
        for item in batch:
            record(report, item, statuses[item.key])
        bar.update(len(batch))
    bar.close()
    if prepared:
        kb.optimize()
    report.searchable_s = round(time.perf_counter() - began, 3)
    backfill = DenseBackfill(kb)
    waiting = backfill.waiting(written)
    if waiting and dense == "now":
        # Embedding is most of the time when a dense model runs: its own bar shows chunks/s.
        embedding = tqdm(total=len(waiting), desc="embedding", unit="chunk", disable=not progress)
        backfill.drain(written, on_embedded=embedding.update)
        embedding.close()
    elif waiting:
        log.info(
            "%d chunks wait for their dense vector: the server's backfill or `vinarag kb "
            "backfill` embeds them (searchable by their sparse views meanwhile)",
            len(waiting),
        )
    report.dense_waiting = len(backfill.waiting())
    report.corpus_version = kb.corpus_version
    report.seconds += time.perf_counter() - began
    return report


def _known_as(documents: list[Document], path: Path, name: str) -> None:
    """Ids, sources and titles from the name a file is known by (an upload's file name) instead
    of the name it was saved under: the same upload twice is the same document, and a file
    without a title of its own is titled by its name, not by "0"."""
    saved, known = file_doc_id(path), file_doc_id(path, name)
    for document in documents:
        if document.doc_id.startswith(saved):
            document.doc_id = known + document.doc_id[len(saved) :]
        document.source = name + document.source[len(str(path)) :]
        if document.title == path.stem.replace("_", " "):
            document.title = Path(name).stem.replace("_", " ")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        raise LoadError("gone before it could be read (moved or deleted)") from None
    except OSError as exc:
        raise LoadError(f"cannot read: {exc.strerror or exc}") from None


def _kept(
    originals: Originals | None, path: Path, loaded: Loaded, report: IngestReport
) -> str | None:
    """The file kept as its documents' original (its key); a store that fails costs the page
    view, not the documents."""
    if originals is None:
        return None
    try:
        return originals.keep(path, loaded.ocr)
    except Exception as exc:  # a full disk, an unreachable bucket: the text still goes in
        report.warnings.append((str(path), f"original not kept: {one_line(exc)}"))
        log.warning("%s: original not kept (%s)", path, one_line(exc))
        return None


def load_files(
    paths: Sequence[Path],
    settings: Settings,
    report: IngestReport,
    progress: bool = True,
    names: Mapping[Path, str] | None = None,
    collection: str = DEFAULT_COLLECTION,
    on_pages: Callable[[Path, int, int], None] | None = None,
) -> list[Document]:
    """The documents in these files and folders (a file that cannot be read is reported).
    `names`: files known by another name than their path (uploads saved to a temporary
    folder): their ids and sources come from that name. Every document goes into
    `collection`. `on_pages(path, read, total)`: the pages OCR has read of a scan."""
    documents: list[Document] = []
    limit = settings.ingest.max_file_mb * 1024 * 1024
    files = find_files(paths, report)
    originals = open_originals(settings)
    with FileReader(settings.ingest) as reader:
        for path in tqdm(files, desc="loading", unit="file", disable=not progress):
            try:
                size = _size(path)
                if size > limit:
                    raise LoadError(
                        f"too large: over ingest.max_file_mb={settings.ingest.max_file_mb}"
                    )
                if size == 0:
                    raise LoadError("empty: 0 bytes")
                pages = partial(on_pages, path) if on_pages is not None else None
                loaded = reader.read(path, pages)
            except LoadSkipped as exc:
                report.skipped.append((str(path), str(exc)))
                log.warning("%s: skipped: %s", path, exc)
                continue
            except LoadError as exc:
                report.failed.append((str(path), str(exc)))
                log.warning("%s: %s", path, exc)
                continue
            if names and path in names:
                _known_as(loaded.documents, path, names[path])
            original = _kept(originals, path, loaded, report)
            for document in loaded.documents:
                document.collection = collection
                if original is not None:
                    document.metadata[ORIGINAL] = original
            documents.extend(loaded.documents)
            report.failed.extend((str(path), problem) for problem in loaded.problems)
            report.warnings.extend((str(path), note) for note in loaded.notes)
    return documents


def ingest_paths(
    paths: Sequence[Path],
    kb: KnowledgeBase,
    settings: Settings,
    progress: bool = True,
    names: Mapping[Path, str] | None = None,
    collection: str = DEFAULT_COLLECTION,
    dense: DenseWhen = "now",
) -> IngestReport:
    report = IngestReport()
    documents = load_files(paths, settings, report, progress, names, collection)
    return ingest_documents(documents, kb, settings, report, progress=progress, dense=dense)

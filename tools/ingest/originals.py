"""Documents' original files, kept by their content so that a cited page can be shown as its
reader saw it. The key is the file's content hash and suffix: the same file uploaded twice, or into
two collections, is kept once, and removed once no document names it. OCR's word boxes are kept
beside a scan (`KEY.ocr/N.tsv`) so that its page is not read again to be highlighted. A file
is removed when the last document naming it is deleted or written again from another file."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path

from tools.corpus.documents import DocKey, DocRef
from tools.ingest.blobs import Blobs, open_blobs
from tools.ingest.walk import file_hash
from tools.kb.store import KnowledgeBase
from tools.settings import Settings

log = logging.getLogger(__name__)
ORIGINAL = "original"  # the document metadata field naming its kept file


def content_key(path: Path) -> str:
    return file_hash(path) + path.suffix.lower()


def _ocr_key(key: str, page: int | None = None) -> str:
    return f"{key}.ocr/" + (f"{page}.tsv" if page is not None else "")


class Originals:
    def __init__(self, blobs: Blobs) -> None:
        self.blobs = blobs

    def keep(self, path: Path, ocr: Mapping[int, str] | None = None) -> str:
        """The file's key, storing it (and its pages' OCR) unless it is kept already."""
        key = content_key(path)
        if not self.blobs.has(key):
            self.blobs.put_file(key, path)
        for page, tsv in (ocr or {}).items():
            self.save_ocr(key, page, tsv)
        return key

    def local(self, key: str) -> AbstractContextManager[Path]:
        return self.blobs.local(key)

    def has(self, key: str) -> bool:
        return self.blobs.has(key)

    def ocr(self, key: str, page: int) -> str | None:
        """The page's OCR as Tesseract's TSV, when it was kept."""
        try:
            with self.blobs.local(_ocr_key(key, page)) as path:
                return path.read_text("utf-8")
        except FileNotFoundError:
            return None

    def save_ocr(self, key: str, page: int, tsv: str) -> None:
        self.blobs.put(_ocr_key(key, page), tsv.encode("utf-8"))

    def release(self, key: str) -> None:
        self.blobs.remove(key)
        self.blobs.remove(_ocr_key(key))


def open_originals(settings: Settings) -> Originals | None:
    """Where `ingest.originals_url` says; unset, beside the jobs' uploads (`uploads_url` +
    /originals: one setting moves both off the machine), else data_dir/originals. None when
    `ingest.keep_originals` is off."""
    ingest = settings.ingest
    if not ingest.keep_originals:
        return None
    url = ingest.originals_url
    if url is None and ingest.uploads_url:
        url = ingest.uploads_url.rstrip("/") + "/originals"
    return Originals(open_blobs(url, settings.data_dir / "originals", ingest.s3_endpoint_url))


def originals_of(kb: KnowledgeBase, keys: Sequence[DocKey]) -> set[str]:
    """The files these documents were read from (before they are written again): one look in
    the catalogue and one read of a chunk of each stored document, whatever their number."""
    stored = kb.existing(keys)
    firsts = [found.point_ids[0] for found in stored.values() if found.point_ids]
    named = (p.metadata.get(ORIGINAL) for p in kb.payloads(firsts).values()) if firsts else ()
    return {str(key) for key in named if key}


def original_of(kb: KnowledgeBase, ref: DocRef) -> str | None:
    return next(iter(originals_of(kb, [ref.key])), None)


def release_unnamed(kb: KnowledgeBase, originals: Originals, keys: Iterable[str]) -> None:
    """Removes each of these files that no document names any more (a document deleted, or
    written again from another file)."""
    for key in keys:
        if kb.find({ORIGINAL: key}, None, 1):
            continue
        try:
            originals.release(key)
        except OSError as exc:  # the documents stand; the file stays behind
            log.warning("original %s not removed (%s)", key, exc)


def delete_with_original(
    kb: KnowledgeBase, ref: DocRef, originals: Originals | None, optimize: bool = True
) -> int:
    """Removes the document (its chunks: how many) and its original file once no other document
    names it."""
    key = original_of(kb, ref) if originals is not None else None
    removed = kb.delete_document(ref, optimize=optimize)
    if removed and key and originals is not None:
        release_unnamed(kb, originals, [key])
    return removed

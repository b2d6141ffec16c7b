"""The embedded store across releases and machines: a store written by the previous release
(qdrant-client's local mode under data_dir/qdrant) converted to Qdrant Edge with every point,
vector and payload carried over (nothing embedded again), verified before it is used, the old
folder kept; and backups of the embedded store (flush, close, copy: Edge has no snapshot call)
that restore only after the copy is checked."""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from qdrant_client import models

from tools.corpus.documents import DEFAULT_COLLECTION
from tools.corpus.metadata import spelled_out
from tools.errors import StoreError
from tools.kb.edge import EdgeClient
from tools.settings import Settings

log = logging.getLogger(__name__)
MIGRATED = "migrated-from-local-mode.json"  # in the new store: what was converted, and when
BACKUP_MANIFEST = "backup.json"
_PAGE = 1024


@dataclass(frozen=True)
class StoreCounts:
    """What a store holds, to compare two copies of it: points per collection and chunks per
    (collection, document)."""

    points: dict[str, int]
    documents: int
    chunks_by_document: dict[str, int]


def _collections(settings: Settings) -> list[str]:
    return [settings.qdrant.collection, f"{settings.qdrant.collection}_meta"]


def _counts(client: Any, settings: Settings) -> StoreCounts:
    points: dict[str, int] = {}
    for name in _collections(settings):
        if client.collection_exists(name):
            points[name] = client.count(name, exact=True).count
    chunks: Counter[str] = Counter()
    main = settings.qdrant.collection
    if main in points:
        offset = None
        while True:
            records, offset = client.scroll(
                main, limit=_PAGE, offset=offset, with_payload=["doc_id", "collection"]
            )
            for record in records:
                payload = record.payload or {}
                chunks[f"{payload.get('collection', 'default')}/{payload.get('doc_id')}"] += 1
            if offset is None:
                break
    return StoreCounts(points, len(chunks), dict(chunks))


def needs_migration(settings: Settings) -> bool:
    old = settings.qdrant_path / "collection" / settings.qdrant.collection
    return old.is_dir() and not (settings.edge_path / settings.qdrant.collection).exists()


def migrate_if_needed(settings: Settings) -> None:
    if needs_migration(settings):
        migrate(settings)


def migrate(settings: Settings) -> StoreCounts:
    """Convert the previous release's store into the embedded store; verified (points per
    collection, chunks per document, vectors of every point compared) before it replaces
    nothing: the new store appears only once it matches, the old folder is left as it was."""
    from qdrant_client import QdrantClient

    if not needs_migration(settings):
        raise StoreError(
            f"nothing to convert: no previous store at {settings.qdrant_path}, or "
            f"{settings.edge_path} already holds the store"
        )
    started = time.perf_counter()
    try:
        old = QdrantClient(path=str(settings.qdrant_path))
    except RuntimeError as exc:
        raise StoreError(
            f"the previous store {settings.qdrant_path} is open in another process: stop it "
            f"first ({exc})"
        ) from None
    staging = settings.edge_path.with_name(settings.edge_path.name + ".converting")
    shutil.rmtree(staging, ignore_errors=True)
    new = EdgeClient(staging, settings.qdrant.search_threads)
    try:
        log.info("converting the store at %s to the embedded store (Qdrant Edge)", old)
        for name in _collections(settings):
            if old.collection_exists(name):
                _copy(old, new, name, keyword_fields=name == settings.qdrant.collection)
        before, after = _counts(old, settings), _counts(new, settings)
        if before != after:
            raise StoreError(
                f"conversion check failed (before {before.points}, {before.documents} "
                f"documents; after {after.points}, {after.documents}): the previous store at "
                f"{settings.qdrant_path} is unchanged and still needed"
            )
        _same_vectors(old, new, settings.qdrant.collection)
    except BaseException:
        new.close()
        shutil.rmtree(staging, ignore_errors=True)
        old.close()
        raise
    new.release()
    old.close()
    (staging / MIGRATED).write_text(
        json.dumps({"from": str(settings.qdrant_path), "at": time.time(), **asdict(after)}),
        "utf-8",
    )
    staging.rename(settings.edge_path)
    log.warning(
        "converted %d documents (%d chunks) to the embedded store at %s in %.1f s; the previous "
        "store at %s is no longer used: delete it once you are satisfied",
        after.documents,
        after.points.get(settings.qdrant.collection, 0),
        settings.edge_path,
        time.perf_counter() - started,
        settings.qdrant_path,
    )
    return after


def _copy(old: Any, new: EdgeClient, name: str, keyword_fields: bool) -> None:
    params = old.get_collection(name).config.params
    new.create_collection(
        name, vectors_config=params.vectors, sparse_vectors_config=params.sparse_vectors
    )
    if keyword_fields:
        for field in ("doc_id", "source", "collection"):
            new.create_payload_index(name, field, models.PayloadSchemaType.KEYWORD)
    offset = None
    while True:
        records, offset = old.scroll(
            name, limit=_PAGE, offset=offset, with_payload=True, with_vectors=True
        )
        new.upsert(
            name,
            [
                models.PointStruct(
                    id=r.id, vector=r.vector, payload=_writable(_collection_named(r.payload))
                )
                for r in records
            ],
        )
        if offset is None:
            return


def _collection_named(payload: dict[str, Any] | None) -> dict[str, Any] | None:
    """Chunks of releases before collections carry the default one's name (documents are
    listed by facets over it)."""
    if payload and "doc_id" in payload and "collection" not in payload:
        return {**payload, "collection": DEFAULT_COLLECTION}
    return payload


def _writable(value: Any) -> Any:
    """A payload as the new store can hold it: text the old one accepted with lone surrogates
    (no UTF-8 encoder takes them, and such a chunk failed every answer) spelled out."""
    if isinstance(value, str):
        return spelled_out(value)
    if isinstance(value, dict):
        return {spelled_out(str(k)): _writable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_writable(v) for v in value]
    return value


def _same_vectors(old: Any, new: EdgeClient, name: str) -> None:
    """Every point's vectors, read back from the new store, as the old one held them."""
    offset = None
    while True:
        records, offset = old.scroll(name, limit=_PAGE, offset=offset, with_vectors=True)
        if not records:
            return
        ids = [r.id for r in records]
        copied = {str(r.id): r.vector for r in new.retrieve(name, ids, False, True)}
        for record in records:
            if not _close(record.vector, copied.get(str(record.id))):
                raise StoreError(f"conversion check failed: point {record.id} differs")
        if offset is None:
            return


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, models.SparseVector) and isinstance(b, models.SparseVector):
        pairs = dict(zip(a.indices, a.values, strict=True))
        other = dict(zip(b.indices, b.values, strict=True))
        return pairs.keys() == other.keys() and all(
            abs(pairs[i] - other[i]) <= 1e-6 * max(1.0, abs(pairs[i])) for i in pairs
        )
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return False
        norm_a = sum(x * x for x in a) ** 0.5 or 1.0
        norm_b = sum(x * x for x in b) ** 0.5 or 1.0
        return all(abs(x / norm_a - y / norm_b) <= 1e-5 for x, y in zip(a, b, strict=True))
    return False


# -- backups ------------------------------------------------------------------------------------
def _embedded_only(settings: Settings) -> None:
    if settings.qdrant.url:
        raise StoreError(
            "backup and restore copy the embedded store; a Qdrant server has its own snapshots "
            "(POST /collections/{name}/snapshots)"
        )


def backup(settings: Settings, target: Path) -> StoreCounts:
    """Flush, close and copy the embedded store to `target` (which must not exist), then check
    the copy opens and holds what the store held. The server must not be running (it holds the
    store's write-ahead log); conversation memory and feedback are files of their own."""
    _embedded_only(settings)
    source = settings.edge_path
    if not (source / settings.qdrant.collection).exists():
        raise StoreError(f"no embedded store at {source} to back up")
    if target.exists() and any(target.iterdir()):
        raise StoreError(f"{target} is not empty: back up into a new folder")
    client = EdgeClient(source, settings.qdrant.search_threads)
    try:
        held = _counts(client, settings)  # opens every shard: fails if a server holds them
    finally:
        client.release()
    shutil.copytree(source, target / "edge")
    copy = EdgeClient(target / "edge", settings.qdrant.search_threads)
    try:
        copied = _counts(copy, settings)
    finally:
        copy.release()
    if copied != held:
        raise StoreError(f"the copy at {target} does not match the store: not a backup")
    manifest = {"collection": settings.qdrant.collection, "at": time.time(), **asdict(held)}
    (target / BACKUP_MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False), "utf-8")
    return held


def restore(settings: Settings, source: Path, force: bool = False) -> StoreCounts:
    """The backup in `source` becomes the embedded store, once a copy of it has opened and
    matched its manifest; a store already there is kept aside (`--force`), never deleted."""
    _embedded_only(settings)
    manifest_path = source / BACKUP_MANIFEST
    if not manifest_path.is_file():
        raise StoreError(
            f"{source} is not a backup made by `vinarag kb backup` (no {BACKUP_MANIFEST})"
        )
    manifest = json.loads(manifest_path.read_text("utf-8"))
    target = settings.edge_path
    if target.exists() and not force:
        raise StoreError(
            f"a store exists at {target}: restore with --force to replace it (it is kept aside)"
        )
    staging = target.with_name(target.name + ".restoring")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source / "edge", staging)
    client = EdgeClient(staging, settings.qdrant.search_threads)
    try:
        found = _counts(client, settings)
    finally:
        client.release()
    expected = StoreCounts(
        manifest["points"], manifest["documents"], manifest["chunks_by_document"]
    )
    if found != expected:
        shutil.rmtree(staging, ignore_errors=True)
        raise StoreError(f"the backup at {source} does not match its manifest: not restored")
    if target.exists():
        aside = target.with_name(f"{target.name}.replaced-{int(time.time())}")
        target.rename(aside)
        log.warning("the store that was at %s is kept at %s", target, aside)
    staging.rename(target)
    return found

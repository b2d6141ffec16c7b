"""The embedded store: Qdrant's own engine in this process (Qdrant Edge), one shard per
collection under one folder, behind the part of qdrant-client's API the knowledge base uses.
The knowledge base therefore speaks one API to both adapters: this one embedded, qdrant-client
itself for a server or cluster (QDRANT_URL).

What Edge does differently from a server, handled here:
- IDF counts deleted and replaced points until a vacuum: segments are vacuumed at a low deleted
  share, and `optimize()` runs after each write (the knowledge base calls it), so IDF stays
  exact.
- A boolean in a filter is sent as the integer 1 and matches nothing: refused (FilterError).
- The dense index is fixed when a collection is created (`hnsw_config`, kept beside the shard
  as a server keeps it in the collection's config): with `m=0` no graph is built and every
  dense search is exact; with a graph, segments under its full-scan threshold are still
  searched exactly.
- The search pool defaults to one thread per CPU, which adds tail latency on a busy machine:
  `qdrant.search_threads` (default 1).
- One process per store (the WAL is locked): several server workers need QDRANT_URL."""

from __future__ import annotations

import json
import shutil
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import qdrant_edge as edge
from qdrant_client import models

from tools.errors import StoreError
from tools.kb.filters import FilterError

_SHARD_CONFIG = "vinarag-shard.json"  # what a shard was created with (Edge does not say)
# Collections created before the index was configurable: no graph, every dense search exact.
_NO_GRAPH = {"m": 0, "ef_construct": 100, "full_scan_threshold": 10_000}


@dataclass
class Record:
    id: int | str
    payload: dict[str, Any] | None = None
    vector: dict[str, Any] | list[float] | None = None


@dataclass
class ScoredPoint:
    id: int | str
    score: float


@dataclass
class QueryResponse:
    points: list[ScoredPoint] = field(default_factory=list)


def _id(value: Any) -> int | str:
    return value if isinstance(value, int) else str(value)


def _vector(value: Any) -> Any:
    if isinstance(value, models.SparseVector):
        return edge.SparseVector(list(value.indices), list(value.values))
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def _read_vector(value: Any) -> Any:
    if isinstance(value, dict):
        return {name: _read_vector(v) for name, v in value.items()}
    if isinstance(value, edge.SparseVector):
        return models.SparseVector(indices=list(value.indices), values=list(value.values))
    return value


def edge_filter(flt: Any) -> edge.Filter | None:
    """A qdrant-client filter as Edge's. A boolean match is refused: Edge sends it as the
    integer 1 and it would silently match nothing."""
    if flt is None:
        return None

    def conditions(items: Sequence[Any] | None) -> list[Any] | None:
        return [condition(c) for c in items] if items else None

    def condition(item: Any) -> Any:
        if isinstance(item, models.Filter):
            return edge.Filter(
                must=conditions(item.must),  # type: ignore[arg-type]
                should=conditions(item.should),  # type: ignore[arg-type]
                must_not=conditions(item.must_not),  # type: ignore[arg-type]
            )
        if isinstance(item, models.IsEmptyCondition):
            return edge.IsEmptyCondition(item.is_empty.key)
        if isinstance(item, models.FieldCondition):
            if isinstance(item.match, models.MatchValue):
                if isinstance(item.match.value, bool):
                    raise FilterError(
                        f"filter {item.key.removeprefix('metadata.')!r}: true/false values "
                        "cannot be filtered in the embedded store; store them as text "
                        '("có"/"không") or use a Qdrant server (QDRANT_URL)'
                    )
                return edge.FieldCondition(item.key, match=edge.MatchValue(item.match.value))
            if isinstance(item.match, models.MatchAny):
                values: Any = list(item.match.any)
                return edge.FieldCondition(item.key, match=edge.MatchAny(values))
            if item.range is not None:
                limits: dict[str, Any] = {
                    k: getattr(item.range, k) for k in ("gte", "gt", "lte", "lt")
                }
                return edge.FieldCondition(item.key, range=edge.RangeFloat(**limits))
        raise FilterError(f"a filter condition the embedded store cannot apply: {item!r}")

    return condition(flt)


class EdgeClient:
    """Shards under `root` (one per collection), opened once and kept open: this process is the
    store's only user."""

    def __init__(self, root: Path, search_threads: int = 1, temporary: bool = False) -> None:
        self.root = root
        self.search_threads = search_threads
        self.temporary = temporary
        self._shards: dict[str, edge.EdgeShard] = {}
        self._lock = threading.RLock()
        root.mkdir(parents=True, exist_ok=True)

    # -- collections -----------------------------------------------------------------------
    def _config_file(self, name: str) -> Path:
        return self.root / name / _SHARD_CONFIG

    def collection_exists(self, name: str) -> bool:
        return self._config_file(name).is_file()

    def _edge_config(self, described: dict[str, Any]) -> edge.EdgeConfig:
        vectors = {
            name: edge.EdgeVectorParams(
                size=size, distance=edge.Distance.Cosine if name else edge.Distance.Dot
            )
            for name, size in described["vectors"].items()
        }
        sparse = {
            view: edge.EdgeSparseVectorParams(modifier=edge.Modifier.Idf)
            for view in described["sparse"]
        }
        hnsw = described.get("hnsw", _NO_GRAPH)
        return edge.EdgeConfig(
            vectors=vectors,
            sparse_vectors=sparse,
            hnsw_config=edge.HnswIndexConfig(**hnsw),
            # vacuum as soon as anything is deleted: IDF counts deleted points until then; a
            # graph only for segments that are not searched exactly anyway
            optimizers=edge.EdgeOptimizersConfig(
                deleted_threshold=0.0001,
                vacuum_min_vector_number=1,
                indexing_threshold=hnsw["full_scan_threshold"] if hnsw["m"] else None,
            ),
            max_search_threads=self.search_threads,
        )

    def create_collection(
        self,
        collection_name: str,
        vectors_config: Any = None,
        sparse_vectors_config: dict[str, Any] | None = None,
        hnsw_config: models.HnswConfigDiff | None = None,
    ) -> None:
        if isinstance(vectors_config, models.VectorParams):
            vectors = {"": vectors_config.size}
        else:
            vectors = {name: p.size for name, p in (vectors_config or {}).items()}
        described: dict[str, Any] = {
            "vectors": vectors,
            "sparse": sorted(sparse_vectors_config or {}),
        }
        if hnsw_config is not None:
            given = hnsw_config.model_dump(include=set(_NO_GRAPH), exclude_none=True)
            described["hnsw"] = _NO_GRAPH | given
        folder = self.root / collection_name
        with self._lock:
            shard = edge.EdgeShard.create(str(folder), self._edge_config(described))
            self._shards[collection_name] = shard
            self._config_file(collection_name).write_text(json.dumps(described), "utf-8")

    def _shard(self, name: str) -> edge.EdgeShard:
        with self._lock:
            if name not in self._shards:
                if not self.collection_exists(name):
                    raise StoreError(f"no collection {name} in {self.root}")
                try:
                    described = json.loads(self._config_file(name).read_text("utf-8"))
                    self._shards[name] = edge.EdgeShard.load(
                        str(self.root / name), self._edge_config(described)
                    )
                except Exception as exc:  # the WAL of a shard another process has open
                    if "wal" in str(exc).lower():  # "failed to open WAL ... WouldBlock"
                        raise StoreError(
                            f"the store {self.root} is open in another process (a running "
                            "server?): stop it, or use a Qdrant server (QDRANT_URL) for several "
                            "processes"
                        ) from None
                    raise
            return self._shards[name]

    def get_collection(self, collection_name: str) -> Any:
        self._shard(collection_name)  # opened now: a store another process holds fails here
        described = json.loads(self._config_file(collection_name).read_text("utf-8"))
        vectors = {
            name: models.VectorParams(size=size, distance=models.Distance.COSINE)
            for name, size in described["vectors"].items()
        }
        sparse = {
            view: models.SparseVectorParams(modifier=models.Modifier.IDF)
            for view in described["sparse"]
        }
        params = SimpleNamespace(vectors=vectors, sparse_vectors=sparse)
        hnsw = models.HnswConfig(**described.get("hnsw", _NO_GRAPH))
        return SimpleNamespace(config=SimpleNamespace(params=params, hnsw_config=hnsw))

    def create_payload_index(
        self, collection_name: str, field_name: str, field_schema: Any
    ) -> None:
        self._shard(collection_name).update(
            edge.UpdateOperation.create_field_index(field_name, edge.PayloadSchemaType.Keyword)
        )

    def delete_collection(self, collection_name: str) -> None:
        with self._lock:
            shard = self._shards.pop(collection_name, None)
            if shard is not None:
                shard.close()
            shutil.rmtree(self.root / collection_name, ignore_errors=True)

    # -- points ----------------------------------------------------------------------------
    def upsert(self, collection_name: str, points: Sequence[models.PointStruct]) -> None:
        converted = []
        for point in points:
            vector = point.vector
            if isinstance(vector, dict):
                vector = {name: _vector(v) for name, v in vector.items()}
            else:
                vector = {"": _vector(vector)}
            converted.append(edge.Point(_id(point.id), vector, point.payload))  # type: ignore[arg-type]
        shard = self._shard(collection_name)
        shard.update(edge.UpdateOperation.upsert_points(converted))
        shard.flush()  # an acknowledged write survives a kill (the WAL replays on load)

    def delete(
        self, collection_name: str, points_selector: models.PointIdsList | Sequence[Any]
    ) -> None:
        listed = (
            points_selector.points
            if isinstance(points_selector, models.PointIdsList)
            else points_selector
        )
        ids: list[Any] = [_id(p) for p in listed]
        shard = self._shard(collection_name)
        shard.update(edge.UpdateOperation.delete_points(ids))
        shard.flush()

    def update_vectors(self, collection_name: str, points: Sequence[models.PointVectors]) -> None:
        converted = [
            edge.PointVectors(
                _id(p.id),
                {n: _vector(v) for n, v in p.vector.items()}
                if isinstance(p.vector, dict)
                else {"": _vector(p.vector)},
            )
            for p in points
        ]
        shard = self._shard(collection_name)
        shard.update(edge.UpdateOperation.update_vectors(converted))
        shard.flush()

    def set_payload(
        self, collection_name: str, payload: dict[str, Any], points: Sequence[Any]
    ) -> None:
        shard = self._shard(collection_name)
        shard.update(edge.UpdateOperation.set_payload([_id(p) for p in points], payload))
        shard.flush()

    def facet(
        self,
        collection_name: str,
        key: str,
        facet_filter: Any = None,
        limit: int = 10,
        exact: bool = False,
    ) -> SimpleNamespace:
        """Values of a keyword-indexed field with their point counts, most first."""
        request = edge.FacetRequest(key, limit=limit, exact=exact, filter=edge_filter(facet_filter))
        found = self._shard(collection_name).facet(request)
        return SimpleNamespace(
            hits=[SimpleNamespace(value=h.value, count=h.count) for h in found.hits]
        )

    def optimize(self, collection_name: str) -> None:
        """Vacuum what writes left deleted (IDF counts deleted points until then)."""
        self._shard(collection_name).optimize()

    def count(
        self, collection_name: str, count_filter: Any = None, exact: bool = True
    ) -> SimpleNamespace:
        request = edge.CountRequest(exact=True, filter=edge_filter(count_filter))
        return SimpleNamespace(count=self._shard(collection_name).count(request))

    def scroll(
        self,
        collection_name: str,
        scroll_filter: Any = None,
        limit: int = 10,
        offset: Any = None,
        with_payload: Any = True,
        with_vectors: Any = False,
    ) -> tuple[list[Record], Any]:
        request = edge.ScrollRequest(
            offset=offset,
            limit=limit,
            filter=edge_filter(scroll_filter),
            with_payload=with_payload,
            with_vector=with_vectors,
        )
        records, next_offset = self._shard(collection_name).scroll(request)
        return [
            Record(_id(r.id), r.payload, _read_vector(r.vector) if with_vectors else None)
            for r in records
        ], next_offset

    def retrieve(
        self,
        collection_name: str,
        ids: Sequence[Any],
        with_payload: Any = True,
        with_vectors: Any = False,
    ) -> list[Record]:
        keyed: list[Any] = [i if isinstance(i, int) else uuid.UUID(str(i)) for i in ids]
        found = self._shard(collection_name).retrieve(keyed, with_payload, with_vectors)
        return [
            Record(_id(r.id), r.payload, _read_vector(r.vector) if with_vectors else None)
            for r in found
        ]

    def query_points(
        self,
        collection_name: str,
        query: Any,
        using: str,
        limit: int,
        query_filter: Any = None,
        with_payload: Any = False,
        search_params: models.SearchParams | None = None,
    ) -> QueryResponse:
        params = None
        if not isinstance(query, models.SparseVector):
            params = edge.SearchParams(
                hnsw_ef=search_params.hnsw_ef if search_params else None,
                exact=bool(search_params and search_params.exact),
            )
        request = edge.QueryRequest(
            limit=limit,
            query=edge.Query.Nearest(_vector(query), using=using),
            filter=edge_filter(query_filter),
            with_payload=with_payload,
            params=params,
        )
        found = self._shard(collection_name).query(request)
        return QueryResponse([ScoredPoint(_id(p.id), p.score) for p in found])

    def release(self) -> None:
        """Every shard flushed and closed (another process may open them), the files kept; the
        next call opens them again."""
        with self._lock:
            for shard in self._shards.values():
                shard.flush()
                shard.close()
            self._shards.clear()

    def close(self) -> None:
        self.release()
        if self.temporary:
            shutil.rmtree(self.root, ignore_errors=True)

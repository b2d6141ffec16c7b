"""An in-process index over the vectors of a local-mode Qdrant collection.

qdrant-client's local mode scores every stored sparse vector in Python for each query: linear in
the collection, seconds at 10k chunks. This index keeps each sparse view as postings lists
(term -> rows and values, built in blocks the way a CSC matrix stores columns) and the dense
vectors in one matrix, so a query touches only the postings of its own terms. It scores exactly
as Qdrant does: a sparse score is the sum over shared terms of query value x IDF x document
value, IDF = ln((N - df + 0.5) / (df + 0.5) + 1) over the live points that have the view, and a
point sharing no term is not a hit; a dense score is the cosine. Payload filters are evaluated by
Qdrant itself (the store passes the matching ids), so they mean what they mean on a server.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass
class SparseRow:
    indices: np.ndarray  # term ids (u32, as int64), distinct
    values: np.ndarray  # float64, as Qdrant keeps them


@dataclass
class _Block:
    """Postings of a set of rows: for column c, rows[indptr[c]:indptr[c+1]] with their values
    (a CSC matrix, column-major)."""

    row_ids: np.ndarray  # the rows this block was built from
    indptr: np.ndarray
    rows: np.ndarray
    values: np.ndarray

    @classmethod
    def build(cls, entries: Sequence[tuple[int, np.ndarray, np.ndarray]], n_cols: int) -> _Block:
        row_ids = np.array([r for r, _, _ in entries], np.int64)
        sizes = np.array([len(c) for _, c, _ in entries], np.int64)
        rows = np.repeat(row_ids, sizes).astype(np.int32)
        cols = np.concatenate([c for _, c, _ in entries]) if entries else np.zeros(0, np.int64)
        values = np.concatenate([v for _, _, v in entries]) if entries else np.zeros(0)
        order = np.argsort(cols, kind="stable")
        indptr = np.zeros(n_cols + 1, np.int64)
        np.cumsum(np.bincount(cols, minlength=n_cols), out=indptr[1:])
        return cls(row_ids, indptr, rows[order], values[order])

    def postings(self, col: int) -> tuple[np.ndarray, np.ndarray]:
        if col + 1 >= len(self.indptr):
            return self.rows[:0], self.values[:0]
        start, end = self.indptr[col], self.indptr[col + 1]
        return self.rows[start:end], self.values[start:end]


class SparseViewIndex:
    """One named sparse vector of the collection. Rows written since the last search wait in
    `pending` and become a new block at the next search; blocks of similar size are merged (as
    in a log-structured merge tree), so a write costs about log(n) rebuilds of its postings
    over time and a search reads a handful of blocks."""

    def __init__(self) -> None:
        self.term_ids = np.zeros(0, np.int64)  # column -> term id (columns are never reused)
        self._sorted_terms = np.zeros(0, np.int64)  # term ids, sorted, to look columns up
        self._sorted_columns = np.zeros(0, np.int64)  # their columns
        self.df = np.zeros(0, np.int64)  # live rows holding each column
        self.rows: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # row -> (columns, values)
        self.blocks: list[_Block] = []
        self.pending: list[int] = []
        self.live_rows = 0  # N of the IDF: live rows that have this view

    def lookup(self, terms: np.ndarray) -> np.ndarray:
        """The column of each term id, -1 for a term no row holds."""
        if not len(self._sorted_terms):
            return np.full(len(terms), -1, np.int64)
        at = np.minimum(np.searchsorted(self._sorted_terms, terms), len(self._sorted_terms) - 1)
        return np.where(self._sorted_terms[at] == terms, self._sorted_columns[at], -1)

    def _columns_of(self, terms: np.ndarray) -> np.ndarray:
        unique, inverse = np.unique(terms, return_inverse=True)
        cols = self.lookup(unique)
        new = cols < 0
        if new.any():
            start = len(self.term_ids)
            fresh, fresh_cols = unique[new], np.arange(start, start + int(new.sum()))
            cols[new] = fresh_cols
            self.term_ids = np.concatenate([self.term_ids, fresh])
            # `fresh` is sorted (np.unique): merge it into the sorted lookup, no re-sort
            at = np.searchsorted(self._sorted_terms, fresh)
            self._sorted_terms = np.insert(self._sorted_terms, at, fresh)
            self._sorted_columns = np.insert(self._sorted_columns, at, fresh_cols)
        if len(self.term_ids) > len(self.df):
            grown = np.zeros(max(len(self.term_ids), 2 * len(self.df)), np.int64)
            grown[: len(self.df)] = self.df
            self.df = grown
        return cols[inverse]

    def add(self, rows: Sequence[int], vectors: Sequence[SparseRow]) -> None:
        if not rows:
            return
        sizes = [len(v.indices) for v in vectors]
        terms = np.concatenate([np.asarray(v.indices, np.int64) for v in vectors])
        cols = self._columns_of(terms)
        np.add.at(self.df, cols, 1)
        offset = 0
        for row, vector, size in zip(rows, vectors, sizes, strict=True):
            self.rows[row] = (cols[offset : offset + size], np.asarray(vector.values, np.float64))
            offset += size
        self.pending.extend(rows)
        self.live_rows += len(rows)

    def remove(self, row: int) -> None:
        entry = self.rows.pop(row, None)
        if entry is None:
            return
        self.df[entry[0]] -= 1
        self.live_rows -= 1

    def _build(self, row_ids: Iterable[int]) -> _Block:
        entries = [(r, *self.rows[r]) for r in row_ids if r in self.rows]
        return _Block.build(entries, len(self.term_ids))

    def refresh(self) -> None:
        if not self.pending:
            return
        block = self._build(self.pending)
        self.pending = []
        while self.blocks and 2 * len(block.rows) >= len(self.blocks[-1].rows):
            older = self.blocks.pop()
            block = self._build(np.concatenate([older.row_ids, block.row_ids]).tolist())
        self.blocks.append(block)
        # Dead rows keep their postings until their block is rebuilt: compact when they
        # outnumber the live ones.
        if sum(len(b.row_ids) for b in self.blocks) > 2 * max(len(self.rows), 1024):
            self.blocks = [self._build(sorted(self.rows))]

    def scores(
        self, query: SparseRow, n_rows: int, alive: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Scores of every row, and which rows share a term with the query."""
        self.refresh()
        n = self.live_rows
        picked_rows, picked_values = [], []
        columns = self.lookup(np.asarray(query.indices, np.int64)).tolist()
        for col, value in zip(columns, query.values.tolist(), strict=True):
            if col < 0:
                continue
            df = int(self.df[col])
            weight = value * math.log((n - df + 0.5) / (df + 0.5) + 1.0)
            for block in self.blocks:
                rows, values = block.postings(col)
                if len(rows):
                    picked_rows.append(rows)
                    picked_values.append(values * weight)
        hit = np.zeros(n_rows, bool)
        if not picked_rows:
            return np.zeros(n_rows), hit
        rows = np.concatenate(picked_rows)
        scores = np.bincount(rows, weights=np.concatenate(picked_values), minlength=n_rows)
        hit[rows] = True
        return scores, hit & alive  # a replaced or deleted row's stale postings never hit


@dataclass
class DenseMatrix:
    """The dense vectors, normalised, one row per index row (zeros where a row has none)."""

    dim: int
    matrix: np.ndarray = field(init=False)
    present: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.matrix = np.zeros((0, self.dim), np.float32)
        self.present = np.zeros(0, bool)

    def ensure(self, n_rows: int) -> None:
        if n_rows <= len(self.matrix):
            return
        capacity = max(n_rows, 2 * len(self.matrix), 1024)
        grown = np.zeros((capacity, self.dim), np.float32)
        grown[: len(self.matrix)] = self.matrix
        self.matrix = grown
        present = np.zeros(capacity, bool)
        present[: len(self.present)] = self.present
        self.present = present

    def set(self, row: int, vector: Sequence[float]) -> None:
        self.ensure(row + 1)
        v = np.asarray(vector, np.float32)
        norm = float(np.linalg.norm(v))
        self.matrix[row] = v / norm if norm > 0 else v
        self.present[row] = True

    def remove(self, row: int) -> None:
        if row < len(self.present):
            self.present[row] = False


@dataclass
class IndexedPoint:
    """What the index needs of one stored point."""

    point_id: str
    sparse: Mapping[str, SparseRow]
    dense: Sequence[float] | None = None


class LocalIndex:
    """Row-numbered index of the collection's points; rows are never reused, so deleting or
    replacing a point only marks its row dead (and takes it out of the IDF counts)."""

    def __init__(self, sparse_views: Iterable[str], dense_dim: int | None) -> None:
        self.views = {view: SparseViewIndex() for view in sparse_views}
        self.dense = DenseMatrix(dense_dim) if dense_dim else None
        self.point_ids: list[str] = []
        self.row_of: dict[str, int] = {}
        self._alive = np.zeros(0, bool)

    def __len__(self) -> int:
        return len(self.row_of)

    @property
    def alive(self) -> np.ndarray:
        return self._alive[: len(self.point_ids)]

    def _new_row(self, point_id: str) -> int:
        row = len(self.point_ids)
        self.point_ids.append(point_id)
        if row >= len(self._alive):
            grown = np.zeros(max(2 * len(self._alive), 1024), bool)
            grown[: len(self._alive)] = self._alive
            self._alive = grown
        self._alive[row] = True
        self.row_of[point_id] = row
        return row

    def upsert(self, points: Sequence[IndexedPoint]) -> None:
        self.delete([p.point_id for p in points])
        rows = [self._new_row(p.point_id) for p in points]
        for name, view in self.views.items():
            having = [
                (r, p.sparse[name]) for r, p in zip(rows, points, strict=True) if name in p.sparse
            ]
            view.add([r for r, _ in having], [v for _, v in having])
        if self.dense is not None:
            for row, point in zip(rows, points, strict=True):
                if point.dense is not None:
                    self.dense.set(row, point.dense)

    def delete(self, point_ids: Iterable[str]) -> None:
        for point_id in point_ids:
            row = self.row_of.pop(point_id, None)
            if row is None:
                continue
            self._alive[row] = False
            for view in self.views.values():
                view.remove(row)
            if self.dense is not None:
                self.dense.remove(row)

    def rows_of(self, point_ids: Iterable[str]) -> np.ndarray:
        """A row mask of the given points (a payload filter's matches)."""
        mask = np.zeros(len(self.point_ids), bool)
        rows = [self.row_of[p] for p in point_ids if p in self.row_of]
        mask[rows] = True
        return mask

    def search_sparse(
        self, view: str, query: SparseRow, limit: int, allowed: np.ndarray | None = None
    ) -> list[tuple[str, float]]:
        n_rows = len(self.point_ids)
        scores, hit = self.views[view].scores(query, n_rows, self.alive)
        if allowed is not None:
            hit &= allowed
        # Qdrant sums in double precision and answers float32.
        return self._top(scores.astype(np.float32), hit, limit)

    def search_dense(
        self, vector: np.ndarray | Sequence[float], limit: int, allowed: np.ndarray | None = None
    ) -> list[tuple[str, float]]:
        if self.dense is None:
            return []
        n_rows = len(self.point_ids)
        self.dense.ensure(n_rows)
        query = np.asarray(vector, np.float32)
        norm = float(np.linalg.norm(query))
        query = query / norm if norm > 0 else query
        scores = self.dense.matrix[:n_rows] @ query
        hit = self.dense.present[:n_rows] & self.alive
        if allowed is not None:
            hit &= allowed
        return self._top(scores, hit, limit)

    def _top(self, scores: np.ndarray, hit: np.ndarray, limit: int) -> list[tuple[str, float]]:
        rows = np.flatnonzero(hit)
        if len(rows) > limit:
            rows = rows[np.argpartition(-scores[rows], limit - 1)[:limit]]
        rows = rows[np.lexsort((rows, -scores[rows]))]
        return [(self.point_ids[r], float(scores[r])) for r in rows]


def export_index(index: LocalIndex) -> dict[str, np.ndarray]:
    """The live rows as flat arrays (for a snapshot file): ids, each view's vectors in CSR form
    with term ids, the dense matrix."""
    rows = sorted(index.row_of.values())
    out: dict[str, np.ndarray] = {"ids": np.array([index.point_ids[r] for r in rows], dtype=str)}
    position = {row: i for i, row in enumerate(rows)}
    for name, view in index.views.items():
        having = [r for r in rows if r in view.rows]
        cols = [view.rows[r][0] for r in having]
        out[f"{name}/rows"] = np.array([position[r] for r in having], np.int64)
        out[f"{name}/sizes"] = np.array([len(c) for c in cols], np.int64)
        out[f"{name}/terms"] = (
            view.term_ids[np.concatenate(cols)] if cols else np.zeros(0, np.int64)
        )
        out[f"{name}/values"] = (
            np.concatenate([view.rows[r][1] for r in having]) if having else np.zeros(0)
        )
    if index.dense is not None:
        index.dense.ensure(len(index.point_ids))
        out["dense/matrix"] = index.dense.matrix[rows]
        out["dense/present"] = index.dense.present[rows]
    return out


def import_index(
    arrays: Mapping[str, np.ndarray], views: Sequence[str], dim: int | None
) -> LocalIndex:
    """The index `export_index` wrote, rebuilt without reading the store."""
    index = LocalIndex(views, dim)
    ids = arrays["ids"].tolist()
    sparse: list[dict[str, SparseRow]] = [{} for _ in ids]
    for name in views:
        sizes = arrays[f"{name}/sizes"]
        starts = np.concatenate([[0], np.cumsum(sizes)])
        terms, values = arrays[f"{name}/terms"], arrays[f"{name}/values"]
        for i, row in enumerate(arrays[f"{name}/rows"].tolist()):
            start, end = starts[i], starts[i + 1]
            sparse[row][name] = SparseRow(terms[start:end], values[start:end])
    dense = arrays.get("dense/matrix") if dim else None
    present = arrays.get("dense/present") if dim else None
    index.upsert(
        [
            IndexedPoint(
                point_id,
                sparse[i],
                dense[i] if dense is not None and present is not None and present[i] else None,
            )
            for i, point_id in enumerate(ids)
        ]
    )
    return index

"""`vinarag eval sync`: what keeping a collection in sync with a folder costs. The folder is
written into a temporary directory, with its own temporary store: from a corpus (one `.txt` per
passage, in ten subfolders), or a copy of the first files of a real folder (laws). The runs: the
first sync, searchable first (its sparse writes; then the dense backfill timed apart), syncs with
nothing changed (medians of repeats), and one sync after files were renamed, edited (one line
each) and deleted, with the passages the dense model embedded counted (a rename embeds nothing,
an edit only the chunks it touched)."""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.datasets import Passage as CorpusPassage
from tools.ingest.sync import SyncReport, sync_folder
from tools.kb.backfill import DenseBackfill
from tools.kb.embedders import Embedder
from tools.kb.factory import build_knowledge_base, configured_embedder
from tools.kb.store import KnowledgeBase
from tools.settings import Settings

EDIT = " (sửa đổi)"


class CountedEmbedder:
    """An embedder, counting the passages it embeds (a rename must embed none)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.passages = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def embed_passages(self, texts: list[str]) -> Any:
        self.passages += len(texts)
        return self.inner.embed_passages(texts)


@dataclass(frozen=True)
class Changes:
    """Which files a run changes: every `renamed`-th, `edited`-th and `deleted`-th (offset so
    that no file is picked twice), or, with `single`, one of each kind but deletion."""

    renamed: int = 10
    edited: int = 20
    deleted: int = 50
    single: bool = False

    def pick(self, paths: list[Path]) -> tuple[list[Path], list[Path], list[Path]]:
        if self.single:
            return paths[:1], paths[len(paths) // 2 : len(paths) // 2 + 1], []
        return paths[:: self.renamed], paths[1 :: self.edited], paths[3 :: self.deleted]


def corpus_folder(root: Path, passages: list[CorpusPassage], files: int) -> list[Path]:
    paths = []
    for i in range(files):
        passage = passages[i % len(passages)]
        path = root / f"d{i % 10}" / f"doc-{i:05d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{passage.title}\n\n{passage.text} ({i})", "utf-8")
        paths.append(path)
    return paths


def copied_folder(root: Path, source: Path, files: int) -> list[Path]:
    """The first `files` `.txt` files of `source` (by name), copied under `root`."""
    paths = []
    for found in sorted(source.glob("*.txt"))[:files]:
        path = root / found.name
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(found, path)
        paths.append(path)
    if not paths:
        raise ValueError(f"no .txt files in {source}")
    return paths


def edit_one_line(path: Path) -> None:
    """A user's one-line edit: words added at the end of the file's middle line of text."""
    lines = path.read_text("utf-8").split("\n")
    texts = [i for i, line in enumerate(lines) if line.strip()]
    lines[texts[len(texts) // 2]] += EDIT
    path.write_text("\n".join(lines), "utf-8")


def _figures(report: SyncReport, seconds: float, embedded: int) -> dict[str, Any]:
    return {
        "seconds": round(seconds, 3),
        "added": len(report.added),
        "changed": len(report.changed),
        "renamed": len(report.renamed),
        "deleted": len(report.deleted),
        "unchanged": report.unchanged,
        "passages_embedded": embedded,
    }


def _sync(
    root: Path, kb: KnowledgeBase, settings: Settings, counted: CountedEmbedder | None
) -> dict[str, Any]:
    """One sync, searchable first: seconds to its sparse writes, then to its backfill."""
    before = counted.passages if counted is not None else 0
    began = time.perf_counter()
    report = sync_folder(root, "bench", kb, settings, progress=False, dense="later")
    searchable = time.perf_counter() - began
    if counted is not None:
        DenseBackfill(kb).drain()
    figures = _figures(
        report, time.perf_counter() - began, (counted.passages if counted else 0) - before
    )
    return figures | {"searchable_seconds": round(searchable, 3)}


def run_sync_benchmark(
    settings: Settings,
    write_folder: Callable[[Path], list[Path]],
    repeats: int,
    changes: Changes = Changes(),
) -> dict[str, Any]:
    """`write_folder(root)` writes the folder and returns its files."""
    with tempfile.TemporaryDirectory(prefix="vinarag-sync-") as tmp:
        root = Path(tmp) / "drive"
        paths = write_folder(root)
        characters = sum(p.stat().st_size for p in paths)
        configured = settings.model_copy(update={"data_dir": Path(tmp) / "data"})
        inner = configured_embedder(configured)
        counted = CountedEmbedder(inner) if inner is not None else None
        kb = build_knowledge_base(configured, embedder=counted)  # type: ignore[arg-type]
        try:
            first = _sync(root, kb, configured, counted)
            chunks = kb.count()
            unchanged = [_sync(root, kb, configured, counted) for _ in range(repeats)]
            renamed, edited, deleted = changes.pick(paths)
            for path in renamed:
                path.rename(path.with_name(f"renamed-{path.name}"))
            for path in edited:
                edit_one_line(path)
            for path in deleted:
                path.unlink()
            after = _sync(root, kb, configured, counted)
        finally:
            kb.close()
    return {
        "files": len(paths),
        "bytes": characters,
        "chunks": chunks,
        "dense": inner is not None,
        "first_sync": first,
        "nothing_changed_seconds_median": statistics.median(u["seconds"] for u in unchanged),
        "nothing_changed": unchanged,
        "after_changes": after,
        "changes_made": {"renamed": len(renamed), "edited": len(edited), "deleted": len(deleted)},
    }


def format_report(result: dict[str, Any]) -> str:
    first, changes = result["first_sync"], result["after_changes"]
    made = result["changes_made"]
    return "\n".join(
        [
            f"{result['files']} files ({result['bytes'] / 1e6:.2f} MB, {result['chunks']} chunks), "
            f"dense model: {'yes' if result['dense'] else 'no'}",
            f"first sync: searchable in {first['searchable_seconds']} s, fully embedded in "
            f"{first['seconds']} s ({first['added']} added, "
            f"{first['passages_embedded']} passages embedded)",
            f"nothing changed: median {result['nothing_changed_seconds_median']} s "
            f"over {len(result['nothing_changed'])} runs",
            f"{made['renamed']} renamed, {made['edited']} edited (one line each), "
            f"{made['deleted']} deleted: searchable in {changes['searchable_seconds']} s, "
            f"{changes['seconds']} s in all (renamed {changes['renamed']}, changed "
            f"{changes['changed']}, deleted {changes['deleted']}, "
            f"{changes['passages_embedded']} passages embedded)",
        ]
    )

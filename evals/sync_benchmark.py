"""`vinarag eval sync`: what keeping a collection in sync with a folder costs. The folder is
written from a corpus (one `.txt` per passage, in ten subfolders) into a temporary directory,
with its own temporary store; the runs: the first sync, syncs with nothing changed (medians of
repeats), and one sync after a share of the files were renamed, edited and deleted, with the
passages the dense model embedded counted (a rename embeds nothing)."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from evals.datasets import Passage as CorpusPassage
from tools.ingest.sync import SyncReport, sync_folder
from tools.kb.embedders import Embedder
from tools.kb.factory import build_knowledge_base, configured_embedder
from tools.settings import Settings


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


def _write(root: Path, passages: list[CorpusPassage], files: int) -> list[Path]:
    paths = []
    for i in range(files):
        passage = passages[i % len(passages)]
        path = root / f"d{i % 10}" / f"doc-{i:05d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{passage.title}\n\n{passage.text} ({i})", "utf-8")
        paths.append(path)
    return paths


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


def run_sync_benchmark(
    settings: Settings, passages: list[CorpusPassage], files: int, repeats: int
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="vinarag-sync-") as tmp:
        root = Path(tmp) / "drive"
        paths = _write(root, passages, files)
        configured = settings.model_copy(update={"data_dir": Path(tmp) / "data"})
        inner = configured_embedder(configured)
        embedder = CountedEmbedder(inner) if inner is not None else None
        kb = build_knowledge_base(configured, embedder=embedder)  # type: ignore[arg-type]

        def sync() -> dict[str, Any]:
            before = embedder.passages if embedder is not None else 0
            began = time.perf_counter()
            report = sync_folder(root, "bench", kb, configured, progress=False)
            seconds = time.perf_counter() - began
            return _figures(report, seconds, (embedder.passages if embedder else 0) - before)

        try:
            first = sync()
            unchanged = [sync() for _ in range(repeats)]
            renamed, edited, deleted = paths[::10], paths[1::20], paths[3::50]
            for path in renamed:
                path.rename(path.with_name(f"renamed-{path.name}"))
            for path in edited:
                path.write_text(path.read_text("utf-8") + " (sửa)", "utf-8")
            for path in deleted:
                path.unlink()
            changes = sync()
        finally:
            kb.close()
    return {
        "files": files,
        "dense": inner is not None,
        "first_sync": first,
        "nothing_changed_seconds_median": statistics.median(u["seconds"] for u in unchanged),
        "nothing_changed": unchanged,
        "after_changes": changes,
        "changes_made": {"renamed": len(renamed), "edited": len(edited), "deleted": len(deleted)},
    }


def format_report(result: dict[str, Any]) -> str:
    first, changes = result["first_sync"], result["after_changes"]
    made = result["changes_made"]
    return "\n".join(
        [
            f"{result['files']} files, dense model: {'yes' if result['dense'] else 'no'}",
            f"first sync: {first['seconds']} s ({first['added']} added, "
            f"{first['passages_embedded']} passages embedded)",
            f"nothing changed: median {result['nothing_changed_seconds_median']} s "
            f"over {len(result['nothing_changed'])} runs",
            f"{made['renamed']} renamed, {made['edited']} edited, {made['deleted']} deleted: "
            f"{changes['seconds']} s (renamed {changes['renamed']}, changed {changes['changed']}, "
            f"deleted {changes['deleted']}, {changes['passages_embedded']} passages embedded)",
        ]
    )

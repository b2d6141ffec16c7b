"""`vinarag data download xquad-vi`: the public XQuAD Vietnamese file, converted to the shared
format under the data dir. Offline, `--from FILE` converts a copy already on disk."""

from __future__ import annotations

import logging
import tempfile
import unicodedata
from pathlib import Path

from evals.datasets import Passage, Query, load_squad, write_shared

log = logging.getLogger(__name__)

SOURCES = {
    "xquad-vi": "https://raw.githubusercontent.com/google-deepmind/xquad/master/xquad.vi.json",
}


class DownloadError(RuntimeError):
    """The dataset could not be fetched; the message says what to do instead."""


def fetch(url: str, timeout_s: float = 60.0) -> bytes:
    import httpx

    try:
        response = httpx.get(url, timeout=timeout_s, follow_redirects=True)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise DownloadError(
            f"could not fetch {url} ({exc}); with no network, pass --from PATH (a copy on disk)"
        ) from None
    return response.content


def _nfc(passages: list[Passage], queries: list[Query]) -> None:
    for p in passages:
        p.text = unicodedata.normalize("NFC", p.text).strip()
        p.title = unicodedata.normalize("NFC", p.title)
    for q in queries:
        q.question = unicodedata.normalize("NFC", q.question).strip()
        q.answers = [unicodedata.normalize("NFC", a) for a in q.answers]


def download(name: str, out_dir: Path, source_file: Path | None = None) -> dict[str, object]:
    if name not in SOURCES:
        raise DownloadError(f"unknown dataset {name!r}; known: {', '.join(SOURCES)}")
    if source_file is None:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"{name}.json"
            path.write_bytes(fetch(SOURCES[name]))
            passages, queries = load_squad(path)
    else:
        passages, queries = load_squad(source_file)
    _nfc(passages, queries)
    target = out_dir / name
    write_shared(target, passages, queries)
    log.info("%s: %d passages, %d questions in %s", name, len(passages), len(queries), target)
    return {
        "dataset": name,
        "folder": str(target),
        "passages": len(passages),
        "queries": len(queries),
    }

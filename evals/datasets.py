"""Loaders for evaluation data in the shared format: corpus.jsonl ({"id","title","text"}) and
queries.jsonl ({"id","question","answers","positive_ids"}). Errors name the file and line."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


class DatasetError(ValueError):
    """A malformed dataset file; the message names the file and the line."""


@dataclass
class Passage:
    id: str
    title: str
    text: str


@dataclass
class Query:
    id: str
    question: str
    answers: list[str] = field(default_factory=list)
    positive_ids: list[str] = field(default_factory=list)


def _records(path: Path, required: tuple[str, ...]) -> list[dict]:
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    records = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}:{number}: invalid JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise DatasetError(f"{path}:{number}: expected an object")
            missing = [k for k in required if k not in record]
            if missing:
                raise DatasetError(f"{path}:{number}: missing field(s) {', '.join(missing)}")
            records.append(record)
    if not records:
        raise DatasetError(f"{path}: empty")
    return records


def load_corpus(path: Path) -> list[Passage]:
    return [
        Passage(str(r["id"]), str(r.get("title", "")), str(r["text"]))
        for r in _records(path, ("id", "text"))
    ]


def load_queries(path: Path) -> list[Query]:
    return [
        Query(str(r["id"]), str(r["question"]), list(r.get("answers", [])), list(r["positive_ids"]))
        for r in _records(path, ("id", "question", "positive_ids"))
    ]

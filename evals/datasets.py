"""Loaders for evaluation data in the shared format: corpus.jsonl ({"id","title","text"}) and
queries.jsonl ({"id","question","answers","positive_ids"}). Errors name the file and line."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from tools.corpus.documents import Document

log = logging.getLogger(__name__)


class DatasetError(ValueError):
    """A malformed dataset file; the message names the file and the line."""


@dataclass
class Passage:
    id: str
    title: str
    text: str

    def as_document(self) -> Document:
        """The passage as ingestion takes it (its id is the document id, so ranks map back)."""
        return Document(self.id, self.title, self.text, self.id)


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


@dataclass
class QAItem:
    """A user's evaluation question: reference answer, optional reference contexts."""

    id: str
    question: str
    answers: list[str]
    reference_contexts: list[str] = field(default_factory=list)
    group: str = ""  # feedback rows: "thumbs-up" / "thumbs-down", reported apart


def load_squad(path: Path) -> tuple[list[Passage], list[Query]]:
    """SQuAD v1.1 JSON (like xquad.vi.json): paragraphs become passages, questions queries."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file") from None
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg})") from None
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise DatasetError(f"{path}: not SQuAD format (no top-level 'data' list)")
    passages: list[Passage] = []
    queries: list[Query] = []
    for a, article in enumerate(data["data"]):
        title = str(article.get("title", f"article-{a}"))
        for p, paragraph in enumerate(article.get("paragraphs", [])):
            if "context" not in paragraph:
                raise DatasetError(f"{path}: data[{a}].paragraphs[{p}] has no 'context'")
            passage_id = f"{re.sub(r'[^0-9A-Za-z]', '', path.stem)}-p{len(passages):05d}"
            passages.append(Passage(passage_id, title, str(paragraph["context"])))
            for q, qa in enumerate(paragraph.get("qas", [])):
                if "question" not in qa or "id" not in qa:
                    raise DatasetError(
                        f"{path}: data[{a}].paragraphs[{p}].qas[{q}] needs id and question"
                    )
                answers = [str(x["text"]) for x in qa.get("answers", []) if "text" in x]
                queries.append(Query(str(qa["id"]), str(qa["question"]), answers, [passage_id]))
    if not passages:
        raise DatasetError(f"{path}: no paragraphs")
    return passages, queries


def load_qa_file(path: Path) -> list[QAItem]:
    """A user's CSV (header: question, answer[, contexts]) or JSONL ({"question", "answer" or
    "answers", "contexts"}). Contexts in CSV are separated by ' || '."""
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    items: list[QAItem] = []
    if path.suffix.lower() == ".csv":
        import csv

        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = {"question", "answer"} - set(reader.fieldnames or [])
            if missing:
                raise DatasetError(f"{path}:1: missing column(s) {', '.join(sorted(missing))}")
            for row in reader:
                line = reader.line_num
                if not (row.get("question") or "").strip() or not (row.get("answer") or "").strip():
                    raise DatasetError(f"{path}:{line}: empty question or answer")
                contexts = [
                    c.strip() for c in (row.get("contexts") or "").split(" || ") if c.strip()
                ]
                items.append(
                    QAItem(row.get("id") or f"q{line}", row["question"], [row["answer"]], contexts)
                )
    else:
        unrated = 0
        for record in _records(path, ("question",)):
            if "answer_id" in record and "value" in record:  # a row of GET /feedback's export
                if not record.get("answers"):  # rated down, no correction: no gold to hold
                    unrated += 1
                    continue
                items.append(
                    QAItem(
                        str(record.get("id", len(items))),
                        record["question"],
                        [str(a) for a in record["answers"]],
                        [str(c) for c in record.get("contexts") or []],
                        group=f"thumbs-{record['value']}",
                    )
                )
                continue
            answers = record.get("answers") or ([record["answer"]] if record.get("answer") else [])
            if not answers:
                raise DatasetError(f"{path}: question {record['question']!r} has no answer")
            contexts = record.get("contexts") or record.get("reference_contexts") or []
            items.append(
                QAItem(
                    str(record.get("id", len(items))),
                    record["question"],
                    list(answers),
                    list(contexts),
                )
            )
        if unrated:
            log.warning(
                "%s: %d answers rated down without a correction left out (no gold answer)",
                path,
                unrated,
            )
    if not items:
        raise DatasetError(f"{path}: empty")
    return items


def passages_from_contexts(items: list[QAItem]) -> list[Passage]:
    """A corpus made of the questions' own contexts (a feedback export carries the sources
    each answer was made from), for `--qa` without `--corpus`."""
    texts = dict.fromkeys(c for item in items for c in item.reference_contexts)
    return [Passage(f"ctx-{hashlib.sha1(t.encode()).hexdigest()[:12]}", "", t) for t in texts if t]


def write_shared(folder: Path, passages: list[Passage], queries: list[Query]) -> None:
    """corpus.jsonl + queries.jsonl in the shared format."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "corpus.jsonl").open("w", encoding="utf-8") as handle:
        for p in passages:
            handle.write(
                json.dumps({"id": p.id, "title": p.title, "text": p.text}, ensure_ascii=False)
                + "\n"
            )
    with (folder / "queries.jsonl").open("w", encoding="utf-8") as handle:
        for q in queries:
            record = {
                "id": q.id,
                "question": q.question,
                "answers": q.answers,
                "positive_ids": q.positive_ids,
            }
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")

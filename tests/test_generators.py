"""Generators: the extractive answerer, citation parsing, PhoGPT's real loading path on a tiny
random MPT (with a LoRA adapter), and an OpenAI-compatible server on 127.0.0.1."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import torch

from tests.helpers import passage, write_tiny_mpt
from tools.generate.base import Generation, GenerationRequest
from tools.generate.extractive import ExtractiveGenerator
from tools.generate.factory import build_generator
from tools.generate.llm import ChatModelGenerator, build_prompt, parse_citations
from tools.settings import GeneratorSettings

SOURCES = [
    passage(
        "p1",
        "Fansipan thuộc dãy Hoàng Liên Sơn. Đỉnh núi cao khoảng 3.143 mét. Có cáp treo từ Sa Pa.",
        1.0,
        title="Đỉnh Fansipan",
        doc_id="fansipan",
    ),
    passage(
        "p2", "Hà Nội là thủ đô. Hồ Hoàn Kiếm ở trung tâm.", 0.5, title="Hà Nội", doc_id="ha-noi"
    ),
]


def test_extractive_picks_the_sentence_with_the_asked_for_number():
    result = ExtractiveGenerator().generate(
        GenerationRequest("Đỉnh Fansipan cao bao nhiêu mét?", SOURCES)
    )
    assert "3.143 mét. [1]" in result.answer
    assert all(c["marker"] == 1 and c["source_id"] == "p1" for c in result.citations)
    strict = ExtractiveGenerator().generate(
        GenerationRequest("Đỉnh Fansipan cao bao nhiêu mét?", SOURCES, strict=True)
    )
    assert strict.answer == "Đỉnh núi cao khoảng 3.143 mét. [1]"
    assert ExtractiveGenerator().generate(GenerationRequest("x", [])).answer == ""
    pieces: list[str] = []
    streamed = ExtractiveGenerator().generate(
        GenerationRequest("Hồ Hoàn Kiếm ở đâu?", SOURCES), pieces.append
    )
    assert len(pieces) >= 1 and "".join(pieces) == streamed.answer


def test_citation_parsing_drops_markers_without_a_source():
    request = GenerationRequest("q", SOURCES)
    answer, citations = parse_citations(
        "Fansipan cao 3.143 mét [1] [7]. Hà Nội là thủ đô. [2]", request
    )
    assert answer == "Fansipan cao 3.143 mét [1]. Hà Nội là thủ đô. [2]"
    assert [(c["marker"], c["source_id"]) for c in citations] == [(1, "p1"), (2, "p2")]
    prompt = build_prompt(GenerationRequest("Núi nào cao nhất?", SOURCES, strict=True))
    assert prompt.index("[1] Đỉnh Fansipan:") < prompt.index("[2] Hà Nội:")
    assert "Câu hỏi: Núi nào cao nhất?" in prompt and "không suy đoán" in prompt


@pytest.fixture(scope="module")
def tiny_mpt(tmp_path_factory):
    return write_tiny_mpt(tmp_path_factory.mktemp("tiny-mpt"))


def test_phogpt_prompt_format_is_what_training_writes(tiny_mpt):
    """The template the product installs when it loads PhoGPT renders a turn byte for byte as
    the training data writes it: a fine-tune sees the prompt it will be asked with."""
    from tools.generate.phogpt import load_model_and_tokenizer
    from tools.generate.prompts import ANSWER_PROMPT
    from tools.text.citations import number_sources
    from training.data import make_prompt

    settings = GeneratorSettings(kind="phogpt", model=str(tiny_mpt), device="cpu")
    _, tokenizer = load_model_and_tokenizer(settings)
    sources = [("Núi", "Fansipan cao 3.143 mét."), ("Biển", "Vịnh Hạ Long có gần 2.000 đảo.")]
    question = "Núi nào cao nhất?"
    instruction = ANSWER_PROMPT.format(sources=number_sources(sources), question=question)
    rendered = tokenizer.apply_chat_template(
        [{"role": "system", "content": "bỏ qua"}, {"role": "user", "content": instruction}],
        tokenize=False,
        add_generation_prompt=True,
    )
    assert rendered == make_prompt(question, sources)
    assert rendered.startswith("### Câu hỏi: ") and rendered.endswith("\n### Trả lời:")
    assert "bỏ qua" not in rendered  # PhoGPT has no system role


def test_phogpt_loads_generates_and_streams(tiny_mpt):
    settings = GeneratorSettings(
        kind="phogpt", model=str(tiny_mpt), device="cpu", max_tokens=6, temperature=0.0
    )
    generator = build_generator(settings)
    assert generator.name == "phogpt" and generator.is_model
    request = GenerationRequest("Núi nào cao nhất?", SOURCES, max_tokens=6, temperature=0.0)
    result = generator.generate(request)
    pieces: list[str] = []
    streamed = generator.generate(request, on_token=pieces.append)
    # greedy decoding: the streamed tokens make the same answer as the one-shot call
    assert pieces and parse_citations("".join(pieces), request)[0] == streamed.answer
    assert streamed.answer == result.answer and result.generator == "phogpt"
    assert 1 <= streamed.tokens <= 6  # max_tokens reaches the model
    # A request's own budget and temperature reach the pipeline (not only the settings').
    short = generator.generate(
        GenerationRequest("Núi nào cao nhất?", SOURCES, max_tokens=2, temperature=0.0),
        on_token=lambda _: None,
    )
    assert 1 <= short.tokens <= 2


def test_phogpt_decodes_with_its_kv_cache_and_counts_one_shot_tokens(tiny_mpt):
    """MPT configs say use_cache: false; the product turns the cache on, so after the prompt each
    forward pass reads one new token, and greedy answers are the same as without it."""
    settings = GeneratorSettings(
        kind="phogpt", model=str(tiny_mpt), device="cpu", max_tokens=6, temperature=0.0
    )
    generator = build_generator(settings)
    assert isinstance(generator, ChatModelGenerator)
    model = generator.chat_model.llm.pipeline.model  # type: ignore[attr-defined]
    fed: list[int] = []

    def record(module, args, kwargs):
        ids = kwargs.get("input_ids", args[0] if args else None)
        fed.append(ids.shape[1])

    hook = model.register_forward_pre_hook(record, with_kwargs=True)
    try:
        request = GenerationRequest("Núi nào cao nhất?", SOURCES, max_tokens=6, temperature=0.0)
        cached = generator.generate(request)
        prompt, *steps = fed
        assert prompt > 1 and steps and set(steps) == {1}, fed
        # The one-shot answer carries no usage: its length in the model's own tokens (was 0).
        assert 1 <= cached.tokens <= 6
        fed.clear()
        model.generation_config.use_cache = False
        uncached = generator.generate(request)
        assert fed[1:] and min(fed[1:]) > prompt  # the whole sequence again, every step
        assert uncached.answer == cached.answer
    finally:
        hook.remove()
        model.generation_config.use_cache = True


def test_phogpt_computes_in_the_dtype_its_quantization_wants():
    """LLM.int8 multiplies in float16 (bfloat16 inputs are cast, with a warning per layer and
    token); nf4 and full precision use bfloat16 on CUDA; the CPU float32."""
    from tools.generate.phogpt import compute_dtype

    assert compute_dtype("8bit", "cuda:0") == torch.float16
    assert compute_dtype("4bit", "cuda") == compute_dtype("none", "cuda") == torch.bfloat16
    assert compute_dtype("8bit", "cpu") == compute_dtype("none", "cpu") == torch.float32


def test_phogpt_loads_a_lora_adapter(tiny_mpt, tmp_path):
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import AutoModelForCausalLM

    from tools.generate.phogpt import load_model_and_tokenizer

    base = AutoModelForCausalLM.from_pretrained(tiny_mpt)
    config = LoraConfig(
        r=4,
        lora_alpha=8,
        target_modules=["Wqkv", "out_proj", "up_proj", "down_proj"],
        init_lora_weights=False,
        task_type="CAUSAL_LM",
    )
    get_peft_model(base, config).save_pretrained(tmp_path / "adapter")
    settings = GeneratorSettings(
        kind="phogpt", model=str(tiny_mpt), device="cpu", adapter_path=str(tmp_path / "adapter")
    )
    model, tokenizer = load_model_and_tokenizer(settings)
    assert isinstance(model, PeftModel)
    assert any("Wqkv.lora_A" in n for n, _ in model.named_parameters())
    ids = tokenizer("Hà Nội là thủ đô", return_tensors="pt")
    plain, _ = load_model_and_tokenizer(
        GeneratorSettings(kind="phogpt", model=str(tiny_mpt), device="cpu")
    )
    with torch.no_grad():
        assert not torch.allclose(model(**ids).logits, plain(**ids).logits)


class _OpenAIHandler(BaseHTTPRequestHandler):
    requests: list = []

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append((self.path, body))
        answer = "Fansipan cao khoảng 3.143 mét [1]."
        if body.get("stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for piece in ["Fansipan cao", " khoảng 3.143 mét", " [1]."]:
                chunk = {
                    "id": "c",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": body["model"],
                    "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
                }
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")
            return
        payload = {
            "id": "c",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": answer},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 50, "completion_tokens": 9, "total_tokens": 59},
        }
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def openai_server():
    server = HTTPServer(("127.0.0.1", 0), _OpenAIHandler)
    _OpenAIHandler.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()
    server.server_close()


def test_openai_compatible_server(openai_server):
    settings = GeneratorSettings(
        kind="openai", base_url=openai_server, model="vinai/PhoGPT-4B-Chat"
    )
    generator = build_generator(settings)
    result = generator.generate(
        GenerationRequest("Fansipan cao bao nhiêu?", SOURCES, max_tokens=64)
    )
    assert result.answer == "Fansipan cao khoảng 3.143 mét [1]."
    assert result.citations[0]["source_id"] == "p1" and result.tokens == 9
    path, body = _OpenAIHandler.requests[0]
    assert path == "/v1/chat/completions" and body["model"] == "vinai/PhoGPT-4B-Chat"
    assert [m["role"] for m in body["messages"]] == ["user"]  # PhoGPT has no system role
    assert body.get("max_completion_tokens", body.get("max_tokens")) == 64
    pieces: list[str] = []
    result = generator.generate(
        GenerationRequest("Fansipan cao bao nhiêu?", SOURCES), pieces.append
    )
    streamed = "".join(pieces)
    assert (
        len(pieces) == 3 and result.answer == streamed and result.citations[0]["source_id"] == "p1"
    )
    assert streamed == "Fansipan cao khoảng 3.143 mét [1]."


@pytest.mark.parametrize(
    ("tokens", "seconds", "first_token_s", "expected"),
    [
        (11, 3.0, 1.0, 5.0),  # streamed: 10 tokens after the first, in the 2 s after it
        (10, 2.0, None, 5.0),  # one-shot: the whole call
        (1, 2.0, 1.0, None),  # one streamed token: no decoding to time
        (0, 2.0, None, None),  # no model tokens (the extractive answerer)
    ],
)
def test_decode_speed_leaves_out_the_prompt_when_streamed(tokens, seconds, first_token_s, expected):
    generation = Generation("", tokens=tokens, seconds=seconds, first_token_s=first_token_s)
    assert generation.tokens_per_s == expected

"""PhoGPT-4B-Chat (MPT) through transformers: trust_remote_code, bitsandbytes 4/8-bit on CUDA,
bf16 on CUDA or fp32 on CPU, an optional PEFT LoRA adapter, wrapped as a LangChain chat model
(ChatHuggingFace over HuggingFacePipeline) so tokens stream through LangGraph."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from tools.generate.base import GenerationRequest
from tools.settings import GeneratorSettings

log = logging.getLogger(__name__)

# PhoGPT's turn format, in one place: inference renders it through the chat template below
# (installed when a tokenizer ships without one), training writes it with `user_turn`; a test
# checks that the two are byte-identical.
USER_TURN = "### Câu hỏi: {instruction}\n### Trả lời:"
PHOGPT_CHAT_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] == 'user' %}"
    + USER_TURN.replace("{instruction}", "{{ message['content'].strip() }}")
    + "{% elif message['role'] == 'assistant' %} {{ message['content'].strip() }}\n"
    "{% endif %}{% endfor %}"
)


def user_turn(instruction: str) -> str:
    """One user turn as PhoGPT's chat template renders it (no system role: it is dropped)."""
    return USER_TURN.format(instruction=instruction.strip())


def bitsandbytes_config(quantization: str) -> Any:
    """nf4 with double quantisation and bf16 compute for "4bit", LLM.int8 for "8bit": the same
    for inference and for QLoRA training."""
    import torch
    from transformers import BitsAndBytesConfig

    if quantization == "4bit":
        return BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16,
        )
    return BitsAndBytesConfig(load_in_8bit=True)


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def quantization_config(settings: GeneratorSettings, device: str) -> Any | None:
    if settings.quantization == "none":
        return None
    if not device.startswith("cuda"):
        log.warning(
            "quantization %s needs CUDA: loading full precision on %s",
            settings.quantization,
            device,
        )
        return None
    return bitsandbytes_config(settings.quantization)


def compute_dtype(quantization: str, device: str) -> Any:
    """The dtype the weights that stay unquantised and the activations use. LLM.int8 computes in
    float16: in bfloat16 it casts every layer's input on every token and says so each time."""
    import torch

    if not device.startswith("cuda"):
        return torch.float32
    return torch.float16 if quantization == "8bit" else torch.bfloat16


def load_model_and_tokenizer(settings: GeneratorSettings, adapter_path: str | None = None):
    """The real loading path; tests run it on a tiny random MPT saved to disk."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = resolve_device(settings.device)
    quant = quantization_config(settings, device)
    tokenizer = AutoTokenizer.from_pretrained(
        settings.model, revision=settings.revision, trust_remote_code=True
    )
    if not getattr(tokenizer, "chat_template", None):
        tokenizer.chat_template = PHOGPT_CHAT_TEMPLATE
    kwargs: dict[str, Any] = {"revision": settings.revision, "trust_remote_code": True}
    kwargs["dtype"] = compute_dtype(settings.quantization if quant is not None else "none", device)
    if quant is not None:
        kwargs.update(quantization_config=quant, device_map={"": device})
    model: Any = AutoModelForCausalLM.from_pretrained(settings.model, **kwargs)
    if quant is None:
        model = model.to(device)
    # MPT configs (PhoGPT's included) say use_cache: false, and generate() then re-reads the
    # whole prompt for every new token: 3.5 tok/s instead of 34 on an H200 at 3,900 tokens.
    model.config.use_cache = True
    model.generation_config.use_cache = True
    adapter = adapter_path or settings.adapter_path
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter)
        log.info("LoRA adapter loaded from %s", adapter)
    model.eval()
    log.info(
        "PhoGPT model %s loaded on %s (quantization %s)",
        settings.model,
        device,
        settings.quantization,
    )
    return model, tokenizer


def build_phogpt_chat_model(settings: GeneratorSettings, adapter_path: str | None = None):
    from langchain_huggingface import ChatHuggingFace, HuggingFacePipeline
    from transformers import pipeline

    model, tokenizer = load_model_and_tokenizer(settings, adapter_path)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    generate = pipeline(
        "text-generation",
        model=model,
        tokenizer=tokenizer,
        max_new_tokens=settings.max_tokens,
        do_sample=settings.temperature > 0,
        temperature=settings.temperature if settings.temperature > 0 else None,
        return_full_text=False,
    )
    generate.model.generation_config.use_cache = True  # the pipeline may copy the config
    llm = HuggingFacePipeline(pipeline=generate)
    return ChatHuggingFace(llm=llm, tokenizer=tokenizer, model_id=settings.model)


def pipeline_arguments(request: GenerationRequest) -> dict[str, Any]:
    """A request's temperature and token budget, as the transformers pipeline takes them at
    call time (it ignores OpenAI-style `temperature` / `max_tokens`)."""
    sampled = request.temperature > 0
    return {
        "pipeline_kwargs": {
            "max_new_tokens": request.max_tokens,
            "do_sample": sampled,
            "temperature": request.temperature if sampled else None,
        }
    }


def token_counter(chat_model: Any) -> Callable[[str], int] | None:
    """The answer's length in the model's own tokens: the local pipeline reports no usage."""
    tokenizer = getattr(chat_model, "tokenizer", None)
    if tokenizer is None:
        return None
    return lambda text: len(tokenizer(text, add_special_tokens=False).input_ids)

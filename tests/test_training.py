"""Training on CPU in seconds, on a tiny random MPT and tokenizer the tests build: data building,
loss masking, a few steps that lower the loss, save / manifest / reload / promote, the generator
answering through the promoted adapter, resume, 4-bit (bitsandbytes on CPU), merge, and the
comparison with the current adapter."""

import json
from pathlib import Path

import pytest
import torch

from tests.helpers import write_tiny_mpt
from training.arguments import DataArguments, LoraArguments, ModelArguments, TrainArguments
from training.data import (
    Example,
    build_examples,
    from_shared,
    from_user_jsonl,
    make_prompt,
    write_examples,
)
from training.sft import main, tokenize

pytestmark = pytest.mark.slow

SENTENCE = "Fansipan là ngọn núi cao nhất Việt Nam, cao khoảng 3.143 mét."


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return write_tiny_mpt(tmp_path_factory.mktemp("tiny-mpt"))


@pytest.fixture
def shared_slice(shared_data, tmp_path):
    """The first 12 paragraphs of the shared data and their questions, as small files."""
    corpus = [
        json.loads(x) for x in (shared_data / "corpus.jsonl").read_text("utf-8").splitlines()
    ][:12]
    ids = {p["id"] for p in corpus}
    queries = [
        json.loads(x) for x in (shared_data / "queries.jsonl").read_text("utf-8").splitlines()
    ]
    queries = [q for q in queries if q["positive_ids"][0] in ids][:24]
    (tmp_path / "corpus.jsonl").write_text(
        "\n".join(json.dumps(p, ensure_ascii=False) for p in corpus), "utf-8"
    )
    (tmp_path / "queries.jsonl").write_text(
        "\n".join(json.dumps(q, ensure_ascii=False) for q in queries), "utf-8"
    )
    return (
        tmp_path / "corpus.jsonl",
        tmp_path / "queries.jsonl",
        {p["id"]: p for p in corpus},
        queries,
    )


def test_shared_examples_hold_the_positive_among_distractors(settings, shared_slice):
    corpus, queries, passages, rows = shared_slice
    examples = list(from_shared(settings, corpus, queries, distractors=2))
    assert len(examples) == len(rows)
    for example, query in zip(examples, rows, strict=True):
        assert example.prompt.startswith("### Câu hỏi: ") and example.prompt.endswith(
            "### Trả lời:"
        )
        assert "[3] " in example.prompt and "[4] " not in example.prompt  # positive + 2 distractors
        marker = int(example.completion.rsplit("[", 1)[1].rstrip("]"))
        positive = passages[query["positive_ids"][0]]
        block = example.prompt.split(f"[{marker}] ", 1)[1]
        assert block.startswith(f"{positive['title']}: {positive['text'][:40]}")
        assert query["answers"][0] in example.completion
    train, held_out, report = build_examples([examples], eval_fraction=0.25)
    assert report.kept + report.duplicates == 24 and len(train) + len(held_out) == report.kept
    assert len(held_out) == round(report.kept * 0.25)


def test_bad_lines_are_reported_with_their_numbers(tmp_path):
    user = tmp_path / "mine.jsonl"
    user.write_text(
        "\n".join(
            [
                json.dumps(
                    {"question": "Núi nào cao nhất?", "context": SENTENCE, "answer": "Fansipan"},
                    ensure_ascii=False,
                ),
                "{broken",
                json.dumps(
                    {"question": "Thiếu câu trả lời?", "context": SENTENCE}, ensure_ascii=False
                ),
                json.dumps(
                    {"question": "Núi nào cao nhất?", "context": SENTENCE, "answer": "Fansipan"},
                    ensure_ascii=False,
                ),
                json.dumps(
                    {
                        "question": "What?",
                        "context": "English only here.",
                        "answer": "Nothing at all",
                    }
                ),
            ]
        ),
        "utf-8",
    )
    train, held_out, report = build_examples([from_user_jsonl(user)], eval_fraction=0)
    assert report.kept == 1 and report.duplicates == 1 and train[0].completion == " Fansipan [1]"
    assert report.problems == [
        f"{user}:2: invalid JSON (Expecting property name enclosed in double quotes)",
        f"{user}:3: needs question, context and answer",
        f"{user}:5: not Vietnamese",
    ]


def test_length_filter_and_loss_mask(tiny):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny)
    example = Example(
        make_prompt("Núi nào cao nhất?", [("Núi", SENTENCE)]), " Fansipan [1]", "x", SENTENCE
    )
    count = lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])  # noqa: E731
    _, _, report = build_examples([[example]], count, max_tokens=5, eval_fraction=0)
    assert report.kept == 0 and "over max_tokens 5" in report.problems[0]
    [row] = tokenize([example], tokenizer, max_length=512)
    prompt_len = len(tokenizer(example.prompt, add_special_tokens=False)["input_ids"])
    assert row["labels"][:prompt_len] == [-100] * prompt_len
    assert (
        row["labels"][prompt_len:] == row["input_ids"][prompt_len:]
        and row["labels"][-1] == tokenizer.eos_token_id
    )


def _arguments(tiny, tmp_path, **train):
    example = Example(
        make_prompt("Núi nào cao nhất Việt Nam?", [("Núi", SENTENCE)]),
        " Fansipan cao 3.143 mét [1]",
        "x",
    )
    write_examples(tmp_path / "train.jsonl", [example] * 8)
    write_examples(tmp_path / "eval.jsonl", [example])
    options = {
        "name": "tiny-lora",
        "runs_dir": str(tmp_path / "runs"),
        "adapters_dir": str(tmp_path / "adapters"),
        "max_steps": 12,
        "learning_rate": 5e-3,
        "per_device_train_batch_size": 4,
        "gradient_accumulation_steps": 1,
        "logging_steps": 2,
        "eval_steps": 6,
        "save_steps": 6,
        "warmup_steps": 0.0,
        "activation_checkpointing": False,
    }
    options.update(train)
    return (
        ModelArguments(model_name_or_path=str(tiny), quantization="none"),
        DataArguments(
            train_file=str(tmp_path / "train.jsonl"),
            eval_file=str(tmp_path / "eval.jsonl"),
            max_length=512,
        ),
        LoraArguments(lora_r=8, lora_alpha=16, lora_dropout=0.0),
        TrainArguments(**options),
    )


def _loss(model, tokenizer, tmp_path) -> float:
    from training.data import read_examples
    from training.sft import PadCollator

    batch = PadCollator(tokenizer.pad_token_id)(
        tokenize(read_examples(tmp_path / "train.jsonl")[:1], tokenizer, 512)
    )
    with torch.no_grad():
        return float(model(**batch).loss)


def test_training_lowers_the_loss_and_saves_a_reloadable_adapter(tiny, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny)
    args = _arguments(tiny, tmp_path)
    before = _loss(AutoModelForCausalLM.from_pretrained(tiny), tokenizer, tmp_path)
    adapter = main(*args)
    manifest = json.loads((adapter / "manifest.json").read_text("utf-8"))
    assert (
        manifest["base_model"] == str(tiny)
        and manifest["steps"] == 12
        and manifest["quantization"] == "none"
    )
    assert (
        manifest["train_examples"] == 8
        and manifest["eval_loss"] is not None
        and len(manifest["data_hash"]) == 16
    )
    assert manifest["settings"]["LoraArguments"]["lora_target_modules"] == [
        "Wqkv",
        "out_proj",
        "up_proj",
        "down_proj",
    ]
    reloaded = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny), str(adapter))
    after = _loss(reloaded, tokenizer, tmp_path)
    assert after < before * 0.85, (before, after)  # 12 steps on one repeated example
    log = [
        json.loads(x)
        for x in (tmp_path / "runs" / "tiny-lora" / "metrics.jsonl").read_text().splitlines()
    ]
    assert any("loss" in r for r in log) and any("eval_loss" in r for r in log)
    assert (tmp_path / "runs" / "tiny-lora" / "checkpoint-12").is_dir()


def test_resume_from_the_latest_checkpoint(tiny, tmp_path):
    main(*_arguments(tiny, tmp_path, max_steps=6))
    adapter = main(*_arguments(tiny, tmp_path, max_steps=12, resume_from_checkpoint="latest"))
    state = json.loads(
        (tmp_path / "runs" / "tiny-lora" / "checkpoint-12" / "trainer_state.json").read_text()
    )
    steps = [r["step"] for r in state["log_history"] if "loss" in r]
    assert (
        steps[0] <= 6 < steps[-1]
        and json.loads((adapter / "manifest.json").read_text())["steps"] == 12
    )


def test_qlora_4bit_path_with_bitsandbytes_on_cpu(tiny, tmp_path):
    model_args, data, lora, train = _arguments(
        tiny, tmp_path, max_steps=2, activation_checkpointing=True
    )
    model_args.quantization = "4bit"
    adapter = main(model_args, data, lora, train)
    assert json.loads((adapter / "manifest.json").read_text())["quantization"] == "4bit"
    assert (adapter / "adapter_model.safetensors").is_file()


def test_promote_then_the_generator_loads_it_and_merge(tiny, tmp_path, settings):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from tools.adapters import list_adapters, promote, promoted_adapter
    from tools.services import build_services
    from training.merge import merge

    model_args, data, lora, train = _arguments(tiny, tmp_path, max_steps=4)
    train.adapters_dir = str(settings.data_dir / "adapters")
    adapter = main(model_args, data, lora, train)
    with pytest.raises(FileNotFoundError, match="no manifest.json"):
        promote(settings, "nope")
    promote(settings, "tiny-lora")
    assert promoted_adapter(settings) == str(adapter.resolve())
    assert [a["promoted"] for a in list_adapters(settings)] == [True]
    configured = settings.model_copy(
        update={
            "generator": settings.generator.model_copy(
                update={"kind": "phogpt", "model": str(tiny), "device": "cpu", "max_tokens": 4}
            )
        }
    )
    services = build_services(configured, location=":memory:", embedder=None)
    try:
        loaded = services.generator.chat_model.llm.pipeline.model
        assert isinstance(loaded, PeftModel)
        from graph import build_graph
        from tools.corpus.documents import Document
        from tools.ingest.pipeline import ingest_documents

        ingest_documents([Document("f", "Núi", SENTENCE, "f")], services.retrieval.kb, configured)
        result = build_graph(services=services).invoke({"question": "Núi nào cao nhất Việt Nam?"})
        generate = next(p for p in result["path"] if p["node"] == "generate")
        assert generate["generator"] == "phogpt" and generate["model"] is True
    finally:
        services.close()
    out = merge(adapter, tmp_path / "merged")
    merged = AutoModelForCausalLM.from_pretrained(out)
    with_adapter = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(tiny), str(adapter)
    )
    ids = torch.tensor([[5, 6, 7, 8]])
    with torch.no_grad():
        assert torch.allclose(merged(ids).logits, with_adapter(ids).logits, atol=1e-4)


def test_training_ends_with_a_comparison_against_the_current_model(tiny, tmp_path, shared_slice):
    corpus, queries, _, _ = shared_slice
    model_args, data, lora, train = _arguments(
        tiny, tmp_path, max_steps=2, eval_limit=3, eval_max_tokens=8
    )
    train.eval_corpus, train.eval_queries = str(corpus), str(queries)
    adapter = main(model_args, data, lora, train)
    comparison = json.loads((adapter / "comparison.json").read_text("utf-8"))
    metrics = {m["metric"] for m in comparison["metrics"]}
    assert "answers.contains_gold" in metrics and "latency.end_to_end.p50_ms" in metrics
    assert any(
        c["setting"] == "settings.generator.adapter_path" for c in comparison["config_changes"]
    )
    assert "Metrics (a -> b, change):" in (adapter / "comparison.txt").read_text("utf-8")


def test_train_commands_from_the_command_line(tiny, tmp_path, vinarag):
    import yaml

    user = tmp_path / "mine.jsonl"
    record = {"question": "Núi nào cao nhất Việt Nam?", "context": SENTENCE, "answer": "Fansipan"}
    user.write_text("\n".join([json.dumps(record, ensure_ascii=False)] * 3 + ["{oops"]), "utf-8")
    built = vinarag(
        "train",
        "data",
        "--jsonl",
        str(user),
        "--out",
        str(tmp_path / "sft"),
        "--eval-fraction",
        "0",
    )
    assert built.returncode == 0, built.stderr
    assert (
        f"REJECTED {user}:4: invalid JSON" in built.stderr
        and "1 examples, 2 duplicates dropped" in built.stdout
    )
    config = tmp_path / "training.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "model_name_or_path": str(tiny),
                "quantization": "none",
                "train_file": str(tmp_path / "sft" / "train.jsonl"),
                "eval_file": None,
                "max_steps": 50,
                "per_device_train_batch_size": 1,
                "gradient_accumulation_steps": 1,
                "activation_checkpointing": False,
                "name": "cli-lora",
            }
        ),
        "utf-8",
    )
    trained = vinarag(
        "train", "lora", "--config", str(config), "--max_steps", "2", "--save_steps", "1"
    )
    assert trained.returncode == 0, trained.stderr[-2000:]
    listing = vinarag("train", "list")
    assert "cli-lora" in listing.stdout and listing.stdout.startswith(" ")  # not promoted yet
    manifest = json.loads(
        next((tmp_path / "data" / "adapters").glob("cli-lora/manifest.json")).read_text()
    )
    assert manifest["steps"] == 2  # the command line (2) won over the YAML (50)
    assert vinarag("train", "promote", "cli-lora").returncode == 0
    assert vinarag("train", "list").stdout.startswith("*")
    assert vinarag("train", "promote", "nope").returncode == 1
    config.write_text("not_a_setting: 1\n", "utf-8")
    bad = vinarag("train", "lora", "--config", str(config))
    assert bad.returncode == 2 and "unknown setting(s) not_a_setting" in bad.stderr


def test_list_marks_the_promoted_adapter_with_a_relative_data_dir(tmp_path, monkeypatch):
    """promote() records a resolved path; the default data_dir ("data") is relative."""
    from tools.adapters import adapters_dir, list_adapters, promote
    from tools.settings import load_settings

    monkeypatch.chdir(tmp_path)
    relative = load_settings(data_dir="data")
    for name in ("a-lora", "b-lora"):
        folder = adapters_dir(relative) / name
        folder.mkdir(parents=True)
        (folder / "manifest.json").write_text(json.dumps({"base_model": "x"}), "utf-8")
    promote(relative, "b-lora")
    assert [(a["path"], a["promoted"]) for a in list_adapters(relative)] == [
        ("data/adapters/a-lora", False),
        ("data/adapters/b-lora", True),
    ]


def test_arguments_are_the_librarys_training_arguments_with_our_defaults(tmp_path):
    """TrainArguments extends TrainingArguments: any of its fields can be set in YAML; the
    project's defaults and the data-dir folders apply under the YAML and the command line."""
    from transformers import TrainingArguments

    from training.sft import parse_arguments

    config = tmp_path / "training.yaml"
    config.write_text("weight_decay: 0.1\nname: mine\nlearning_rate: 0.001\n", "utf-8")
    folders = {"runs_dir": str(tmp_path / "runs"), "adapters_dir": str(tmp_path / "adapters")}
    *_, train = parse_arguments(["--learning_rate", "0.01"], str(config), folders)
    assert isinstance(train, TrainingArguments)
    assert train.weight_decay == 0.1 and train.learning_rate == 0.01  # command line over YAML
    assert train.output_dir == str(tmp_path / "runs" / "mine")
    assert train.adapters_root == tmp_path / "adapters"
    assert train.lr_scheduler_type == "cosine" and train.warmup_steps == 0.03
    assert train.remove_unused_columns is False and train.activation_checkpointing is True
    *_, off = parse_arguments(["--gradient_checkpointing", "false"], None, folders)
    assert off.activation_checkpointing is False  # the old name still turns it off
    config.write_text("warmup_ratio: 0.1\n", "utf-8")
    with pytest.raises(ValueError, match="warmup_ratio: now warmup_steps"):
        parse_arguments([], str(config))

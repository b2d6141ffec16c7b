"""LoRA / QLoRA fine-tuning of PhoGPT (MPT) on grounded-answer examples.

Examples:
    vinarag train data --shared-corpus ../shared/data/xquad-vi/corpus.jsonl \\
        --shared-queries ../shared/data/xquad-vi/queries.jsonl --out data/sft
    vinarag train lora --config configs/training.yaml
    vinarag train lora --config configs/training.yaml --max_steps 200 --learning_rate 1e-4
    accelerate launch -m training.sft --config configs/training.yaml   # several GPUs
    vinarag train promote phogpt-lora && vinarag train merge phogpt-lora --out data/merged
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import yaml

from tools.adapters import promoted_in
from training.arguments import DataArguments, LoraArguments, ModelArguments, TrainArguments
from training.data import read_examples

log = logging.getLogger(__name__)
ARGUMENTS = (ModelArguments, DataArguments, LoraArguments, TrainArguments)


RENAMED = {"warmup_ratio": "warmup_steps (a value below 1 is a ratio of the steps)"}


def parse_arguments(
    argv: list[str], config: str | None = None, defaults: dict[str, Any] | None = None
) -> tuple[ModelArguments, DataArguments, LoraArguments, TrainArguments]:
    """Defaults < `defaults` (e.g. folders under the data dir) < YAML (--config) < command line
    (--key value)."""
    from transformers import HfArgumentParser
    from transformers.hf_argparser import DataClassType

    parser = HfArgumentParser([DataClassType(cls) for cls in ARGUMENTS])
    values = dict(defaults or {})
    if config:
        given = yaml.safe_load(Path(config).read_text("utf-8")) or {}
        renamed = [f"{k}: now {RENAMED[k]}" for k in given if k in RENAMED and given[k] is not None]
        known = {f for cls in ARGUMENTS for f in cls.__dataclass_fields__}
        unknown = sorted(set(given) - known - set(RENAMED))
        if renamed or unknown:
            problems = renamed + ([f"unknown setting(s) {', '.join(unknown)}"] if unknown else [])
            raise ValueError(f"{config}: {'; '.join(problems)}")
        values.update({k: v for k, v in given.items() if k not in RENAMED})
    parser.set_defaults(**values)
    model_args, data_args, lora, train = parser.parse_args_into_dataclasses(args=argv)
    return model_args, data_args, lora, train


def resolve_quantization(requested: str, cuda: bool) -> str:
    """auto: 4-bit (QLoRA) on CUDA, full precision on CPU."""
    if requested == "auto":
        return "4bit" if cuda else "none"
    return requested


def load_base(model_args: ModelArguments, quantization: str) -> tuple[Any, Any]:
    """The base model (quantised when asked) and its tokenizer, with a pad token."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tools.generate.phogpt import bitsandbytes_config

    cuda = torch.cuda.is_available()
    tokenizer = AutoTokenizer.from_pretrained(
        model_args.model_name_or_path,
        revision=model_args.revision,
        trust_remote_code=model_args.trust_remote_code,
    )
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    kwargs: dict[str, Any] = {
        "revision": model_args.revision,
        "trust_remote_code": model_args.trust_remote_code,
    }
    if quantization in ("4bit", "8bit"):
        kwargs["quantization_config"] = bitsandbytes_config(quantization)
    else:
        kwargs["dtype"] = torch.bfloat16 if cuda else torch.float32
    if quantization != "none":
        kwargs["device_map"] = {"": 0 if cuda else "cpu"}
    model = AutoModelForCausalLM.from_pretrained(model_args.model_name_or_path, **kwargs)
    model.config.use_cache = False
    return model, tokenizer


def add_lora(model: Any, lora: LoraArguments, quantization: str, checkpointing: bool) -> Any:
    """The model wrapped with trainable LoRA weights (prepared for k-bit training first)."""
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    if quantization != "none":
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=checkpointing)
    config = LoraConfig(
        r=lora.lora_r,
        lora_alpha=lora.lora_alpha,
        lora_dropout=lora.lora_dropout,
        target_modules=lora.lora_target_modules,
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)


def load_model(
    model_args: ModelArguments, lora: LoraArguments, checkpointing: bool
) -> tuple[Any, Any, str]:
    import torch

    quantization = resolve_quantization(model_args.quantization, torch.cuda.is_available())
    base, tokenizer = load_base(model_args, quantization)
    model = add_lora(base, lora, quantization, checkpointing)
    log.info("LoRA on %s (%s): %s", model_args.model_name_or_path, quantization, _trainable(model))
    return model, tokenizer, quantization


def _trainable(model) -> str:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return f"{trainable:,} of {total:,} parameters trainable"


def tokenize(examples, tokenizer, max_length: int) -> list[dict[str, list[int]]]:
    """Loss on the answer only: prompt tokens are labelled -100."""
    rows = []
    for example in examples:
        prompt = tokenizer(example.prompt, add_special_tokens=False)["input_ids"]
        answer = tokenizer(example.completion, add_special_tokens=False)["input_ids"] + [
            tokenizer.eos_token_id
        ]
        ids = (prompt + answer)[:max_length]
        labels = ([-100] * len(prompt) + answer)[:max_length]
        if all(label == -100 for label in labels):
            continue  # the prompt alone fills max_length: nothing to learn from
        rows.append({"input_ids": ids, "labels": labels})
    return rows


class PadCollator:
    def __init__(self, pad_token_id: int) -> None:
        self.pad = pad_token_id

    def __call__(self, rows: list[dict[str, list[int]]]) -> dict[str, Any]:
        import torch

        width = max(len(r["input_ids"]) for r in rows)
        ids = [r["input_ids"] + [self.pad] * (width - len(r["input_ids"])) for r in rows]
        labels = [r["labels"] + [-100] * (width - len(r["labels"])) for r in rows]
        mask = [[1] * len(r["input_ids"]) + [0] * (width - len(r["input_ids"])) for r in rows]
        return {
            "input_ids": torch.tensor(ids),
            "labels": torch.tensor(labels),
            "attention_mask": torch.tensor(mask),
        }


def _metrics_callback(path: Path):
    from transformers import TrainerCallback

    class JsonlMetrics(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs:
                with path.open("a", encoding="utf-8") as handle:
                    handle.write(
                        json.dumps({"step": state.global_step, "time": time.time(), **logs}) + "\n"
                    )

    return JsonlMetrics()


def _data_hash(*paths: str | None) -> str:
    digest = hashlib.sha256()
    for path in paths:
        if path and Path(path).is_file():
            digest.update(Path(path).read_bytes())
    return digest.hexdigest()[:16]


def tokenized_splits(data_args: DataArguments, tokenizer: Any) -> tuple[list, list]:
    """Train and held-out rows (no held-out rows without an eval file)."""
    train_rows = tokenize(
        read_examples(Path(data_args.train_file)), tokenizer, data_args.max_length
    )
    if not train_rows:
        raise ValueError(f"{data_args.train_file}: no usable training examples")
    eval_file = data_args.eval_file
    if not eval_file or not Path(eval_file).is_file():
        return train_rows, []
    return train_rows, tokenize(read_examples(Path(eval_file)), tokenizer, data_args.max_length)


def write_manifest(adapter: Path, manifest: dict[str, Any]) -> None:
    (adapter / "manifest.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False), "utf-8"
    )


def main(
    model_args: ModelArguments, data_args: DataArguments, lora: LoraArguments, train: TrainArguments
) -> Path:
    """Train, save the adapter with its manifest, and (when eval data is given) compare it with
    the current adapter or the base model. Returns the adapter folder."""
    from transformers import Trainer

    model, tokenizer, quantization = load_model(
        model_args, lora, bool(train.activation_checkpointing)
    )
    train_rows, eval_rows = tokenized_splits(data_args, tokenizer)
    run_dir = Path(str(train.output_dir))
    run_dir.mkdir(parents=True, exist_ok=True)
    arguments = replace(
        train,
        eval_strategy=train.eval_strategy if eval_rows else "no",
        bf16=model.device.type == "cuda",  # CPU runs (tests, 4-bit included) stay in fp32
    )
    trainer = Trainer(
        model=model,
        args=arguments,
        train_dataset=train_rows,
        eval_dataset=eval_rows or None,
        data_collator=PadCollator(tokenizer.pad_token_id),
        callbacks=[_metrics_callback(run_dir / "metrics.jsonl")],
    )
    resume = train.resume_from_checkpoint
    result = trainer.train(resume_from_checkpoint=True if resume == "latest" else resume)
    eval_loss = trainer.evaluate()["eval_loss"] if eval_rows else None
    adapter = train.adapters_root / train.name
    model.save_pretrained(adapter)
    write_manifest(
        adapter,
        {
            "name": train.name,
            "base_model": model_args.model_name_or_path,
            "revision": model_args.revision,
            "quantization": quantization,
            "data_hash": _data_hash(data_args.train_file, data_args.eval_file),
            "train_examples": len(train_rows),
            "eval_examples": len(eval_rows),
            "train_loss": result.training_loss,
            "eval_loss": eval_loss,
            "steps": result.global_step,
            "settings": {
                "ModelArguments": asdict(model_args),
                "DataArguments": asdict(data_args),
                "LoraArguments": asdict(lora),
                "TrainArguments": train.to_dict(),
            },
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        },
    )
    log.info("adapter %s: train loss %.4f, eval loss %s", adapter, result.training_loss, eval_loss)
    if train.eval_corpus and train.eval_queries:
        compare_with_current(adapter, model_args, train)
    return adapter


def _eval_run(out: Path, model_args: ModelArguments, train: TrainArguments, adapter: str) -> None:
    env = {
        **os.environ,
        "VINARAG_GENERATOR__KIND": "phogpt",
        "VINARAG_GENERATOR__MODEL": model_args.model_name_or_path,
        "VINARAG_GENERATOR__ADAPTER_PATH": adapter,
        "VINARAG_CACHE__ENABLED": "false",
        "VINARAG_GENERATOR__MAX_TOKENS": str(train.eval_max_tokens),
    }
    command = [
        sys.executable, "-m", "tools.cli", "--log-level", "WARNING", "eval", "rag",
        "--corpus", str(train.eval_corpus), "--queries", str(train.eval_queries),
        "--limit", str(train.eval_limit), "--no-ragas", "--quiet", "--json", str(out),
    ]  # fmt: skip
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"eval rag failed: {result.stderr[-800:]}")


def compare_with_current(adapter: Path, model_args: ModelArguments, train: TrainArguments) -> Path:
    """`vinarag eval rag` with the new adapter and with the current one (the promoted adapter,
    else the base model), then `vinarag eval compare`: written beside the adapter."""
    current = promoted_in(train.adapters_root) or ""
    _eval_run(adapter / "eval_current.json", model_args, train, current)
    _eval_run(adapter / "eval_new.json", model_args, train, str(adapter.resolve()))
    command = [
        sys.executable, "-m", "tools.cli", "eval", "compare",
        str(adapter / "eval_current.json"), str(adapter / "eval_new.json"),
        "--json", str(adapter / "comparison.json"),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    (adapter / "comparison.txt").write_text(result.stdout, "utf-8")
    log.info("comparison with %s:\n%s", current or "the base model", result.stdout)
    return adapter / "comparison.json"


if __name__ == "__main__":
    import argparse

    cli = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    cli.add_argument("--config", default=None)
    known, rest = cli.parse_known_args()
    logging.basicConfig(level=logging.INFO)
    model_args, data_args, lora, train = parse_arguments(rest, known.config)
    main(model_args, data_args, lora, train)

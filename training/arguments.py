"""Arguments for `vinarag train lora`, as dataclasses (the shape of TRL's sft.py): defaults here,
a YAML `--config` over them, and `--key value` on the command line over both."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal


@dataclass
class ModelArguments:
    model_name_or_path: str = "vinai/PhoGPT-4B-Chat"
    revision: str | None = None
    trust_remote_code: bool = True
    # auto: 4-bit (QLoRA) on CUDA, full precision on CPU; 4bit also runs on CPU (slowly).
    quantization: Literal["auto", "none", "4bit", "8bit"] = "auto"


@dataclass
class DataArguments:
    train_file: str = "data/sft/train.jsonl"
    eval_file: str | None = "data/sft/eval.jsonl"
    max_length: int = 2048


@dataclass
class LoraArguments:
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    # MPT's real modules (PhoGPT has no q_proj / v_proj).
    lora_target_modules: list[str] = field(
        default_factory=lambda: ["Wqkv", "out_proj", "up_proj", "down_proj"]
    )


@dataclass
class TrainArguments:
    name: str = "phogpt-lora"
    output_dir: str | None = None  # default: <data_dir>/training
    adapters_dir: str | None = None  # default: <data_dir>/adapters (where promote looks)
    num_train_epochs: float = 1.0
    max_steps: int = -1
    learning_rate: float = 2e-4
    per_device_train_batch_size: int = 4
    per_device_eval_batch_size: int = 4
    gradient_accumulation_steps: int = 4
    warmup_ratio: float = 0.03
    lr_scheduler_type: str = "cosine"
    gradient_checkpointing: bool = True
    logging_steps: int = 10
    eval_steps: int = 100
    save_steps: int = 100
    save_total_limit: int = 3
    seed: int = 0
    resume_from_checkpoint: str | None = None  # a checkpoint folder, or "latest"
    report_to: str = "none"  # or tensorboard / mlflow when installed and configured
    # After training: evaluate the new adapter against the current one on these (shared format).
    eval_corpus: str | None = None
    eval_queries: str | None = None
    eval_limit: int = 100
    eval_max_tokens: int = 256  # answer length during that comparison

    @property
    def output_root(self) -> Path:
        return Path(self.output_dir or "data/training")

    @property
    def adapters_root(self) -> Path:
        return Path(self.adapters_dir or "data/adapters")

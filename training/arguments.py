"""Arguments for `vinarag train lora`, as dataclasses (the shape of TRL's sft.py, whose SFTConfig
extends TrainingArguments the same way): defaults here, a YAML `--config` over them, and
`--key value` on the command line over both. Imports transformers: load it only to train."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from transformers import IntervalStrategy, SchedulerType, TrainingArguments


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
class TrainArguments(TrainingArguments):
    """transformers' TrainingArguments (every field of it can be set, in YAML or on the command
    line), with this project's defaults and what a run needs besides: where adapters go and the
    comparison with the current adapter after training."""

    name: str = "phogpt-lora"
    runs_dir: str | None = None  # default: <data_dir>/training; checkpoints in runs_dir/name
    adapters_dir: str | None = None  # default: <data_dir>/adapters (where promote looks)
    # After training: evaluate the new adapter against the current one on these (shared format).
    eval_corpus: str | None = None
    eval_queries: str | None = None
    eval_limit: int = 100
    eval_max_tokens: int = 256  # answer length during that comparison
    # The library's fields with this project's defaults.
    num_train_epochs: float = 1.0
    learning_rate: float = 2e-4
    per_device_train_batch_size: int = 4
    per_device_eval_batch_size: int = 4
    gradient_accumulation_steps: int = 4
    warmup_steps: float = 0.03  # below 1: a ratio of the total steps
    lr_scheduler_type: SchedulerType | str = "cosine"
    # activation_checkpointing: on unless this or its old name gradient_checkpointing says off
    activation_checkpointing_kwargs: dict[str, Any] | str | None = field(
        default_factory=lambda: {"use_reentrant": False}
    )
    logging_steps: float = 10
    eval_strategy: IntervalStrategy | str = "steps"  # "no" when there is no eval file
    eval_steps: float | None = 100
    save_steps: float = 100
    save_total_limit: int | None = 3
    seed: int = 0
    remove_unused_columns: bool = False  # the collator needs input_ids and labels
    # resume_from_checkpoint: a checkpoint folder, or "latest"

    def __post_init__(self) -> None:
        if self.activation_checkpointing is None and self.gradient_checkpointing is None:
            self.activation_checkpointing = True
        if self.output_dir is None:
            self.output_dir = str(Path(self.runs_dir or "data/training") / self.name)
        super().__post_init__()

    @property
    def adapters_root(self) -> Path:
        return Path(self.adapters_dir or "data/adapters")

"""Merge a LoRA adapter into its base model and save the result, for vLLM / TGI to serve."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from tools.adapters import read_manifest

log = logging.getLogger(__name__)


def merge(adapter: Path, out: Path) -> Path:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    manifest = read_manifest(adapter)
    base = manifest["base_model"]
    model = AutoModelForCausalLM.from_pretrained(
        base, revision=manifest.get("revision"), trust_remote_code=True, dtype=torch.float32
    )
    merged = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    out.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(out)
    AutoTokenizer.from_pretrained(
        base, revision=manifest.get("revision"), trust_remote_code=True
    ).save_pretrained(out)
    (out / "merged_from.json").write_text(
        json.dumps({**manifest, "adapter": str(adapter)}, indent=2), "utf-8"
    )
    log.info("merged %s into %s: %s", adapter, base, out)
    return out

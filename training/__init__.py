"""LoRA / QLoRA fine-tuning of PhoGPT whose adapters the generator loads."""

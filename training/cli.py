"""`vinarag train ...`: build SFT data, train a LoRA adapter, list, promote, merge."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from tools.settings import Settings

log = logging.getLogger(__name__)


def _data(args: argparse.Namespace, settings: Settings) -> int:
    from training.data import (
        build_examples,
        from_feedback,
        from_shared,
        from_user_jsonl,
        read_feedback,
        write_examples,
    )

    streams = []
    if args.shared_corpus and args.shared_queries:
        streams.append(
            from_shared(
                settings,
                Path(args.shared_corpus),
                Path(args.shared_queries),
                args.distractors,
                args.seed,
            )
        )
    streams += [from_user_jsonl(Path(p)) for p in args.jsonl]
    key = os.environ.get("VINARAG_API_KEY")
    try:
        streams += [
            from_feedback(read_feedback(source, key), settings.graph.grounding_threshold)
            for source in args.from_feedback
        ]
    except (ValueError, OSError) as exc:
        print(f"vinarag train data: --from-feedback: {exc}", file=sys.stderr)
        return 2
    if not streams:
        print(
            "vinarag train data: give --shared-corpus/--shared-queries, --jsonl or --from-feedback",
            file=sys.stderr,
        )
        return 2
    count = None
    if args.tokenizer:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(args.tokenizer, trust_remote_code=True)
        count = lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])  # noqa: E731
    train, held_out, report = build_examples(
        streams, count, args.max_tokens, args.min_vietnamese, args.eval_fraction, args.seed
    )
    out = Path(args.out)
    write_examples(out / "train.jsonl", train)
    write_examples(out / "eval.jsonl", held_out)
    for problem in report.problems:
        print(f"REJECTED {problem}", file=sys.stderr)
    print(f"{report.summary()}: {len(train)} train, {len(held_out)} held out, in {out}")
    return 0 if train else 1


def _lora(args: argparse.Namespace, settings: Settings) -> int:
    from tools.adapters import adapters_dir
    from training.sft import main, parse_arguments

    folders = {
        "runs_dir": str(settings.data_dir / "training"),
        "adapters_dir": str(adapters_dir(settings)),
    }
    try:
        model_args, data_args, lora, train = parse_arguments(args.overrides, args.config, folders)
    except (OSError, ValueError) as exc:  # a missing or bad --config, a bad value
        log.error("train lora: %s", exc)
        return 2
    adapter = main(model_args, data_args, lora, train)
    manifest = json.loads((adapter / "manifest.json").read_text("utf-8"))
    print(
        f"adapter {adapter}: train loss {manifest['train_loss']:.4f}, "
        f"eval loss {manifest['eval_loss']}"
    )
    if (adapter / "comparison.txt").is_file():
        print((adapter / "comparison.txt").read_text("utf-8"))
    return 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    from tools.adapters import list_adapters

    for adapter in list_adapters(settings):
        mark = "*" if adapter["promoted"] else " "
        print(
            f"{mark} {adapter['name']}\t{adapter['base_model']}\t"
            f"eval loss {adapter.get('eval_loss')}\t{adapter['date']}"
        )
    return 0


def _promote(args: argparse.Namespace, settings: Settings) -> int:
    from tools.adapters import promote

    try:
        folder = promote(settings, args.name)
    except FileNotFoundError as exc:
        print(f"vinarag train promote: {exc}", file=sys.stderr)
        return 1
    print(f"promoted {folder}: the phogpt generator loads it unless generator.adapter_path is set")
    return 0


def _merge(args: argparse.Namespace, settings: Settings) -> int:
    from tools.adapters import adapters_dir
    from training.merge import merge

    out = merge(adapters_dir(settings) / args.name, Path(args.out))
    print(f"merged model in {out} (serve it with vLLM or TGI)")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train", help="LoRA / QLoRA fine-tuning of PhoGPT")
    train = parser.add_subparsers(dest="train_command", metavar="TRAIN", required=True)

    p = train.add_parser(
        "data",
        help="build grounded-answer SFT examples (train.jsonl + eval.jsonl)",
        description="From a shared-format dataset (positive passage + retrieved distractors), "
        "your JSONL of question/context/answer, and users' feedback on the service's answers.",
    )
    p.add_argument("--shared-corpus")
    p.add_argument("--shared-queries")
    p.add_argument(
        "--jsonl", action="append", default=[], help='{"question","context","answer"} lines'
    )
    p.add_argument(
        "--from-feedback",
        action="append",
        default=[],
        metavar="FILE|URL",
        help="users' feedback: the export of GET /feedback, as a file or the URL itself "
        "(with the write key in VINARAG_API_KEY)",
    )
    p.add_argument("--out", default="data/sft")
    p.add_argument(
        "--tokenizer", default=None, help="filter by tokenized length with this tokenizer"
    )
    p.add_argument("--max-tokens", type=int, default=2048)
    p.add_argument("--min-vietnamese", type=float, default=0.3)
    p.add_argument("--eval-fraction", type=float, default=0.1)
    p.add_argument("--distractors", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_data)

    p = train.add_parser(
        "lora",
        help="train a LoRA adapter (QLoRA on CUDA)",
        description="Settings from --config (YAML), overridden by --key value pairs, e.g. "
        "--max_steps 100 --learning_rate 1e-4. See configs/training.yaml.",
    )
    p.add_argument("--config", default="configs/training.yaml")
    p.set_defaults(func=_lora, takes_extra_options=True, overrides=[])

    p = train.add_parser("list", help="adapters, with the promoted one marked *")
    p.set_defaults(func=_list)
    p = train.add_parser("promote", help="make an adapter the one the phogpt generator loads")
    p.add_argument("name")
    p.set_defaults(func=_promote)
    p = train.add_parser("merge", help="write base + adapter merged, for vLLM / TGI")
    p.add_argument("name")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_merge)

"""`vinarag data download NAME`: public evaluation data, converted to the shared format."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tools.settings import Settings


def _download(args: argparse.Namespace, settings: Settings) -> int:
    from evals.download import SOURCES, DownloadError, download

    out = Path(args.out) if args.out else settings.data_dir / "datasets"
    try:
        result = download(args.name, out, Path(args.source) if args.source else None)
    except DownloadError as exc:
        print(f"vinarag data download: {exc}", file=sys.stderr)
        return 1
    print(
        f"{result['dataset']}: {result['passages']} passages, {result['queries']} questions "
        f"in {result['folder']} (from {args.source or SOURCES[args.name]})"
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("data", help="evaluation datasets")
    data = parser.add_subparsers(dest="data_command", metavar="DATA", required=True)
    p = data.add_parser(
        "download",
        help="fetch a public dataset and convert it (corpus.jsonl + queries.jsonl)",
        description="Fetches the file from its public source (needs a network), or converts a "
        "copy on disk with --from; writes <out>/<name>/corpus.jsonl and queries.jsonl.",
    )
    p.add_argument("name", choices=["xquad-vi"])
    p.add_argument("--from", dest="source", default=None, help="convert this SQuAD JSON instead")
    p.add_argument("--out", default=None, help="default: <data_dir>/datasets")
    p.set_defaults(func=_download)

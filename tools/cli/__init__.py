"""`vinarag`: the command line. Each layer registers its own subcommands through the
`vinarag.commands` entry points (pyproject.toml), so this package never imports the layers above
`tools/` and `vinarag --help` still lists every command. The knowledge-base commands live here,
one module per command group (`documents`, `kb`, `sync`, `audit`), their shared argument types
in `arguments`."""

from __future__ import annotations

import argparse
import logging
import sys
from importlib.metadata import entry_points

from tools.errors import ServiceError
from tools.logs import configure_logging, disable_telemetry
from tools.settings import SettingsError, load_settings

log = logging.getLogger("vinarag")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vinarag",
        description="VinaSmol RAG: Vietnamese question answering over your own documents.",
    )
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING or ERROR")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for entry in sorted(entry_points(group="vinarag.commands"), key=lambda e: e.name):
        entry.load()(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        if not getattr(args, "takes_extra_options", False):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.overrides = extra
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"vinarag: {exc}", file=sys.stderr)
        return 2
    disable_telemetry()
    configure_logging(args.log_level or settings.log_level)
    try:
        return int(args.func(args, settings) or 0)
    except (SettingsError, ServiceError) as exc:
        log.error("%s", exc)
        return 2
    except KeyboardInterrupt:
        return 130

"""`vinarag serve`: the HTTP server (LangServe REST + playground, documents, metrics)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from typing import Any

from tools.settings import Settings

log = logging.getLogger("vinarag")


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    host = args.host or settings.server.host
    port = args.port or settings.server.port
    workers = args.workers or settings.server.workers
    if workers > 1:
        if not settings.qdrant.url:
            print(
                "vinarag serve: --workers > 1 needs a Qdrant server (QDRANT_URL); "
                "the local store admits one process",
                file=sys.stderr,
            )
            return 2
        # Each worker is its own process that builds the app from the environment: the only
        # channel uvicorn gives them. One worker gets the app built from these settings.
        os.environ.setdefault(
            "PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="vinarag-metrics-")
        )
        os.environ["VINARAG_SERVER__WORKERS"] = str(workers)
        app: Any = "server.main:create_app"
    else:
        from server.main import create_app

        app = create_app(settings)
    from server.protocol import bounded_protocol

    uvicorn.run(
        app,
        http=bounded_protocol(settings.server),
        factory=workers > 1,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level.lower(),
        access_log=args.access_log,
        # half the bound for open requests, half for the jobs and syncs (AppState.close)
        timeout_graceful_shutdown=max(int(settings.server.shutdown_timeout_s / 2), 1),
    )
    return 0


def _mcp(args: argparse.Namespace, settings: Settings) -> int:
    """The MCP tools over standard input and output (a desktop assistant starts this): the
    store opened here, so with the embedded store no server may hold it meanwhile."""
    from server.access import Caller, Keys
    from server.mcp_server import build_mcp
    from server.state import build_app_state

    caller = Caller("mcp-stdio", None, None)  # the local user, whose data folder this is
    if args.key:
        found = Keys(settings).identify(args.key)
        if found is None:
            log.error("--key is not one of api_keys")
            return 2
        caller = found
    state = build_app_state(settings)
    try:
        build_mcp(state, lambda _: caller).run("stdio")
    finally:
        state.close()
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "serve",
        help="start the HTTP server (REST, playground at /rag/playground/, /metrics)",
        description="Serves the graph through LangServe at /rag, documents at /documents, "
        "health at /healthz and /readyz, Prometheus metrics at /metrics.",
    )
    p.add_argument("--host", default=None, help="default: server.host (127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="default: server.port (8000)")
    p.add_argument("--workers", type=int, default=None, help="several need QDRANT_URL")
    p.add_argument("--access-log", action="store_true", help="log every request")
    p.set_defaults(func=_serve)

    p = subparsers.add_parser(
        "mcp",
        help="the knowledge base's MCP tools over stdio, for desktop assistants",
        description="Serves the tools of /mcp (search, ask, list_documents) over standard "
        "input and output, for an MCP client that starts this command. Without --key every "
        "collection is reachable (the local user's own data folder); with --key, what that "
        "key may read. Logs go to standard error.",
    )
    p.add_argument("--key", default=None, help="act with this API key's scope")
    p.set_defaults(func=_mcp)

    p = subparsers.add_parser(
        "keys",
        help="API keys: make one, or hash one for api_keys' key_sha256",
        description="`vinarag keys new NAME --read C... --write C...` prints a new random key "
        "(shown once) and the api_keys entry that stores only its SHA-256; `vinarag keys hash` "
        "reads a key from standard input and prints its SHA-256.",
    )
    keys = p.add_subparsers(dest="keys_command", metavar="KEYS", required=True)
    q = keys.add_parser("hash", help="the SHA-256 of a key read from standard input")
    q.set_defaults(func=_keys_hash)
    q = keys.add_parser("new", help="a new random key and its api_keys entry")
    q.add_argument("name")
    q.add_argument("--read", nargs="*", default=[], metavar="COLLECTION", help='or "*"')
    q.add_argument("--write", nargs="*", default=[], metavar="COLLECTION", help='or "*"')
    q.set_defaults(func=_keys_new)


def _keys_hash(args: argparse.Namespace, settings: Settings) -> int:
    from server.access import hash_key

    key = sys.stdin.readline().strip()
    if not key:
        print("vinarag keys hash: give the key on standard input", file=sys.stderr)
        return 2
    print(hash_key(key))
    return 0


def _keys_new(args: argparse.Namespace, settings: Settings) -> int:
    import json
    import secrets

    from server.access import hash_key

    key = "vs-" + secrets.token_urlsafe(32)
    entry = {"name": args.name, "key_sha256": hash_key(key), "read": args.read, "write": args.write}
    print(f"key (shown once): {key}", file=sys.stderr)
    print(json.dumps(entry, ensure_ascii=False))
    return 0

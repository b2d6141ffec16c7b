"""Process-wide set-up for the command line, the server and Studio: logging, and the
third-party telemetry turned off (those libraries read it from the environment only)."""

from __future__ import annotations

import logging
import os

TELEMETRY_OFF = {
    "RAGAS_DO_NOT_TRACK": "true",
    "ANONYMIZED_TELEMETRY": "False",
    "LANGGRAPH_CLI_NO_ANALYTICS": "1",
    "LANGGRAPH_NO_VERSION_CHECK": "true",
    "TOKENIZERS_PARALLELISM": "false",
}


def disable_telemetry() -> None:
    """Ragas, LangGraph and tokenizers phone home or warn unless told otherwise through the
    environment; a value the user set is kept."""
    for name, value in TELEMETRY_OFF.items():
        os.environ.setdefault(name, value)


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        force=True,
    )
    quiet = max(logging.WARNING, logging.getLevelName(level))
    logging.getLogger("bitsandbytes").setLevel(logging.ERROR)  # CPU-kernel notices at import
    for noisy in (
        "httpx",
        "urllib3",
        "sentence_transformers",
        "transformers",
        "filelock",
        "bm25s",
        "bitsandbytes",
    ):
        logging.getLogger(noisy).setLevel(quiet)

"""Langfuse tracing: one CallbackHandler at the root of each run's config gives one trace per
request with a span per node. No keys -> tracing off, said once at start and in /readyz."""

from __future__ import annotations

import logging
import os
from typing import Any

log = logging.getLogger(__name__)


class Tracing:
    def __init__(self) -> None:
        self.enabled = bool(
            os.environ.get("LANGFUSE_PUBLIC_KEY") and os.environ.get("LANGFUSE_SECRET_KEY")
        )
        self.client = None
        if not self.enabled:
            log.info(
                "tracing off: set LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY (and LANGFUSE_BASE_URL)"
            )
            return
        from langfuse import get_client

        self.client = get_client()
        log.info("tracing on: Langfuse at %s", os.environ.get("LANGFUSE_BASE_URL", "cloud default"))

    @property
    def status(self) -> str:
        return "langfuse" if self.enabled else "off (no LANGFUSE_* keys)"

    def handler(self) -> Any | None:
        if not self.enabled:
            return None
        from langfuse.langchain import CallbackHandler

        return CallbackHandler()

    def flush(self) -> None:
        if self.client is not None:
            self.client.flush()

    def shutdown(self) -> None:
        if self.client is not None:
            self.client.shutdown()

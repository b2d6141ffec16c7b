"""The Qdrant client: a server or cluster by URL, or the embedded local store on disk."""

from __future__ import annotations

import math

from qdrant_client import QdrantClient

from tools.errors import ServiceError
from tools.settings import Settings


class StoreError(ServiceError):
    """The store cannot be used as configured; the message says what to change."""


def build_qdrant_client(settings: Settings, location: str | None = None) -> QdrantClient:
    """A client for QDRANT_URL, the given location (":memory:"), or the local store on disk."""
    if location is not None:
        return QdrantClient(location=location)
    if settings.qdrant.url:
        return QdrantClient(
            url=settings.qdrant.url,
            api_key=settings.qdrant.api_key,
            timeout=math.ceil(settings.qdrant.timeout_s),
        )
    path = settings.qdrant_path
    path.mkdir(parents=True, exist_ok=True)
    try:
        return QdrantClient(path=str(path))
    except RuntimeError as exc:
        if "already accessed" in str(exc):
            raise StoreError(
                f"the local store {path} is open in another process (a running server?): "
                "stop it, or use a Qdrant server (QDRANT_URL) for several processes"
            ) from None
        raise


def is_local(settings: Settings, location: str | None = None) -> bool:
    """Whether the client built from the same arguments runs Qdrant in this process."""
    return location is not None or not settings.qdrant.url

"""Dense embeddings through langchain-huggingface, built once, with an honest sparse-only
fallback when the configured model is not available on this machine."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from langchain_core.embeddings import Embeddings

from tools.settings import DenseSettings

log = logging.getLogger(__name__)


@dataclass
class DenseModel:
    embeddings: Embeddings
    name: str
    dim: int


def build_dense_model(settings: DenseSettings) -> DenseModel | None:
    """The configured embedding model, or None (sparse-only) with one clear log line."""
    if not settings.model:
        log.info("dense retrieval off (dense.model is empty): sparse-only")
        return None
    if not settings.allow_download:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from langchain_huggingface import HuggingFaceEmbeddings

        embeddings = HuggingFaceEmbeddings(
            model_name=settings.model,
            model_kwargs={"device": settings.device},
            encode_kwargs={"normalize_embeddings": True, "batch_size": settings.batch_size},
        )
        dim = len(embeddings.embed_query("xin chào"))
    except Exception as exc:  # missing weights surface as OSError, ValueError, HF errors...
        reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        log.warning(
            "dense model %r is not available locally (%s): running sparse-only",
            settings.model,
            reason,
        )
        return None
    log.info("dense model %s loaded (%d dims, %s)", settings.model, dim, settings.device)
    return DenseModel(embeddings, settings.model, dim)

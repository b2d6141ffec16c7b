"""Build the configured reranker once; a cross-encoder that cannot load falls back, loudly."""

from __future__ import annotations

import logging

from tools.rerank.base import NoRerank, Reranker
from tools.rerank.proximity import ProximityReranker
from tools.settings import Settings

log = logging.getLogger(__name__)


def build_reranker(settings: Settings) -> Reranker:
    rerank = settings.rerank
    if rerank.kind == "none":
        return NoRerank()
    if rerank.kind == "cross_encoder" and rerank.model:
        try:
            from tools.rerank.cross_encoder import CrossEncoderReranker

            reranker = CrossEncoderReranker(
                rerank.model,
                device=settings.dense.device,
                allow_download=settings.dense.allow_download,
            )
            log.info("reranker: cross-encoder %s", rerank.model)
            return reranker
        except Exception as exc:
            log.warning(
                "cross-encoder %r is not available locally (%s): using the proximity reranker",
                rerank.model,
                str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__,
            )
    return ProximityReranker(window=rerank.window, weight=rerank.weight)

"""Cross-encoder reranking (sentence-transformers) for when a model is configured."""

from __future__ import annotations

from tools.corpus.passages import Passage, rescored


class CrossEncoderReranker:
    name = "cross_encoder"

    def __init__(
        self,
        model_name_or_path: str,
        device: str = "cpu",
        batch_size: int = 32,
        allow_download: bool = False,
    ) -> None:
        from sentence_transformers import CrossEncoder

        self.model = CrossEncoder(
            model_name_or_path, device=device, local_files_only=not allow_download
        )
        self.model_name = model_name_or_path
        self.batch_size = batch_size

    def rerank(self, query: str, chunks: list[Passage], top_n: int) -> list[Passage]:
        if not chunks:
            return []
        pairs = [(query, f"{c['title']}. {c['text']}") for c in chunks]
        scores = self.model.predict(pairs, batch_size=self.batch_size, show_progress_bar=False)
        ranked = [rescored(c, float(s)) for c, s in zip(chunks, scores, strict=True)]
        ranked.sort(key=lambda c: (-c["score"], c["id"]))
        return ranked[:top_n]

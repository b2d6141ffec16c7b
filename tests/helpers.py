"""Builders for test inputs that the tests write themselves (no fixtures checked in)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from pathlib import Path

import pytest

from tools.corpus.passages import Passage

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data" / "xquad-vi"
LAWS_VN = REPO.parent / "shared" / "data" / "laws-vn"  # 204 real laws and codes
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
# The test profile: `make test` (CI) runs every case of the expensive suites (fuzzing, kills
# during writes, the eval gate on slices) with fewer examples, kill points or slices;
# `make test-deep` (VINARAG_TEST_PROFILE=deep) runs them at full strength.
DEEP = os.environ.get("VINARAG_TEST_PROFILE", "").lower() == "deep"


POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def need(condition: bool, reason: str) -> None:
    """Skip when a real part is missing; under CI=true that is a failure, not a skip."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required under CI=true: {reason}")
    pytest.skip(reason)


def write_pdf(path: Path, lines: list[str]) -> Path:
    """A minimal one-page PDF with Helvetica text (ASCII: the standard fonts lack Vietnamese)."""
    content = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(f"({line}) '" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    path.write_bytes(out)
    return path


def write_encrypted_pdf(path: Path, source: Path, password: str = "mat-khau") -> Path:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(str(source)))
    writer.encrypt(user_password=password, owner_password=password)
    with path.open("wb") as handle:
        writer.write(handle)
    return path


def write_docx(path: Path, paragraphs: list[str], title: str = "") -> Path:
    import docx

    document = docx.Document()
    document.core_properties.title = title
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Tỉnh"
    table.rows[0].cells[1].text = "Lào Cai"
    document.save(str(path))
    return path


TINY_CORPUS = [
    "### Câu hỏi: Dựa vào các nguồn, trả lời câu hỏi. [1] Núi: Fansipan là ngọn núi cao nhất "
    "Việt Nam, cao 3.143 mét. Câu hỏi: Núi nào cao nhất? ### Trả lời: Fansipan [1].",
    "Hà Nội là thủ đô của Việt Nam. Vịnh Hạ Long có gần 2.000 hòn đảo [2].",
]


def write_tiny_bert(folder: Path, texts: list[str], model_class: type) -> Path:
    """A tiny random BERT (`BertModel`, `BertForSequenceClassification`, ...) with a word-level
    vocabulary of the given texts, saved to disk."""
    import re

    import torch
    from transformers import BertConfig, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    words = set(re.findall(r"[^\W_]+", " ".join(texts).lower()))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(words)]
    (folder / "vocab.txt").write_text("\n".join(vocab), "utf-8")
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True).save_pretrained(
        folder
    )
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=64,
        num_labels=1,
    )
    model_class(config).save_pretrained(folder)
    return folder


def write_tiny_mpt(folder: Path, seed: int = 0) -> Path:
    """A tiny random MPT (PhoGPT's architecture) and a BPE tokenizer trained here, saved to disk.
    The tokenizer has no chat template: the product installs PhoGPT's when it loads one."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import MptConfig, MptForCausalLM, PreTrainedTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<unk>", "<pad>", "</s>"])
    bpe.train_from_iterator(TINY_CORPUS * 20, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, unk_token="<unk>", pad_token="<pad>", eos_token="</s>"
    )
    tokenizer.save_pretrained(folder)
    torch.manual_seed(seed)
    config = MptConfig(
        d_model=64,
        n_layers=2,
        n_heads=2,
        vocab_size=len(tokenizer),
        max_seq_len=8192,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    MptForCausalLM(config).save_pretrained(folder)
    return folder


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_process(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """`vinarag serve` as a process of its own (what a signal or a kill reaches) on a free
    port, with `env`; returned once its health check answers."""
    import sys
    import time

    import httpx

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tools.cli", "--log-level", "WARNING", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return server, url
        except httpx.HTTPError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise AssertionError("the server did not start")


class LiveServer:
    """The app served by uvicorn in a thread on a free 127.0.0.1 port with the protocol
    `vinarag serve` uses, for a browser, Prometheus or a raw socket that must reach it over the
    network. Readiness is signalled by uvicorn's own
    startup, not waited for with sleeps."""

    def __init__(self, app) -> None:
        import threading

        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        started = self._started = threading.Event()

        class _Server(uvicorn.Server):
            async def startup(self, sockets=None):
                await super().startup(sockets)
                started.set()

        from server.protocol import bounded_protocol

        protocol = bounded_protocol(app.state.vinarag.settings.server)  # as `vinarag serve`
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", http=protocol
        )
        self._server = _Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self._thread.start()
        if not self._started.wait(60):
            raise RuntimeError("server did not start within 60 s")
        return self

    def __exit__(self, *exc) -> None:
        self._server.should_exit = True
        self._thread.join(30)


def passage(
    point_id: str, text: str, score: float = 1.0, title: str = "", doc_id: str | None = None
) -> Passage:
    """A retrieved passage as the stages pass it along."""
    return Passage(
        id=point_id,
        doc_id=doc_id or point_id,
        title=title,
        text=text,
        source="",
        position=0,
        location="",
        score=score,
        metadata={},
    )


class CuttableRelay:
    """A TCP relay to a real server that a test can cut (open connections dropped, new ones
    refused) and restore on the same port: a database lost and back without stopping the
    machine's own. `reply_bytes`: each connection is dropped once the server has sent that many
    bytes back (a server gone mid-reply at the same point on every run, whatever the timing)."""

    def __init__(
        self, target_port: int, host: str = "127.0.0.1", reply_bytes: int | None = None
    ) -> None:
        import socket

        self.host, self.target_port = host, target_port
        self.reply_bytes = reply_bytes
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()

    def restore(self) -> None:
        import socket

        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen()
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener) -> None:
        import socket

        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # cut
                return
            server = socket.create_connection((self.host, self.target_port))
            with self._lock:
                self._open += [client, server]
            for source, sink, limit in ((client, server, None), (server, client, self.reply_bytes)):
                threading.Thread(target=self._pump, args=(source, sink, limit), daemon=True).start()

    @staticmethod
    def _pump(source, sink, limit: int | None) -> None:
        import socket

        sent = 0
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if limit is not None and sent + len(data) >= limit:
                    sink.sendall(data[: limit - sent])
                    for end in (source, sink):  # dropped: the other pump is woken too
                        end.shutdown(socket.SHUT_RDWR)
                    return
                sink.sendall(data)
                sent += len(data)
            sink.shutdown(socket.SHUT_WR)  # the end of one direction passed on, as TCP does

    def cut(self) -> None:
        import socket

        if self._listener is not None:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread (Linux)
            self._listener.close()
            self._listener = None
        with self._lock:
            for end in self._open:
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()
            self._open.clear()

    def __enter__(self) -> CuttableRelay:
        self.restore()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cut()


def write_previous_release_store(
    settings, paths: list[Path], raw_documents=(), embedder=None
) -> None:
    """A store as the previous release wrote it: qdrant-client's local mode under
    data_dir/qdrant, the same collection layout (dense vectors with `embedder`);
    `raw_documents` written past today's ingestion checks (as an older release accepted
    them)."""
    from qdrant_client import QdrantClient

    from tools.ingest.chunk import chunk_document
    from tools.ingest.pipeline import ingest_paths
    from tools.kb.backends import ServerStore
    from tools.kb.backfill import write_documents
    from tools.kb.sparse import BM25Encoder
    from tools.kb.store import KnowledgeBase

    settings.qdrant_path.mkdir(parents=True, exist_ok=True)
    client = QdrantClient(path=str(settings.qdrant_path))
    sparse = settings.sparse
    encoder = BM25Encoder(sparse.k1, sparse.b, sparse.index_title)
    kb = KnowledgeBase(client, settings.qdrant.collection, encoder, embedder, backend=ServerStore())
    try:
        if paths:
            ingest_paths(paths, kb, settings, progress=False)
        for document in raw_documents:
            write_documents(kb, [(document, chunk_document(document, 900, 150))])
    finally:
        client.close()


def metric_value(exposition: str, sample: str) -> float:
    """The sum of the /metrics samples whose line starts with `sample` (name{labels})."""
    lines = exposition.splitlines()
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith(sample))

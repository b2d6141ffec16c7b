"""Files kept by key, in a folder (one machine, or one every machine mounts) or an S3 bucket
(`s3://bucket/prefix`): what jobs' uploads and documents' originals are stored in, so that one
setting moves both off the machine."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any, Protocol
from urllib.parse import urlparse


class Blobs(Protocol):
    where: str  # for messages: the folder or s3://bucket/prefix

    def put(self, key: str, data: bytes) -> None: ...

    def put_file(self, key: str, path: Path) -> None: ...

    def has(self, key: str) -> bool: ...

    def local(self, key: str) -> AbstractContextManager[Path]:
        """A local path holding the stored bytes while the block runs (FileNotFoundError: not
        stored)."""
        ...

    def remove(self, prefix: str) -> None:
        """Every key starting with `prefix` (a key, or a folder ending in /)."""
        ...


def _checked(key: str) -> str:
    parts = PurePosixPath(key).parts
    if not parts or key.startswith("/") or any(p in {"..", "."} for p in parts):
        raise ValueError(f"blob key {key[:80]!r}: a relative path without . or ..")
    return key


class FolderBlobs:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.where = str(root)

    def _path(self, key: str) -> Path:
        return self.root / _checked(key)

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        partial.write_bytes(data)
        partial.replace(path)  # a reader never sees half a file

    def put_file(self, key: str, path: Path) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        shutil.copyfile(path, partial)
        partial.replace(target)

    def has(self, key: str) -> bool:
        return self._path(key).is_file()

    @contextmanager
    def local(self, key: str) -> Iterator[Path]:
        path = self._path(key)
        if not path.is_file():
            raise FileNotFoundError(f"{key} is not in {self.root}")
        yield path

    def remove(self, prefix: str) -> None:
        path = self._path(prefix.rstrip("/"))
        if prefix.endswith("/"):
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


class S3Blobs:
    """Objects `prefix/key` in a bucket, read through a temporary local copy (the readers take
    paths)."""

    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.where = f"s3://{bucket}/{self.prefix}"

    def _key(self, key: str) -> str:
        return "/".join(p for p in (self.prefix, _checked(key)) if p)

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def put_file(self, key: str, path: Path) -> None:
        self.client.upload_file(str(path), self.bucket, self._key(key))

    def has(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError:
            return False
        return True

    @contextmanager
    def local(self, key: str) -> Iterator[Path]:
        from botocore.exceptions import ClientError

        with tempfile.TemporaryDirectory(prefix="vinarag-blob-") as folder:
            path = Path(folder) / PurePosixPath(key).name
            try:
                self.client.download_file(self.bucket, self._key(key), str(path))
            except ClientError as exc:
                raise FileNotFoundError(
                    f"{key} is not in {self.where} "
                    f"({exc.response.get('Error', {}).get('Code', exc)})"
                ) from None
            yield path

    def remove(self, prefix: str) -> None:
        if not prefix.endswith("/"):
            self.client.delete_object(Bucket=self.bucket, Key=self._key(prefix))
            return
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self._key(prefix.rstrip("/")) + "/"
        )
        keys = [{"Key": o["Key"]} for page in pages for o in page.get("Contents", [])]
        for start in range(0, len(keys), 1000):  # S3's most per call
            self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": keys[start : start + 1000]}
            )


@lru_cache(maxsize=4)
def _s3_client(endpoint_url: str | None) -> Any:
    """One client per endpoint in a process (thread-safe): a job's every file opens its store."""
    import boto3

    return boto3.client("s3", endpoint_url=endpoint_url)


def open_blobs(url: str | None, default: Path, s3_endpoint_url: str | None = None) -> Blobs:
    """A folder (`default` when no url), or `s3://bucket/prefix` (credentials and region as
    boto3 finds them; `s3_endpoint_url` for a server other than AWS's)."""
    if not url:
        return FolderBlobs(default)
    parsed = urlparse(url)
    if parsed.scheme == "s3":
        return S3Blobs(_s3_client(s3_endpoint_url), parsed.netloc, parsed.path)
    return FolderBlobs(Path(parsed.path if parsed.scheme == "file" else url).expanduser())

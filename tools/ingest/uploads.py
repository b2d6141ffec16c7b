"""Where a job's input (its uploaded files, or its documents as JSON) waits until the job has
written it: a folder by default (beside the job records on one machine, or a folder every
machine mounts), an S3 bucket by settings (`ingest.uploads_url: s3://bucket/prefix`), so that
a job outlives the replica that received it."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from tools.settings import Settings

INPUT = "input"  # a job's files under its folder


class Uploads(Protocol):
    def put(self, job_id: str, name: str, data: bytes) -> None: ...

    def local(self, job_id: str, name: str) -> AbstractContextManager[Path]:
        """A local path holding the stored bytes while the block runs (FileNotFoundError: not
        stored)."""
        ...

    def remove(self, job_id: str) -> None:
        """The job's input; nothing when there is none."""
        ...


class FolderUploads:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, job_id: str, name: str) -> Path:
        return self.root / job_id / INPUT / name

    def put(self, job_id: str, name: str, data: bytes) -> None:
        path = self._path(job_id, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    @contextmanager
    def local(self, job_id: str, name: str) -> Iterator[Path]:
        path = self._path(job_id, name)
        if not path.is_file():
            raise FileNotFoundError(f"job {job_id}: its input {name} is not in {self.root}")
        yield path

    def remove(self, job_id: str) -> None:
        shutil.rmtree(self.root / job_id / INPUT, ignore_errors=True)


class S3Uploads:
    """Objects `prefix/ID/name` in a bucket, read through a temporary local copy (the readers
    take paths)."""

    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    def _key(self, job_id: str, name: str) -> str:
        return "/".join(p for p in (self.prefix, job_id, name) if p)

    def put(self, job_id: str, name: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(job_id, name), Body=data)

    @contextmanager
    def local(self, job_id: str, name: str) -> Iterator[Path]:
        from botocore.exceptions import ClientError

        with tempfile.TemporaryDirectory(prefix="vinarag-upload-") as folder:
            path = Path(folder) / name
            try:
                self.client.download_file(self.bucket, self._key(job_id, name), str(path))
            except ClientError as exc:
                raise FileNotFoundError(
                    f"job {job_id}: its input {name} is not in s3://{self.bucket}/"
                    f"{self.prefix} ({exc.response.get('Error', {}).get('Code', exc)})"
                ) from None
            yield path

    def remove(self, job_id: str) -> None:
        listed = self.client.list_objects_v2(
            Bucket=self.bucket, Prefix=self._key(job_id, "") + "/"
        ).get("Contents", [])
        if listed:
            self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": o["Key"]} for o in listed]}
            )


def open_uploads(settings: Settings, default: Path) -> Uploads:
    """As `ingest.uploads_url` says: a folder (default: `default`), or `s3://bucket/prefix`
    (credentials and region as boto3 finds them; `ingest.s3_endpoint_url` for a server other
    than AWS's)."""
    url = settings.ingest.uploads_url
    if not url:
        return FolderUploads(default)
    parsed = urlparse(url)
    if parsed.scheme == "s3":
        import boto3

        client = boto3.client("s3", endpoint_url=settings.ingest.s3_endpoint_url)
        return S3Uploads(client, parsed.netloc, parsed.path)
    return FolderUploads(Path(parsed.path if parsed.scheme == "file" else url).expanduser())

"""Where a job's input (its uploaded files, or its documents as JSON) waits until the job has
written it: a folder by default (beside the job records on one machine, or a folder every
machine mounts), an S3 bucket by settings (`ingest.uploads_url: s3://bucket/prefix`), so that
a job outlives the replica that received it."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from tools.ingest.blobs import Blobs, FolderBlobs, open_blobs
from tools.settings import Settings

INPUT = "input"  # a job's files under its folder


@dataclass(frozen=True)
class StoredUpload:
    """A job's file where it waits: its job, the name it is stored under, the name it was sent
    as (its documents' ids and sources), the collection it goes into."""

    job_id: str
    stored: str
    name: str
    collection: str


class Uploads:
    def __init__(self, blobs: Blobs) -> None:
        self.blobs = blobs

    @staticmethod
    def _key(job_id: str, name: str = "") -> str:
        return f"{job_id}/{INPUT}/{name}"

    def put(self, job_id: str, name: str, data: bytes) -> None:
        self.blobs.put(self._key(job_id, name), data)

    def local(self, job_id: str, name: str) -> AbstractContextManager[Path]:
        """A local path holding the stored bytes while the block runs (FileNotFoundError: not
        stored)."""
        return self.blobs.local(self._key(job_id, name))

    def remove(self, job_id: str) -> None:
        """The job's input; nothing when there is none."""
        self.blobs.remove(self._key(job_id))


def folder_uploads(root: Path) -> Uploads:
    return Uploads(FolderBlobs(root))


def open_uploads(settings: Settings, default: Path) -> Uploads:
    """As `ingest.uploads_url` says: a folder (default: `default`), or `s3://bucket/prefix`."""
    return Uploads(
        open_blobs(settings.ingest.uploads_url, default, settings.ingest.s3_endpoint_url)
    )

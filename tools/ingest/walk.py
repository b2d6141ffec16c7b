"""The files of a folder that ingestion may read: regular files whose real path is inside the
folder. A synced share is written by other people: a link to `/etc/passwd` or to a secrets file
beside the folder, a FIFO that blocks whoever opens it, a device, must never become searchable
or stall a run. Each such entry is passed over and named with the reason; a subfolder that
cannot be listed is reported and the rest is read."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

# Kinds of entries that are not files, as a report names them.
_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


@dataclass(frozen=True)
class FoundFile:
    path: Path  # as listed under the folder (a link keeps its own name: ids come from it)
    relative: str  # "nghi-dinh/15-2026.docx"
    size: int
    mtime_ns: int


@dataclass
class FolderListing:
    """What a walk found: files to read, entries passed over and subfolders it could not list,
    each (path relative to the folder, reason)."""

    files: list[FoundFile] = field(default_factory=list)
    passed_over: list[tuple[str, str]] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)


class NotARegularFile(OSError):
    """Opened as a file, found to be something else (a FIFO swapped in after the walk)."""


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _reason(error: OSError) -> str:
    if error.errno == errno.ENOENT:
        return "gone while the folder was read"
    if error.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return error.strerror or type(error).__name__


def check_entry(path: Path, root: Path) -> tuple[os.stat_result | None, str]:
    """The stat of a readable regular file inside `root` (resolved), or None and why not."""
    try:
        if path.is_symlink():
            target = path.resolve(strict=True)
            if not target.is_relative_to(root):
                return None, "a link to outside the folder: not followed"
        info = path.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None, "a link that loops"
        if exc.errno == errno.ENOENT and path.is_symlink():
            return None, "a link to nothing"
        return None, _reason(exc)
    except RuntimeError:  # Path.resolve on a symlink loop (older Pythons)
        return None, "a link that loops"
    if not stat.S_ISREG(info.st_mode):
        return None, f"{_kind(info.st_mode)}: only regular files are read"
    return info, ""


def walk_folder(root: Path, suffixes: Collection[str] | None = None) -> FolderListing:
    """The readable files under `root` (resolved) whose suffix is in `suffixes` (None: any),
    in a stable order; hidden entries left out. Links to folders are not followed (a link to
    a file inside is read). Raises OSError only when `root` itself cannot be listed."""
    listing = FolderListing()

    def unreadable(error: OSError) -> None:
        where = Path(error.filename or root)
        if where == root:
            raise error
        listing.unreadable.append((_relative(where, root), _reason(error)))

    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable):
        here = Path(dirpath)
        kept = []
        for name in sorted(dirnames):
            if name.startswith("."):
                continue
            if (here / name).is_symlink():
                listing.passed_over.append(
                    (_relative(here / name, root), "a link to a folder: not followed")
                )
                continue
            kept.append(name)
        dirnames[:] = kept
        for name in sorted(filenames):
            path = here / name
            if name.startswith(".") or (
                suffixes is not None and path.suffix.lower() not in suffixes
            ):
                continue
            info, why = check_entry(path, root)
            relative = _relative(path, root)
            if info is None:
                listing.passed_over.append((relative, why))
                continue
            listing.files.append(FoundFile(path, relative, info.st_size, info.st_mtime_ns))
    return listing


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def file_hash(path: Path) -> str:
    """The file's content hash, read through a descriptor checked to be a regular file: a
    FIFO put in its place after the walk is refused instead of blocking the run."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotARegularFile(errno.EINVAL, f"{_kind(mode)}: only regular files are read")
        digest = hashlib.sha256()
        with os.fdopen(fd, "rb", closefd=False) as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()[:32]
    finally:
        os.close(fd)

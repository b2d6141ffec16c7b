"""A synced or ingested folder cannot reach outside itself: links to files elsewhere (a system
file, a secrets file beside the folder), FIFOs, sockets and links to folders are passed over and
named; files that vanish mid-run and subfolders that cannot be listed are reported, and the rest
goes in (the exit status says "partial")."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tools.ingest import walk as walk_module
from tools.ingest.pipeline import IngestReport, find_files, load_files
from tools.ingest.sync import sync_folder
from tools.ingest.walk import NotARegularFile, file_hash, walk_folder
from tools.kb.factory import build_knowledge_base

SECRET = "VINARAG_API_KEYS=khoa-bi-mat-cua-may-chu-12345"
LEAVE = "Quy định nghỉ phép: nhân viên được nghỉ phép mười lăm ngày mỗi năm."
HOURS = "Giờ làm việc bắt đầu lúc tám giờ sáng và kết thúc lúc năm giờ chiều."


def _drive(tmp_path: Path) -> tuple[Path, Path]:
    """A folder with two documents, a link to one of them (inside: read), and hostile
    entries: links to a secrets file and to a folder outside, a FIFO, a socket, a loop."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secrets.env").write_text(SECRET, "utf-8")
    (outside / "docs").mkdir()
    (outside / "docs" / "other.txt").write_text(HOURS, "utf-8")
    root = tmp_path / "drive"
    (root / "sub").mkdir(parents=True)
    (root / "leave.txt").write_text(LEAVE, "utf-8")
    (root / "sub" / "hours.md").write_text(HOURS, "utf-8")
    (root / "alias.txt").symlink_to(root / "leave.txt")
    (root / "s.md").symlink_to(Path("..") / "outside" / "secrets.env")
    (root / "p.txt").symlink_to("/etc/passwd")
    (root / "linked").symlink_to(outside / "docs")
    (root / "dangling.txt").symlink_to(root / "nowhere.txt")
    (root / "loop.txt").symlink_to(root / "loop.txt")
    os.mkfifo(root / "pipe.txt")
    return root, outside


def test_the_walk_reads_only_regular_files_inside_the_folder(tmp_path):
    root, _ = _drive(tmp_path)
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(root / "sock.txt"))
        listing = walk_folder(root.resolve(), {".txt", ".md"})
    assert [f.relative for f in listing.files] == ["alias.txt", "leave.txt", "sub/hours.md"]
    passed = dict(listing.passed_over)
    assert passed["s.md"] == passed["p.txt"] == "a link to outside the folder: not followed"
    assert passed["linked"] == "a link to a folder: not followed"
    assert passed["pipe.txt"].startswith("a FIFO")
    assert passed["sock.txt"].startswith("a socket")
    assert passed["dangling.txt"] == "a link to nothing"
    assert passed["loop.txt"] == "a link that loops"
    assert listing.unreadable == []


def test_a_fifo_swapped_in_after_the_walk_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "late.txt"
    os.mkfifo(fifo)
    with pytest.raises(NotARegularFile, match="FIFO"):
        file_hash(fifo)  # opened without blocking, then refused by what it is


def test_sync_keeps_secrets_and_system_files_out(tmp_path, settings):
    root, _ = _drive(tmp_path)
    kb = build_knowledge_base(settings, location=":memory:")
    try:
        report = sync_folder(root, "hr", kb, settings, progress=False)
        stored = {d.metadata.get("source_path") for d in kb.list_documents(collections=["hr"])}
        assert stored == {"alias.txt", "leave.txt", "sub/hours.md"}
        assert report.status == "synced" and report.failed == []
        assert {"s.md", "p.txt", "pipe.txt", "linked"} <= dict(report.passed_over).keys()
        everything = " ".join(chunk.text for _, chunk in kb.find({}, ["hr"], 1000))
        assert "nghỉ phép" in everything  # what it holds is what the folder holds ...
        assert "khoa-bi-mat" not in everything and "root:" not in everything  # ... and no more
    finally:
        kb.close()


def test_ingest_of_a_folder_follows_the_same_rule(tmp_path, settings):
    root, _ = _drive(tmp_path)
    (root / "notes.bin").write_bytes(b"\x00\x01")
    report = IngestReport()
    files = find_files([root], report)
    assert sorted(f.relative_to(root).as_posix() for f in files) == [
        "alias.txt",
        "leave.txt",
        "sub/hours.md",
    ]
    skipped = {Path(s).name: why for s, why in report.skipped}
    assert skipped["s.md"].startswith("a link to outside")
    assert skipped["pipe.txt"].startswith("a FIFO")
    assert skipped["notes.bin"] == "unsupported file type .bin"
    named = IngestReport()
    assert find_files([root / "pipe.txt"], named) == []  # named on the command line: refused
    assert named.failed[0][1].startswith("not a regular file")


def test_a_file_gone_before_it_is_read_is_reported_and_the_rest_go_in(tmp_path, settings):
    kept, gone = tmp_path / "kept.txt", tmp_path / "gone.txt"
    kept.write_text(LEAVE, "utf-8")
    report = IngestReport()
    documents = load_files([kept, gone], settings, report, progress=False)
    assert [d.text for d in documents] == [LEAVE]
    assert report.failed == [(str(gone), "no such file or folder")]


def test_a_file_renamed_during_a_sync_is_reported_not_a_crash(tmp_path, settings, monkeypatch):
    """The file is renamed between the walk and its read (what a user renaming files on a
    share does to a long sync): that file is reported, the run completes and is written."""
    import tools.ingest.sync as sync

    root = tmp_path / "drive"
    root.mkdir()
    (root / "a.txt").write_text(LEAVE, "utf-8")
    (root / "b.txt").write_text(HOURS, "utf-8")
    real_walk = sync.walk_folder

    def walk_then_rename(folder, suffixes=None):
        listing = real_walk(folder, suffixes)
        (root / "b.txt").rename(root / "c.txt")  # after the listing, before any read
        return listing

    monkeypatch.setattr(sync, "walk_folder", walk_then_rename)
    kb = build_knowledge_base(settings, location=":memory:")
    try:
        report = sync_folder(root, "hr", kb, settings, progress=False)
        assert report.added == ["a.txt"] and report.status == "partial"
        assert [relative for relative, _ in report.failed] == ["b.txt"]
        monkeypatch.setattr(sync, "walk_folder", real_walk)
        again = sync_folder(root, "hr", kb, settings, progress=False)
        assert again.added == ["c.txt"] and again.status == "synced"
    finally:
        kb.close()


_WALK_AS_ANOTHER_USER = """
import json, sys
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from walk import walk_folder
listing = walk_folder(Path(sys.argv[2]), {".txt"})
print(json.dumps({"files": [f.relative for f in listing.files], "unreadable": listing.unreadable}))
"""


def test_a_subfolder_that_cannot_be_listed_is_reported_and_the_rest_listed():
    """Root reads every folder whatever its mode, so the walk runs as another user, with the
    system's Python and a copy of the walk's module (it needs nothing but the standard
    library), so that it reads nothing of this checkout's, wherever that is."""
    work = Path(tempfile.mkdtemp(prefix="vinarag-perm-"))
    try:
        shutil.copy(walk_module.__file__, work / "walk.py")
        root = work / "drive"
        (root / "private").mkdir(parents=True)
        (root / "private" / "hours.txt").write_text(HOURS, "utf-8")
        (root / "leave.txt").write_text(LEAVE, "utf-8")
        for path in (work, root, work / "walk.py"):
            path.chmod(0o755)
        (root / "private").chmod(0o000)
        command = [sys.executable]
        if os.geteuid() == 0:
            python = shutil.which("python3", path="/usr/bin:/bin")
            if shutil.which("setpriv") is None or python is None:
                pytest.skip("as root, with no setpriv or system python to walk as another user")
            command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", python]
        command += ["-c", _WALK_AS_ANOTHER_USER, str(work), str(root)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        walked = json.loads(done.stdout)
        assert walked == {"files": ["leave.txt"], "unreadable": [["private", "permission denied"]]}
    finally:
        (work / "drive" / "private").chmod(0o755)
        shutil.rmtree(work, ignore_errors=True)


@pytest.mark.slow
def test_a_sync_keeps_what_an_unreadable_subfolder_held_and_says_partial(
    tmp_path, settings, monkeypatch
):
    import tools.ingest.sync as sync

    root = tmp_path / "drive"
    (root / "private").mkdir(parents=True)
    (root / "private" / "hours.txt").write_text(HOURS, "utf-8")
    (root / "leave.txt").write_text(LEAVE, "utf-8")
    kb = build_knowledge_base(settings, location=":memory:")
    try:
        assert sync_folder(root, "hr", kb, settings, progress=False).status == "synced"
        real_walk = sync.walk_folder

        def private_unreadable(folder, suffixes=None):
            listing = real_walk(folder, suffixes)  # what the walk above reports as that user
            listing.files = [f for f in listing.files if not f.relative.startswith("private/")]
            listing.unreadable = [("private", "permission denied")]
            return listing

        monkeypatch.setattr(sync, "walk_folder", private_unreadable)
        (root / "leave.txt").write_text(LEAVE + " Áp dụng từ năm sau.", "utf-8")
        report = sync_folder(root, "hr", kb, settings, progress=False)
        assert report.status == "partial" and report.changed == ["leave.txt"]
        assert report.unreadable_folders == [("private", "permission denied")]
        assert report.deleted == []  # its documents are kept, not taken for deleted
        kept = {d.metadata.get("source_path") for d in kb.list_documents(collections=["hr"])}
        assert kept == {"leave.txt", "private/hours.txt"}
    finally:
        kb.close()


@pytest.mark.slow
def test_sync_exit_status_says_partial(vinarag, tmp_path):
    """Exit 0 synced (entries passed over are said, not failures), 3 partial."""
    root = tmp_path / "drive"
    root.mkdir()
    (root / "leave.txt").write_text(LEAVE, "utf-8")
    (root / "empty.txt").write_text("", "utf-8")
    os.mkfifo(root / "pipe.txt")
    done = vinarag("sync", str(root), "--collection", "hr", "--quiet")
    assert done.returncode == 0, done.stderr
    assert "passed   empty.txt: empty: 0 bytes" in done.stderr
    assert "passed   pipe.txt: a FIFO" in done.stderr
    (root / "bad.docx").write_bytes(b"not a zip")
    partial = vinarag("sync", str(root), "--collection", "hr", "--quiet", "--json")
    assert partial.returncode == 3
    assert json.loads(partial.stdout)["status"] == "partial"

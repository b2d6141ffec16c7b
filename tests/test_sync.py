"""A collection kept as a mirror of a folder: through every change a shared drive sees, safe when
the folder is gone or emptied, watched, run by the server on a schedule, recorded in the audit
trail, and answers that follow the change."""

import json
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from evals.sync_benchmark import CountedEmbedder
from graph import build_graph
from server.main import create_app
from tests.helpers import LAWS_VN
from tests.test_edge_store import _check_parity
from tools.cli.sync import watch
from tools.corpus.documents import file_doc_id
from tools.ingest.pipeline import ingest_paths
from tools.ingest.sync import sync_folder
from tools.kb.embedders import BundledEmbedder
from tools.kb.factory import build_knowledge_base

LEAVE = "Quy định nghỉ phép: nhân viên được nghỉ phép {days} ngày mỗi năm."
HOURS = "Giờ làm việc bắt đầu lúc tám giờ sáng và kết thúc lúc năm giờ chiều."
LAPTOP = "Nhân viên mới được công ty cấp một máy tính xách tay khi vào làm."
INSURANCE = "Công ty đóng bảo hiểm sức khỏe cho nhân viên từ tháng thứ hai."


def put(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    return path


@pytest.fixture
def embedder():
    return CountedEmbedder(BundledEmbedder(threads=1))


@pytest.fixture
def kb(settings, embedder):
    hybrid = settings.model_copy(
        update={"dense": settings.dense.model_copy(update={"backend": "bundled"})}
    )
    kb = build_knowledge_base(hybrid, location=":memory:", embedder=embedder)
    yield kb
    kb.close()


def ids(kb, collection="hr"):
    return {d.doc_id for d in kb.list_documents(collections=[collection])}


@pytest.mark.slow
def test_a_sync_follows_every_change_to_the_folder(tmp_path, settings, kb, embedder):
    root = tmp_path / "drive"
    put(root, "a/leave.txt", LEAVE.format(days=15))
    put(root, "hours.txt", HOURS)
    put(root, "laptop.md", LAPTOP)
    put(root, "notes.bin", "not a document")  # a type no loader reads: not part of the source
    first = sync_folder(root, "hr", kb, settings, progress=False)
    assert sorted(first.added) == ["a/leave.txt", "hours.txt", "laptop.md"] and first.ok
    assert embedder.passages == 3
    stored = {d.metadata["source_path"]: d for d in kb.list_documents(collections=["hr"])}
    assert stored["hours.txt"].metadata["source_root"] == str(root.resolve())

    put(root, "a/leave.txt", LEAVE.format(days=18))  # edited
    (root / "b").mkdir()
    (root / "hours.txt").rename(root / "b" / "working-hours.txt")  # moved and renamed
    (root / "laptop.md").unlink()  # deleted
    put(root, "insurance.txt", INSURANCE)  # new
    put(root, "broken.pdf", "%PDF-1.4 this is not a pdf")  # fails to parse
    second = sync_folder(root, "hr", kb, settings, progress=False)
    assert second.added == ["insurance.txt"] and second.changed == ["a/leave.txt"]
    assert second.renamed == [("hours.txt", "b/working-hours.txt")]
    assert second.deleted == ["laptop.md"] and [f for f, _ in second.failed] == ["broken.pdf"]
    assert embedder.passages == 5  # the edited and the new file only: the moved one kept its
    _check_parity(kb, "nhân viên làm việc nghỉ phép")  # IDF counts neither moved nor deleted
    moved = file_doc_id((root / "b" / "working-hours.txt").resolve())
    assert ids(kb) == {
        file_doc_id((root / "a" / "leave.txt").resolve()),
        file_doc_id((root / "insurance.txt").resolve()),
        moved,
    }
    [(point_id, payload)] = kb.find({"source_path": "b/working-hours.txt"}, ["hr"], 5)
    assert payload.doc_id == moved and payload.source.endswith("working-hours.txt")
    assert payload.text == HOURS and payload.dense_pending == 0
    [record] = kb.client.retrieve(kb.collection, [point_id], with_vectors=True)
    assert len(record.vector["dense"]) == embedder.dim  # carried over, not embedded again

    (root / "broken.pdf").unlink()
    (root / "insurance.txt").touch()  # a newer time, the same content
    third = sync_folder(root, "hr", kb, settings, progress=False)
    assert (third.unchanged, third.added, third.changed, third.deleted) == (3, [], [], [])
    assert embedder.passages == 5 and third.ok


@pytest.mark.slow
def test_a_sync_deletes_only_its_own_and_never_on_an_empty_or_missing_folder(
    tmp_path, settings, kb
):
    root, other = tmp_path / "drive", tmp_path / "other"
    for n in range(4):
        put(root, f"rule-{n}.txt", LEAVE.format(days=10 + n))
    put(other, "hours.txt", HOURS)
    sync_folder(root, "hr", kb, settings, progress=False)
    sync_folder(other, "hr", kb, settings, progress=False)
    ingest_paths([put(tmp_path / "loose", "laptop.txt", LAPTOP)], kb, settings, False, None, "hr")
    before = ids(kb)
    assert len(before) == 6

    gone = sync_folder(tmp_path / "unmounted", "hr", kb, settings, progress=False)
    assert gone.error and "not a folder" in gone.error and ids(kb) == before
    (root / "rule-0.txt").unlink()  # one of four: deleted
    assert sync_folder(root, "hr", kb, settings, progress=False).deleted == ["rule-0.txt"]
    for path in root.iterdir():  # the share comes up empty
        path.unlink()
    emptied = sync_folder(root, "hr", kb, settings, progress=False)
    assert emptied.refused and "3 of the source's 3" in emptied.refused and not emptied.deleted
    assert len(ids(kb)) == 5
    forced = sync_folder(root, "hr", kb, settings, progress=False, force=True)
    assert sorted(forced.deleted) == ["rule-1.txt", "rule-2.txt", "rule-3.txt"]
    # the other folder's document and the one ingested by hand are still there
    assert len(ids(kb)) == 2


def test_a_folder_unmounted_mid_run_deletes_nothing(tmp_path, settings, kb):
    root = tmp_path / "drive"
    put(root, "hours.txt", HOURS)
    put(root, "laptop.txt", LAPTOP)
    sync_folder(root, "hr", kb, settings, progress=False)
    (root / "laptop.txt").unlink()
    put(root, "insurance.txt", INSURANCE)

    def unmount(step: str) -> None:
        if step.startswith("reading"):  # after the scan, while files are read
            root.rename(tmp_path / "away")

    report = sync_folder(root, "hr", kb, settings, progress=False, on_step=unmount)
    assert report.refused == "the folder went away during the sync" and not report.deleted
    assert [f for f, _ in report.failed] == ["insurance.txt"]
    assert {d.metadata["source_path"] for d in kb.list_documents(collections=["hr"])} == {
        "hours.txt",
        "laptop.txt",
    }


def test_watch_picks_up_changes_and_waits_for_a_folder_that_comes_back(tmp_path, settings):
    root = tmp_path / "drive"
    put(root, "hours.txt", HOURS)
    quick = settings.model_copy(
        update={
            "sync": settings.sync.model_copy(update={"watch_poll_s": 0.02, "watch_debounce_s": 0})
        }
    )
    runs: list[int] = []
    ran = threading.Semaphore(0)
    stop = threading.Event()

    def run() -> None:
        try:
            runs.append(len(list(root.rglob("*.txt"))))
        finally:
            ran.release()

    watcher = threading.Thread(target=watch, args=(root, quick, run, stop))
    watcher.start()
    try:
        assert ran.acquire(timeout=30)  # the first sync, at once
        put(root, "laptop.txt", LAPTOP)
        assert ran.acquire(timeout=30)
        root.rename(tmp_path / "away")  # unmounted: waited for, not synced as empty
        (tmp_path / "away").rename(root)
        put(root, "insurance.txt", INSURANCE)
        assert ran.acquire(timeout=30)
    finally:
        stop.set()
        watcher.join(timeout=30)
    assert runs[:2] == [1, 2] and runs[-1] == 3


@pytest.fixture
def source_app(tmp_path, settings, make_demo_services):
    """The server with one source (hr) and keys: a full one, one that writes hr, one that
    reads only public."""
    from tools.settings import ApiKey, SourceEntry

    root = tmp_path / "drive"
    put(root, "leave.txt", LEAVE.format(days=15))
    keys = [
        "full-key-0123456789abcdef",
        ApiKey(name="hr-writer", key="hr-key-0123456789abcdef", read=["hr"], write=["hr"]),
        ApiKey(name="reader", key="pub-key-0123456789abcdef", read=["public"], write=[]),
    ]
    configured = settings.model_copy(
        update={
            "api_keys": keys,
            "sources": [SourceEntry(path=root, collection="hr", every_minutes=60)],
        }
    )
    services = make_demo_services(configured)
    with TestClient(create_app(configured, services=services)) as client:
        client.app.state.vinarag.sources.wait_idle(0, timeout=60)  # the run at start
        yield client, root


@pytest.mark.slow
def test_the_server_syncs_its_sources_and_records_every_write(source_app):
    client, root = source_app
    full = {"X-API-Key": "full-key-0123456789abcdef"}
    writer = {"X-API-Key": "hr-key-0123456789abcdef"}
    reader = {"X-API-Key": "pub-key-0123456789abcdef"}
    [source] = client.get("/sources", headers=writer).json()["sources"]
    assert source["last"]["added"] == ["leave.txt"] and source["next_run"] > source["last_ended"]
    assert client.get("/sources", headers=reader).json()["sources"] == []  # not its collection
    assert client.post("/sources/0/sync", headers=reader).status_code == 404
    put(root, "hours.txt", HOURS)
    now = client.post("/sources/0/sync?wait=true", headers=writer)
    assert now.status_code == 202 and now.json()["last"]["added"] == ["hours.txt"]
    upload = client.post(
        "/documents/files?collection=hr&wait=true",
        files={"files": ("laptop.txt", LAPTOP.encode())},
        headers=writer,
    )
    assert upload.status_code == 200
    doc_id = upload.json()["added"][0]
    assert client.delete(f"/documents/{doc_id}?collection=hr", headers=writer).status_code == 200

    assert client.get("/audit", headers=writer).status_code == 403  # a scoped key
    entries = client.get("/audit", headers=full).json()["entries"]
    assert [(e["actor"], e["action"]) for e in entries] == [
        ("hr-writer", "delete"),
        ("hr-writer", "ingest"),
        ("hr-writer", "sync"),
        ("schedule", "sync"),
    ]
    assert entries[0]["doc_ids"] == [doc_id] and entries[1]["counts"]["added"] == 1
    assert entries[2]["counts"]["added"] == 1 and entries[3]["source"] == str(root.resolve())
    assert {e["collection"] for e in entries} == {"hr"}
    assert client.get("/audit?collection=public", headers=full).json()["entries"] == []
    assert client.get("/audit?since=2999-01-01", headers=full).json()["entries"] == []
    assert client.get("/audit?since=yesterday", headers=full).status_code == 422

    # what the documents page reads: the synced files with their source, their chunks
    listed = client.get("/documents?collection=hr", headers=writer).json()["documents"]
    assert {d["source_path"] for d in listed} == {"leave.txt", "hours.txt"}
    assert all(d["size_bytes"] and d["updated_at"] and d["chunks"] == 1 for d in listed)
    found = client.get("/documents?collection=hr&q=HOURS", headers=writer).json()["documents"]
    assert [d["source_path"] for d in found] == ["hours.txt"]
    chunks = client.get(f"/documents/{found[0]['doc_id']}/chunks?collection=hr", headers=writer)
    assert chunks.json()["chunks"][0]["text"] == HOURS
    assert client.get("/documents?collection=hr", headers=reader).status_code == 404
    hidden = client.get(f"/documents/{found[0]['doc_id']}/chunks?collection=hr", headers=reader)
    assert hidden.status_code == 404
    assert client.get("/documents/nope/chunks?collection=hr", headers=writer).status_code == 404


@pytest.mark.slow
def test_answers_follow_a_replacement_and_a_removal(tmp_path, settings, make_demo_services):
    from langgraph.checkpoint.memory import InMemorySaver

    services = make_demo_services()
    kb = services.retrieval.kb
    root = tmp_path / "drive"
    put(root, "leave.txt", LEAVE.format(days=15))
    put(root, "hours.txt", HOURS)
    sync_folder(root, "default", kb, settings, progress=False)
    graph = build_graph(services=services)
    conversation = build_graph(services=services, checkpointer=InMemorySaver())
    asked = {"question": "Nhân viên được nghỉ phép bao nhiêu ngày mỗi năm?"}
    assert "15 ngày" in graph.invoke(asked)["answer"]
    assert graph.invoke(asked)["cache_hit"] is True
    thread = {"configurable": {"thread_id": "t"}}
    assert "15 ngày" in conversation.invoke(asked, thread)["answer"]

    put(root, "leave.txt", LEAVE.format(days=18))
    sync_folder(root, "default", kb, settings, progress=False)
    again = graph.invoke(asked)
    assert "18 ngày" in again["answer"] and "15 ngày" not in again["answer"]
    assert again["cache_hit"] is False  # the cached answer quoted the old version
    follow = conversation.invoke({"question": "Còn nửa năm thì được nghỉ phép mấy ngày?"}, thread)
    assert any("đã được cập nhật" in n for n in follow["notes"])
    assert "15 ngày" not in follow["answer"]

    (root / "leave.txt").unlink()
    sync_folder(root, "default", kb, settings, progress=False)
    gone = graph.invoke(asked)
    assert not any(s["doc_id"].startswith("leave") for s in gone.get("sources", []))
    assert "18 ngày" not in gone["answer"]
    follow = conversation.invoke({"question": "Còn nửa năm thì được nghỉ phép mấy ngày?"}, thread)
    assert any("đã bị gỡ" in n for n in follow["notes"]) and "18 ngày" not in follow["answer"]
    del services  # closed by the fixture


@pytest.mark.slow
def test_sync_and_audit_commands(vinarag, tmp_path):
    root = tmp_path / "drive"
    put(root, "leave.txt", LEAVE.format(days=15))
    first = vinarag("sync", str(root), "--collection", "hr", "--quiet")
    assert first.returncode == 0 and "added    leave.txt" in first.stdout
    (root / "leave.txt").unlink()
    refused = vinarag("sync", str(root), "--collection", "hr", "--quiet")
    assert refused.returncode == 1 and "nothing deleted" in refused.stderr
    missing = vinarag("sync", str(tmp_path / "nowhere"), "--quiet")
    assert missing.returncode == 1 and "cannot read the folder" in missing.stderr
    loose = put(tmp_path / "loose", "laptop.txt", LAPTOP)
    assert vinarag("ingest", "--quiet", "--collection", "hr", str(loose)).returncode == 0
    assert vinarag("delete", "--collection", "hr", file_doc_id(loose)).returncode == 0
    audit = vinarag("audit", "--collection", "hr")
    lines = audit.stdout.splitlines()
    assert [line.split()[3] for line in lines] == ["delete", "ingest", "sync", "sync"]
    assert all(line.split()[2].startswith("cli") for line in lines)
    assert "max_delete_share" in lines[2] and "added 1" in lines[3]
    assert f"deleted 1: {file_doc_id(loose)}" in lines[0]  # the document named, not only counted
    entries = json.loads(vinarag("audit", "--json").stdout)
    assert entries[0]["doc_ids"] == [file_doc_id(loose)] and len(entries) == 5
    assert entries[2]["collection"] == "default" and entries[2]["detail"].startswith("cannot read")
    assert vinarag("audit", "--since", "not-a-date").returncode == 2


@pytest.mark.slow
def test_the_sync_benchmark_counts_what_each_run_did(vinarag, tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    rows = [{"id": f"p{i}", "title": f"Bài {i}", "text": LEAVE.format(days=i)} for i in range(5)]
    corpus.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), "utf-8")
    out = tmp_path / "sync.json"
    ran = vinarag(
        "eval",
        "sync",
        "--corpus",
        str(corpus),
        "--files",
        "60",
        "--repeats",
        "1",
        "--json",
        str(out),
    )
    assert ran.returncode == 0, ran.stderr
    result = json.loads(out.read_text("utf-8"))
    assert result["first_sync"]["added"] == 60 and result["nothing_changed"][0]["unchanged"] == 60
    changes = result["after_changes"]
    assert (changes["renamed"], changes["changed"], changes["deleted"]) == (6, 3, 2)


@pytest.mark.slow
def test_the_sync_benchmark_on_real_laws_embeds_only_what_an_edit_touched(vinarag, tmp_path):
    folder = tmp_path / "laws"
    folder.mkdir()
    smallest = sorted(LAWS_VN.glob("*.txt"), key=lambda p: p.stat().st_size)[:2]
    for law in smallest:
        (folder / law.name).write_bytes(law.read_bytes())
    out = tmp_path / "sync.json"
    ran = vinarag(
        "eval", "sync", "--folder", str(folder), "--repeats", "1", "--json", str(out), dense=True
    )
    assert ran.returncode == 0, ran.stderr
    result = json.loads(out.read_text("utf-8"))
    first, after = result["first_sync"], result["after_changes"]
    assert result["dense"] and first["added"] == 2 and result["chunks"] > 4
    assert first["passages_embedded"] == result["chunks"]  # the backfill embedded every chunk
    assert first["searchable_seconds"] <= first["seconds"]
    assert result["nothing_changed"][0]["passages_embedded"] == 0
    assert (after["renamed"], after["changed"], after["deleted"]) == (1, 1, 0)
    assert 1 <= after["passages_embedded"] <= 3  # the edited line's chunks, not the law's
    assert "searchable in" in ran.stdout

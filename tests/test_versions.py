"""Versions of one law side by side: the header says when each takes effect, what it replaces or
amends, whether it is a consolidated text; an answer comes from the version in force and says
that the others exist. The laws are the project's sample law in versions written for tests."""

from datetime import date

import pytest

from evals.law_sample import LAW_NOT_IN_FORCE, LAW_TEXT, LAW_VERSIONS
from graph import build_graph
from tools.corpus.documents import Document
from tools.corpus.passages import Passage
from tools.ingest.legal import parse_header
from tools.ingest.pipeline import ingest_documents
from tools.kb.versions import choose_versions

TODAY = date(2026, 12, 6)
FINE = "Người đóng đinh vào thân cây bị phạt bao nhiêu tiền?"


def passage(doc_id: str, score: float = 1.0, **meta) -> Passage:
    metadata = {"loai": "Luật", "ten": "Vườn cây đô thị"} | meta
    label = f"{metadata['loai']} {metadata['ten']} ({meta.get('so_hieu', doc_id)})"
    metadata["van_ban"] = label
    return Passage(
        id=f"{doc_id}-1", doc_id=doc_id, title=label, text="...", source=f"{doc_id}.txt",
        position=0, location=label, score=score, metadata=metadata,
    )  # fmt: skip


def test_the_header_says_when_a_text_takes_effect_and_what_it_replaces():
    header = parse_header(LAW_TEXT)
    assert (header.date, header.effective) == ("2025-06-12", "2026-01-01")
    assert header.replaces == () and header.amends is None and not header.consolidated
    replacing = LAW_TEXT.replace(
        "Luật này có hiệu lực thi hành từ ngày 01 tháng 01 năm 2026.",
        "Luật này có hiệu lực kể từ ngày ký.\nLuật Vườn cây đô thị số 12/2019/QH14 hết hiệu lực "
        "kể từ ngày Luật này có hiệu lực thi hành.",
    )
    header = parse_header(replacing)
    assert header.effective == "2025-06-12"  # "kể từ ngày ký": the date it was signed
    assert header.replaces == ("12/2019/QH14",)  # not its own number
    amending = LAW_TEXT.replace(
        "LUẬT\nVƯỜN CÂY ĐÔ THỊ", "LUẬT\nSỬA ĐỔI, BỔ SUNG MỘT SỐ ĐIỀU CỦA\nLUẬT VƯỜN CÂY ĐÔ THỊ"
    )
    assert parse_header(amending).amends == "Luật vườn cây đô thị"
    consolidated = LAW_TEXT.replace("Luật số: 99/2025/QH15", "VĂN BẢN HỢP NHẤT\nSố: 05/VBHN-VPQH")
    header = parse_header(consolidated)
    assert header.consolidated and header.number == "05/VBHN-VPQH" and header.kind == "Luật"
    metadata = header.metadata()
    assert metadata["hop_nhat"] is True and metadata["hieu_luc"] == "2026-01-01"
    assert "thay_the" not in metadata and "sua_doi" not in metadata  # nothing said: no field


def test_the_version_in_force_is_chosen():
    old = passage("old", so_hieu="12/2019/QH14", ngay="2019-11-20", hieu_luc="2020-07-01")
    new = passage("new", 0.5, so_hieu="99/2025/QH15", ngay="2025-06-12", hieu_luc="2026-01-01")
    future = passage("future", so_hieu="50/2026/QH15", ngay="2026-11-01", hieu_luc="2099-01-01")
    other = passage("other", ten="Vườn cây nông thôn", so_hieu="98/2025/QH15", ngay="2025-06-12")
    [choice] = choose_versions([old, new, future, other], TODAY)
    assert choice.chosen.doc_id == "new"  # not the best scored, not the one not yet in force
    assert [v.doc_id for v in choice.older] == ["old"]
    assert [v.doc_id for v in choice.not_yet] == ["future"]
    notice = choice.notice()
    assert "99/2025/QH15" in notice and "01/01/2026" in notice and "12/2019/QH14" in notice
    assert "sẽ có hiệu lực từ 01/01/2099" in notice
    # before the new law takes effect, the old one is the law
    [before] = choose_versions([old, new], date(2025, 12, 31))
    assert before.chosen.doc_id == "old" and [v.doc_id for v in before.not_yet] == ["new"]
    assert choose_versions([new, other], TODAY) == []  # two laws, one version each
    # a question that named the old version is answered from it, and told which is in force
    [named] = choose_versions([old, new, future], TODAY, named={"old"})
    assert (named.chosen.doc_id, named.current.doc_id) == ("old", "new")
    assert named.older == () and [v.doc_id for v in named.not_yet] == ["future"]
    assert "như câu hỏi nêu" in named.notice() and "99/2025/QH15" in named.notice()


def test_replacement_consolidation_and_amendment():
    old = passage("old", ten="Cây xanh đô thị", so_hieu="12/2019/QH14", ngay="2019-11-20")
    # another name, but it replaces the old number: the same law
    new = passage("new", so_hieu="99/2025/QH15", ngay="2025-06-12", thay_the=["12/2019/QH14"])
    [choice] = choose_versions([old, new], TODAY)
    assert choice.chosen.doc_id == "new" and [v.doc_id for v in choice.older] == ["old"]
    # a consolidated text of the same day carries the amendments: it wins the tie
    merged = passage("merged", so_hieu="05/VBHN-VPQH", ngay="2025-06-12", hop_nhat=True)
    [choice] = choose_versions([new, merged], TODAY)
    assert choice.chosen.doc_id == "merged"
    # an amending law changes some articles: kept beside the law, never chosen instead of it
    amending = passage(
        "amending", ten="Sửa đổi, bổ sung một số điều của Luật Vườn cây đô thị",
        so_hieu="30/2026/QH15", ngay="2026-06-01", sua_doi="Luật Vườn cây đô thị",
    )  # fmt: skip
    [choice] = choose_versions([old, new, amending], TODAY)
    assert choice.chosen.doc_id == "new" and [v.doc_id for v in choice.amendments] == ["amending"]
    assert choose_versions([new, amending], TODAY) == []  # one text and its amendment
    # dates nobody could read: the order they came in, never an error
    assert choose_versions([passage("a", ngay="bad"), passage("b")], TODAY)[0].chosen


@pytest.fixture
def versions_services(make_demo_services):
    services = make_demo_services()
    urban = [v for v in (*LAW_VERSIONS, LAW_NOT_IN_FORCE) if v.doc_id.startswith("urban")]
    documents = [Document(v.doc_id, v.doc_id, v.text, f"{v.doc_id}.txt") for v in urban]
    ingest_documents(documents, services.retrieval.kb, services.settings)
    return services


def test_the_answer_comes_from_the_version_in_force_and_says_so(versions_services):
    versions_graph = build_graph(services=versions_services)
    result = versions_graph.invoke({"question": FINE})  # every version answers it
    assert "hai triệu đồng" in result["answer"]
    assert {s["doc_id"] for s in result["sources"]} == {"urban-2025"}
    [chose] = [p for p in result["path"] if p["node"] == "choose_version"]
    [law] = chose["laws"]
    assert law["chosen"] == "Luật Vườn cây đô thị 2025 (99/2025/QH15)"
    assert law["older"] == ["Luật Vườn cây đô thị 2019 (12/2019/QH14)"]
    assert law["not_in_force"] == ["Luật Vườn cây đô thị 2026 (50/2026/QH15)"]
    [note] = result["notes"]
    assert "99/2025/QH15" in note and "12/2019/QH14" in note and "01/01/2099" in note
    # a question that names the old version is answered from it, with nothing to choose
    named = versions_graph.invoke({"question": f"Theo Luật Vườn cây đô thị năm 2019, {FINE}"})
    assert "một triệu đồng" in named["answer"]
    assert {s["doc_id"] for s in named["sources"]} == {"urban-2019"}
    assert "choose_version" not in [p["node"] for p in named["path"]] and not named["notes"]


def test_the_openai_route_says_which_version_in_its_message(settings, versions_services):
    from fastapi.testclient import TestClient

    from server.main import create_app

    with TestClient(create_app(settings, services=versions_services)) as client:
        reply = client.post(
            "/v1/chat/completions",
            json={"model": "vinarag", "messages": [{"role": "user", "content": FINE}]},
        ).json()
    content = reply["choices"][0]["message"]["content"]
    answer, notes_and_sources = content.split("\n\nTrả lời theo ", 1)
    assert "hai triệu đồng" in answer
    assert notes_and_sources.startswith("Luật Vườn cây đô thị 2025 (99/2025/QH15)")
    assert "\n\nNguồn:\n[1] Luật Vườn cây đô thị 2025 (99/2025/QH15)" in notes_and_sources
    assert reply["vinarag"]["notes"] == ["Trả lời theo " + notes_and_sources.split("\n\n")[0]]


def test_version_benchmark(settings):
    """`vinarag eval documents`' version figures: the same questions, preference off and on."""
    from evals.documents_benchmark import version_figures

    figures = version_figures(settings)
    off, on = figures["prefer_in_force off"], figures["prefer_in_force on"]
    assert off["questions"] == on["questions"] == 10
    assert on["sources_all_from_the_version_in_force"] == 1.0
    assert off["sources_all_from_the_version_in_force"] < 1.0
    assert on["answer_says_which_version"] == 1.0 and on["fine_from_the_version_in_force"]

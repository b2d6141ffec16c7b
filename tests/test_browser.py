"""A person's view: headless Chromium opens the LangServe playground, asks a Vietnamese question
and finds the answer with a citation on the page. The screenshot is kept in test-artifacts/."""

import shutil

import pytest

from server.main import create_app
from tests.helpers import REPO, LiveServer, need

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture
def browser():
    need(
        shutil.which(CHROMIUM) is not None,
        f"Chromium not installed at {CHROMIUM} (make test installs it as root)",
    )
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def test_playground_answers_a_vietnamese_question(settings, demo_services, browser):
    artifacts = REPO / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    with LiveServer(create_app(settings, services=demo_services)) as server:
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{server.url}/rag/playground/")
        question = page.locator("textarea[id='#/properties/question-input']")
        question.wait_for(timeout=30_000)
        question.fill("Ai là tác giả Truyện Kiều?")
        page.get_by_role("button", name="Start").click()
        page.get_by_text("Nguyễn Du", exact=False).first.wait_for(timeout=30_000)
        page.screenshot(path=str(artifacts / "playground.png"), full_page=True)
        content = page.content()
        assert "[1]" in content and "Truyện Kiều" in content
        assert not errors, errors


def test_chat_page_for_the_people_who_ask(settings, demo_services, browser, tmp_path):
    """The end users' page at /: a scoped key entered once, a Vietnamese question answered
    with its tokens streamed, a citation opened on its highlighted sentence, a file uploaded
    into the writable collection and counted, the collection switched, a thumbs up sent."""
    from tools.settings import ApiKey

    key = "team-key-0123456789abcdef"
    other = "other-key-0123456789abcdef"
    scoped = ApiKey(name="team", key=key, read=["default", "hr"], write=["hr"])
    configured = settings.model_copy(update={"api_keys": [scoped, other]})
    rule = tmp_path / "nghi_phep.txt"
    rule.write_text("Quy định nghỉ phép: nhân viên được nghỉ phép 15 ngày mỗi năm.", "utf-8")
    artifacts = REPO / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    with LiveServer(create_app(configured, services=demo_services)) as server:
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        opened = page.goto(f"{server.url}/")
        assert opened is not None
        policy = opened.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "script-src 'self'" in policy
        assert opened.headers["x-frame-options"] == "DENY"
        assert opened.headers["x-content-type-options"] == "nosniff"
        page.locator("#api-key").fill(key)  # no key yet: the key panel is open
        page.locator("#key-form button").click()
        page.locator("#collection option[value='hr']").wait_for(state="attached")
        assert "customer" not in page.locator("#collection").inner_text()
        # an empty conversation says what is loaded and offers questions about it
        page.locator("#examples .example").nth(2).wait_for()
        assert "40 tài liệu" in page.locator("#welcome").inner_text()
        assert page.locator("#settings").is_hidden()  # the key saved: its panel closes

        page.locator("#question").fill("Ai là tác giả Truyện Kiều?")
        page.locator("#ask").click()
        answer = page.locator(".turn .answer").last
        answer.locator(".cite").first.wait_for(timeout=30_000)
        assert "Nguyễn Du" in answer.inner_text()
        answer.locator(".cite").first.click()
        highlighted = page.locator("#source-text mark")
        highlighted.wait_for()
        assert (
            highlighted.inner_text().strip() and "Nguyễn Du" in page.locator("#source").inner_text()
        )
        page.screenshot(path=str(artifacts / "chat.png"), full_page=True)
        page.locator("#source-close").click()

        page.locator("#collection").select_option("hr")
        assert page.locator("#upload-target").inner_text() == "hr"
        page.locator("#files").set_input_files(str(rule))
        page.locator("#upload-form button").click()
        page.get_by_text("thêm 1", exact=False).wait_for(timeout=30_000)
        page.locator("#collection option[value='hr']").filter(has_text="1 tài liệu").wait_for(
            state="attached"
        )
        page.locator("#question").fill("Nhân viên được nghỉ phép bao nhiêu ngày?")
        page.locator("#ask").click()
        page.locator(".turn").nth(1).locator(".cite").first.wait_for(timeout=30_000)
        assert "15 ngày" in page.locator(".turn").nth(1).locator(".answer").inner_text()
        assert page.locator(".turn").nth(1).locator(".sources").inner_text().startswith("nghi phep")
        page.locator(".turn").nth(1).locator(".up").click()
        page.get_by_text("Cảm ơn góp ý", exact=False).wait_for()

        page.set_viewport_size({"width": 390, "height": 844})  # a phone
        page.reload()  # the conversation and the key are kept by the browser
        page.locator(".turn").nth(1).locator(".cite").first.wait_for()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(artifacts / "chat-phone.png"), full_page=True)

        # Another key on the same browser: the stored conversation is not shown to it.
        if not page.locator("#api-key").is_visible():
            page.locator("#settings-toggle").click()
        page.locator("#api-key").fill(other)
        page.locator("#key-form button").click()
        page.wait_for_function("document.querySelectorAll('.turn').length === 0")
        assert page.evaluate("localStorage.getItem('vinarag.turns')") is None
        page.reload()
        assert page.locator(".turn").count() == 0
        assert not errors, errors  # a Content-Security-Policy violation would show here


def test_chat_page_asks_back_with_buttons(settings, make_demo_services, browser):
    """A question that could be about two laws: the page shows the question back and the laws
    as buttons; a click answers it from the law picked, in the same conversation."""
    from evals.law_sample import LAW_VERSIONS
    from tools.corpus.documents import Document
    from tools.ingest.pipeline import ingest_documents

    services = make_demo_services()
    laws = [v for v in LAW_VERSIONS if v.doc_id in ("urban-2025", "rural")]
    documents = [Document(v.doc_id, v.doc_id, v.text, f"{v.doc_id}.txt") for v in laws]
    ingest_documents(documents, services.retrieval.kb, services.settings)
    artifacts = REPO / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    with LiveServer(create_app(settings, services=services)) as server:
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{server.url}/")
        page.locator("#question").fill("Luật này có hiệu lực từ ngày nào?")
        page.locator("#ask").click()
        options = page.locator(".turn").first.locator(".options button")
        options.first.wait_for(timeout=30_000)
        assert options.all_inner_texts() == [
            "Luật Vườn cây đô thị 2025 (99/2025/QH15)",
            "Luật Vườn cây nông thôn 2025 (98/2025/QH15)",
        ]
        assert "Bạn hỏi về văn bản nào?" in page.locator(".turn .answer").first.inner_text()
        page.screenshot(path=str(artifacts / "chat-ask-back.png"), full_page=True)
        options.nth(1).click()
        second = page.locator(".turn").nth(1)
        second.locator(".cite").first.wait_for(timeout=30_000)
        assert (
            second.locator(".question").inner_text()
            == "Luật Vườn cây nông thôn 2025 (98/2025/QH15)"
        )
        assert "01 tháng 7 năm 2026" in second.locator(".answer").inner_text()
        assert options.first.is_disabled()  # picked once
        page.set_viewport_size({"width": 390, "height": 844})
        page.reload()  # the stored conversation shows the buttons again, answered, on a phone
        page.locator(".turn").nth(1).locator(".cite").first.wait_for()
        assert page.locator(".turn").first.locator(".options button").first.is_disabled()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(artifacts / "chat-ask-back-phone.png"), full_page=True)
        assert not errors, errors


def test_documents_page_lists_opens_deletes_and_syncs(
    settings, make_demo_services, browser, tmp_path
):
    """The documents page: a collection's documents with their facts, a law's chunks with their
    article, a search by title without marks, delete with a write key, a synced folder and its
    "sync now"; a read-only key sees no write controls; desktop and phone widths."""
    from evals.law_sample import LAW_TEXT
    from tools.settings import ApiKey, SourceEntry

    drive = tmp_path / "drive"
    drive.mkdir()
    (drive / "luat-vuon-cay.txt").write_text(LAW_TEXT, "utf-8")
    writer = ApiKey(name="hr", key="hr-key-0123456789abcdef", read=["hr"], write=["hr"])
    reader = ApiKey(name="reader", key="read-key-0123456789abcdef", read=["hr"], write=[])
    configured = settings.model_copy(
        update={
            "api_keys": [writer, reader],
            "sources": [SourceEntry(path=drive, collection="hr", every_minutes=60)],
        }
    )
    services = make_demo_services(configured)
    artifacts = REPO / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    app = create_app(configured, services=services)
    with LiveServer(app) as server:
        app.state.vinarag.sources.wait_idle(0, timeout=60)
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("dialog", lambda dialog: dialog.accept())
        opened = page.goto(f"{server.url}/tai-lieu")
        assert (
            opened is not None and "script-src 'self'" in opened.headers["content-security-policy"]
        )
        page.locator("#api-key").fill(writer.key)
        page.locator("#key-form button").click()
        law = page.locator(".document").first
        law.wait_for(timeout=30_000)
        assert law.locator("h3").inner_text() == "Luật Vườn cây đô thị 2025 (99/2025/QH15)"
        assert "luat-vuon-cay.txt" in law.locator(".facts").inner_text()
        synced = page.locator("#source-list").inner_text()
        assert "drive" in synced and "thêm 1" in synced and "Đồng bộ ngay" in synced
        assert str(drive) not in synced  # the folder by its name, never the server's path
        text = page.locator("body").inner_text()
        assert "vector" not in text and "việc " not in text  # no internal words
        assert law.locator(".reupload").count() == 0  # a synced file is replaced in its folder
        law.locator(".view").click()
        page.locator("#chunk-list li").first.wait_for()
        assert "Điều 6" in page.locator("#chunk-list").inner_text()
        page.screenshot(path=str(artifacts / "documents.png"), full_page=True)
        page.locator("#chunks-close").click()

        (drive / "quy-dinh.txt").write_text("Quy định nghỉ phép: 15 ngày mỗi năm.", "utf-8")
        page.locator(".sync-now").click()
        page.locator(".document").nth(1).wait_for(timeout=30_000)
        expect = pytest.importorskip("playwright.sync_api").expect
        documents = page.locator(".document")
        page.locator("#search").fill("vuon cay")  # without marks
        expect(documents).to_have_count(1)
        page.locator("#search").fill("")
        expect(documents).to_have_count(2)
        page.locator(".document", has_text="quy-dinh").locator(".delete").click()
        expect(documents).to_have_count(1)

        # an upload goes through its job: each phase said, the document listed, the outcome kept
        handbook = tmp_path / "so-tay.txt"
        handbook.write_text("Sổ tay nhân viên: giờ làm việc từ 8 giờ đến 17 giờ.", "utf-8")
        page.locator("#files").set_input_files(str(handbook))
        page.locator("#upload-form button").click()
        line = page.locator("#upload-jobs li").first
        expect(line).to_contain_text("xong: thêm 1", timeout=60_000)
        expect(documents).to_have_count(2)
        assert "so-tay.txt" in line.inner_text() and "/" not in line.inner_text()
        # a file that cannot go in: the reason in Vietnamese, not the server's English
        (tmp_path / "trong.txt").write_text("   \n", "utf-8")
        page.locator("#files").set_input_files(str(tmp_path / "trong.txt"))
        page.locator("#upload-form button").click()
        refused = page.locator("#upload-jobs li").first
        expect(refused).to_contain_text("tệp trống, không có chữ", timeout=60_000)
        assert "empty" not in refused.inner_text()
        page.screenshot(path=str(artifacts / "documents-upload.png"), full_page=True)

        page.set_viewport_size({"width": 390, "height": 844})
        page.reload()
        page.locator(".document").first.wait_for()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(artifacts / "documents-phone.png"), full_page=True)

        if not page.locator("#api-key").is_visible():
            page.locator("#settings-toggle").click()
        page.locator("#api-key").fill(reader.key)
        page.locator("#key-form button").click()
        expect(page.locator(".document .delete")).to_have_count(0)
        page.locator(".document").first.wait_for()
        assert page.locator(".sync-now").count() == 0 and page.locator("#upload-form").is_hidden()
        assert not errors, errors


def test_a_law_citation_highlights_the_quoted_clause_and_says_the_page_once(
    settings, make_demo_services, browser, tmp_path
):
    """The sample law as a PDF: the citation panel marks the sentence the answer quoted (not
    the article's heading line), names its clause, and says its page once."""
    from evals.documents_benchmark import write_law_files
    from tools.ingest.pipeline import ingest_paths

    services = make_demo_services()
    pdf = write_law_files(tmp_path)["pdf"]
    ingest_paths([pdf], services.retrieval.kb, services.settings, progress=False)
    artifacts = REPO / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    with LiveServer(create_app(settings, services=services)) as server:
        for device, viewport in (("desktop", (1100, 900)), ("phone", (390, 844))):
            width, height = viewport
            page = browser.new_page(viewport={"width": width, "height": height})
            errors: list[str] = []
            page.on("pageerror", lambda error, seen=errors: seen.append(str(error)))
            page.goto(f"{server.url}/")
            page.locator("#question").fill("Phí gửi xe máy ở vườn là bao nhiêu?")
            page.locator("#ask").click()
            answer = page.locator(".turn .answer").last
            answer.locator(".cite").first.wait_for(timeout=30_000)
            assert "năm nghìn đồng" in answer.inner_text()
            answer.locator(".cite").first.click()
            highlighted = page.locator("#source-text mark")
            highlighted.wait_for()
            assert "năm nghìn đồng một lượt" in highlighted.inner_text()
            assert not highlighted.inner_text().startswith("Điều")
            where = page.locator("#source-where").inner_text()
            assert "Điều 8, Khoản 2" in where and where.count("trang") == 1, where
            # the original page beside the text (under it on a phone), the quote highlighted
            image = page.locator("#source-image")
            image.wait_for(state="visible", timeout=30_000)
            page.wait_for_function("document.getElementById('source-image').naturalWidth > 0")
            cited_page = where.split("trang ")[1].split()[0].strip(",·")
            caption = page.locator("#source-caption").inner_text()
            assert caption.startswith(f"Bản gốc, trang {cited_page}/"), (caption, where)
            shown, text = image.bounding_box(), page.locator("#source-text").bounding_box()
            assert shown is not None and text is not None
            assert shown["x"] >= 0 and shown["x"] + shown["width"] <= width
            if device == "desktop":
                assert text["x"] >= shown["x"] + shown["width"]  # beside
            else:
                assert text["y"] >= shown["y"] + min(shown["height"], 100)  # under
            page.screenshot(path=str(artifacts / f"citation-page-{device}.png"))
            assert not errors, errors
            page.close()

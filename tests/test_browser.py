"""A person's view: headless Chromium opens the LangServe playground, asks a Vietnamese question
and finds the answer with a citation on the page. The screenshot is kept in test-artifacts/."""

import shutil

import pytest

from server.main import create_app
from tests.conftest import REPO, need
from tests.helpers import LiveServer

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
        question = page.locator("textarea").first
        question.wait_for(timeout=30_000)
        question.fill("Ai là tác giả Truyện Kiều?")
        page.get_by_role("button", name="Start").click()
        page.get_by_text("Nguyễn Du", exact=False).first.wait_for(timeout=30_000)
        page.screenshot(path=str(artifacts / "playground.png"), full_page=True)
        content = page.content()
        assert "[1]" in content and "Truyện Kiều" in content
        assert not errors, errors

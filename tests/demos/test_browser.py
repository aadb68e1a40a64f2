"""Use the demo as a student does: in a browser (headless Chromium), tab by tab, with the
example cases. Each tab's button must fill its outputs, the page must raise no errors, and a
full-page screenshot of each tab is kept as a test artefact (see ``artifacts_dir``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import playwright.sync_api as sync_api
import pytest

expect = sync_api.expect

pytestmark = pytest.mark.slow

DISCLAIMER = "A teaching tool, not for clinical use."
#: Bounds on every wait, in ms: the page loading, a UI update, a model's answer on 2 busy cores.
LOAD_MS = 60_000
UI_MS = 15_000
PREDICTION_MS = 120_000
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Gradio's page reads results from one event stream (server-sent events) and closes it
#: itself when no event is pending; Chromium reports that as an aborted request. Not an error.
CLOSED_STREAM = re.compile(r"net::ERR_ABORTED \S+/gradio_api/queue/data\?session_hash=\w+$")


@dataclass
class AppPage:
    page: object  # playwright.sync_api.Page
    url: str  # the demo's, http://127.0.0.1:PORT
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)  # no answer, or HTTP >= 400


@pytest.fixture(scope="module")
def app(browser, demo_url):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(UI_MS)
    opened = AppPage(page, demo_url)

    def on_console(message):
        if message.type == "error":
            opened.console_errors.append(f"{message.text} (at {message.location.get('url')})")

    def on_response(response):
        if response.status >= 400:
            opened.failed_requests.append(f"HTTP {response.status} {response.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: opened.page_errors.append(str(error)))
    page.on("requestfailed", lambda r: opened.failed_requests.append(f"{r.failure} {r.url}"))
    page.on("response", on_response)
    page.goto(demo_url, wait_until="load", timeout=LOAD_MS)
    expect(page.get_by_role("tab").first).to_be_visible(timeout=LOAD_MS)
    try:
        yield opened
    finally:
        page.close()


def open_tab(page, name: str):
    """Click a tab; returns its (visible) panel after checking that it shows the disclaimer."""
    tab = page.get_by_role("tab", name=name)
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true")
    panel = page.get_by_role("tabpanel").filter(visible=True)
    expect(panel).to_have_count(1)
    expect(panel.get_by_text(DISCLAIMER)).to_be_visible()
    return panel


def expect_image(page, elem_id: str):
    """The image output ``elem_id`` shows a picture (an ``<img>`` with a source)."""
    img = page.locator(f"#{elem_id} img")
    expect(img.first).to_be_visible(timeout=PREDICTION_MS)
    expect(img.first).to_have_attribute("src", re.compile(r"\S"))
    loaded = "i => i.complete && i.naturalWidth > 0"  # the picture arrived and decoded
    page.wait_for_function(loaded, arg=img.first.element_handle(), timeout=PREDICTION_MS)


def top_class(page, elem_id: str) -> str:
    value = page.locator(f"#{elem_id} [data-testid='label-output-value']")
    expect(value).to_have_text(re.compile(r"\S"), timeout=PREDICTION_MS)
    return value.inner_text().strip()


def wait_until_done(page, elem_id: str):
    """Wait until the event that updates output ``elem_id`` has finished: Gradio hides the
    output's status tracker (its progress overlay) then."""
    tracker = page.locator(f"#{elem_id} [data-testid='status-tracker']")
    expect(tracker).to_have_class(re.compile(r"\bhide\b"), timeout=PREDICTION_MS)


def save_screenshot(page, folder: Path, name: str) -> Path:
    path = folder / f"demo-{name}.png"
    path.unlink(missing_ok=True)
    page.screenshot(path=str(path), full_page=True)
    assert path.exists() and path.stat().st_size > 20_000, path
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    return path


def test_the_page_opens_with_its_title_and_disclaimer(app):
    expect(app.page).to_have_title("medai-edu demos")
    expect(app.page.get_by_text(DISCLAIMER).first).to_be_visible()
    names = [t.strip() for t in app.page.get_by_role("tab").all_inner_texts()]
    assert names == [
        "MOME-mini (breast MRI)",
        "mSTAR-mini (slides)",
        "MedDr-mini (chat)",
        "XAIM-mini (explanations)",
    ]


def test_mome_mini_predicts_the_example_case(app, artifacts_dir):
    page = app.page
    open_tab(page, "MOME-mini (breast MRI)")
    page.locator("#mri-predict").click()
    assert top_class(page, "mri-malignancy") in {"benign", "malignant"}
    expect_image(page, "mri-slices")
    expect_image(page, "mri-contributions")
    wait_until_done(page, "mri-slices")
    save_screenshot(page, artifacts_dir, "mome-mini")


def test_mstar_mini_predicts_the_example_slide(app, artifacts_dir):
    page = app.page
    open_tab(page, "mSTAR-mini (slides)")
    page.locator("#slide-predict").click()
    types = {"adenocarcinoma", "squamous cell carcinoma", "small cell carcinoma"}
    assert top_class(page, "slide-tumour-type") in types
    expect_image(page, "slide-heatmap")
    table = page.locator("#slide-reports")
    rows = table.get_by_role("row").filter(has=page.get_by_role("gridcell"))
    expect(rows.first).to_be_visible(timeout=PREDICTION_MS)
    expect(rows.first.get_by_role("gridcell").first).to_have_text("1")  # rank 1
    expect(rows.first).to_contain_text("REPORT")
    wait_until_done(page, "slide-heatmap")
    save_screenshot(page, artifacts_dir, "mstar-mini")


def test_meddr_mini_answers_a_question(app, artifacts_dir):
    page = app.page
    open_tab(page, "MedDr-mini (chat)")
    question = "what is the diagnosis?"
    page.locator("#chat-question textarea").fill(question)
    page.locator("#chat-send").click()
    chat = page.locator("#chat-chatbot")
    expect(chat.locator(".user-row").last).to_contain_text(question, timeout=PREDICTION_MS)
    answer = chat.locator(".bot-row").last
    expect(answer).to_contain_text(re.compile(r"\w"), timeout=PREDICTION_MS)
    wait_until_done(page, "chat-chatbot")  # the answer streams in: wait for its last word
    save_screenshot(page, artifacts_dir, "meddr-mini")


def test_xaim_mini_explains_the_example_case(app, artifacts_dir):
    page = app.page
    open_tab(page, "XAIM-mini (explanations)")
    page.locator("#xaim-explain").click()
    expect_image(page, "xaim-explanation")
    words = page.locator("#xaim-words textarea")
    expect(words).to_have_value(re.compile(r"^(Benign|Malignant)"), timeout=PREDICTION_MS)
    wait_until_done(page, "xaim-explanation")
    save_screenshot(page, artifacts_dir, "xaim-mini")


def from_outside(url: str | None, app: AppPage) -> bool:
    """Whether ``url`` is somewhere other than the demo's server (host and port)."""
    return bool(url) and urlsplit(url).netloc != urlsplit(app.url).netloc


def test_the_page_raised_no_errors(app):
    """Runs last: while the tabs above were used, the page raised no uncaught exception and
    logged no error, and every request to the demo was answered. The machine running the
    tests may have no internet: a resource from outside that fails to load (a web font, say)
    is printed, not failed on."""
    print("\npage errors:", *app.page_errors or ["none"], sep="\n  ")
    print("console errors:", *app.console_errors or ["none"], sep="\n  ")
    print("failed requests:", *app.failed_requests or ["none"], sep="\n  ")
    assert not app.page_errors
    outside = re.compile(r"\(at (https?://\S+)\)$")
    assert [
        e
        for e in app.console_errors
        if not (m := outside.search(e)) or not from_outside(m.group(1), app)
    ] == []
    assert [
        r
        for r in app.failed_requests
        if not from_outside(r.rsplit(" ", 1)[-1], app) and not CLOSED_STREAM.match(r)
    ] == []

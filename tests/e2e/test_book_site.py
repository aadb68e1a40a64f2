"""The built course book as a reader sees it: served over HTTP on 127.0.0.1 and read in
headless Chromium with no way out to the internet (every other request is blocked and
reported), because the book must work offline on the course machines.

Every page is opened once (module fixture ``site_visit``) and what the checks need is
recorded; each test then judges one aspect and lists every problem it found:

1. every page loads, with no console errors and no page errors (Thebe's double loader
   once logged "Identifier 'THEBE_JS_URL' has already been declared" on every page);
2. internal links, fragments and images resolve to files (and ids) of the site;
3. lab pages show executed figures, an "Open in JupyterHub" (nbgitpuller) button and a
   download link to the notebook;
4. math is typeset by MathJax served from ``_static/`` (no CDN), with no raw TeX left;
5. the search page finds a term of each course;
6. screenshots of the landing page and a lab of each course are kept as test artefacts.

The site is ``$MEDAI_BOOK_HTML`` or ``book/_build/html``; build it with ``make book``.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qs, unquote, urljoin, urlsplit

import playwright.sync_api as sync_api
import pytest

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
SITE_VARIABLE = "MEDAI_BOOK_HTML"
VIEWPORT = {"width": 1280, "height": 900}
#: Folders of the site that hold assets, not pages.
ASSET_FOLDERS = ("_static", "_sources", "_images")
#: Sphinx's generated pages: they must load, but hold no course content.
SERVICE_PAGES = ("genindex.html", "search.html")
#: Lab folders, the same in the repository (notebooks) and in the site (pages).
LAB_FOLDERS = ("labs/medical-ai", "labs/pathology")
#: The path of nbgitpuller's links into the hub (medai_edu.hub.links.nbgitpuller_link).
HUB_LINK = "/hub/user-redirect/git-pull?"
TEX_DELIMITERS = ("\\(", "\\)", "\\[", "\\]", "$$")
#: Fragments that MathJax or the theme's scripts make at run time: no id in the HTML file.
SCRIPT_FRAGMENTS = re.compile(r"^(mjx-|MathJax)")
SEARCHES = {  # term -> folders one of its results must lie in ("" = anywhere)
    "Hounsfield": ("course/medical-ai/", "labs/medical-ai/"),
    "Macenko": ("course/pathology/", "labs/pathology/"),
    "nbgitpuller": ("",),
}
SCREENSHOTS = {
    "landing.png": "index.html",
    "lab-medical-ai.png": "labs/medical-ai/01-medical-images-as-data.html",
    "lab-pathology.png": "labs/pathology/03-stain-colour.html",
}
MIN_SCREENSHOT_BYTES = 10_000
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CONSOLE_ERROR = "console error"
#: Bounds on every wait, in ms (2 busy cores).
LOAD_MS = 30_000
MATHJAX_MS = 15_000
SEARCH_MS = 20_000
#: A URL with a scheme (http:, mailto:, data:, ...) or protocol-relative: not a site file.
NOT_A_SITE_FILE = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*:|//)")
META_REFRESH = re.compile(
    r"<meta\s+http-equiv=[\"']refresh[\"']\s+content=[\"'][^\"']*url=([^\"']+)[\"']", re.I
)
UNRENDERED = re.compile(r"<(script|style|pre|code|textarea)\b.*?</\1\s*>", re.I | re.S)

#: What one visit reads from the page. The text leaves out what MathJax itself leaves
#: alone (code, scripts, ...), so that a TeX delimiter inside a code cell is not taken
#: for math MathJax failed to render.
READ_PAGE_JS = r"""() => {
  const skipped =
    "script, noscript, style, template, textarea, pre, code, annotation, annotation-xml";
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const texts = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.parentElement.closest(skipped)) texts.push(node.nodeValue);
  }
  const attributes = (selector, name) =>
    Array.from(document.querySelectorAll(selector), (element) => element.getAttribute(name));
  const figures = Array.from(document.querySelectorAll(".cell_output img, .output img"));
  return {
    links: attributes("a[href]", "href"),
    images: attributes("img[src]", "src"),
    figures: figures.filter((img) => img.complete && img.naturalWidth > 0).length,
    mathElements: document.querySelectorAll(".math, mjx-container").length,
    typeset: document.querySelectorAll("mjx-container").length,
    scripts: Array.from(document.scripts, (script) => script.src).filter(Boolean),
    text: texts.join(" "),
  };
}"""
MATHJAX_READY_JS = (
    "() => !window.MathJax || (window.MathJax.startup && window.MathJax.startup.promise)"
)
#: After "load" the deferred MathJax script has run, or failed: a config object without
#: ``startup`` means it never ran (blocked, missing), so there is nothing to wait for.
MATHJAX_STARTED_JS = "() => !window.MathJax || !!window.MathJax.startup"
MATHJAX_TYPESET_JS = """ms => !window.MathJax || Promise.race([
  window.MathJax.startup.promise.then(() => true),
  new Promise((resolve) => setTimeout(() => resolve(false), ms)),
])"""
SEARCH_DONE_JS = """() => {
  const summary = document.querySelector("#search-results .search-summary");
  return summary !== null && summary.textContent.trim().length > 0;
}"""


# --- the site and its files --------------------------------------------------------------


def site_folder() -> Path:
    """The built book; a failure (not a skip) when it is missing: the book is part of the kit."""
    folder = Path(os.environ.get(SITE_VARIABLE) or REPO_ROOT / "book" / "_build" / "html")
    if not (folder / "index.html").is_file():
        pytest.fail(
            f"no built book at {folder} (index.html missing): run `make book` "
            f"(or point ${SITE_VARIABLE} at a built site)",
            pytrace=False,
        )
    return folder.resolve()


def site_pages(site: Path) -> list[str]:
    """Every HTML page, as a site-relative POSIX path, asset folders left out; the landing
    page first, as a reader comes in (a first visit is when the theme sets its defaults)."""
    pages = []
    for path in site.rglob("*.html"):
        relative = path.relative_to(site).as_posix()
        if relative.split("/", 1)[0] not in ASSET_FOLDERS:
            pages.append(relative)
    return sorted(pages, key=lambda page: (page != "index.html", page))


def redirect_target(source: str) -> str | None:
    """Where a ``<meta http-equiv="refresh">`` page sends the reader (Jupyter Book's index)."""
    found = META_REFRESH.search(source)
    return found.group(1).strip() if found else None


def source_has_math(source: str) -> bool:
    """Raw TeX math in the HTML outside scripts and code (which MathJax leaves alone)."""
    text = UNRENDERED.sub("", source)
    return "\\(" in text or "$$" in text or "\\[" in text


class _IdCollector(HTMLParser):
    """The ids (and legacy ``<a name>``) of one HTML file: the targets of #fragments."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs) -> None:
        for name, value in attrs:
            if value and (name == "id" or (tag == "a" and name == "name")):
                self.ids.add(value)


def page_ids(file: Path, cache: dict[Path, set[str]]) -> set[str]:
    if file not in cache:
        collector = _IdCollector()
        collector.feed(file.read_text(encoding="utf-8", errors="replace"))
        cache[file] = collector.ids
    return cache[file]


def site_target(site: Path, page: str, reference: str) -> tuple[Path, str] | None:
    """The file (and fragment) that ``reference`` on ``page`` points to; ``None`` when it is
    not a file of the site (another scheme, another host). Query and fragment are
    stripped from the path; a folder means its ``index.html``."""
    if NOT_A_SITE_FILE.match(reference):
        return None
    base = "http://site.invalid/"
    parts = urlsplit(urljoin(base + page, reference))
    if parts.netloc != "site.invalid":
        return None
    relative = unquote(parts.path).lstrip("/")
    file = site / relative
    if relative == "" or relative.endswith("/") or file.is_dir():
        file = file / "index.html"
    return file, unquote(parts.fragment)


def report(problems: list[str], what: str) -> str:
    return f"{len(problems)} problem(s) with {what}:\n" + "\n".join(f"  {p}" for p in problems)


# --- serving and reading -----------------------------------------------------------------


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass  # one line per request would bury the test's own output


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass  # the browser dropping a connection is not the site's fault


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on 127.0.0.1 (a free port) in a thread; yields its base URL."""
    server = _QuietServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, name="book-site", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@dataclass
class Reader:
    """One tab that may reach only the site. It notes console errors, page errors and
    blocked requests (anything not to the site) until :meth:`take_problems` collects them."""

    page: sync_api.Page
    base: str
    problems: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base + path

    def site_path(self, url: str) -> str:
        return url[len(self.base) :] if url.startswith(self.base) else url

    def take_problems(self, console: bool = True) -> list[str]:
        """The problems noted since the last call; without console errors if ``console``
        is false (checks that judge one feature leave those to the page-load check)."""
        taken, self.problems = self.problems, []
        return [p for p in taken if console or not p.startswith(CONSOLE_ERROR)]

    def on_console(self, message) -> None:
        if message.type == "error":
            where = self.site_path(message.location.get("url") or "")
            at = f" [{where}]" if where else ""
            self.problems.append(f"{CONSOLE_ERROR}: {message.text}{at}")

    def on_page_error(self, error) -> None:
        self.problems.append(f"page error: {getattr(error, 'message', error)}")

    def block(self, route) -> None:
        self.problems.append(f"external request (blocked): {route.request.url}")
        route.abort("blockedbyclient")


@contextmanager
def open_reader(browser: sync_api.Browser, base: str) -> Iterator[Reader]:
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.set_default_timeout(LOAD_MS)
        reader = Reader(page, base)
        # Everything that does not start with the site's address is blocked and noted.
        context.route(re.compile("^(?!" + re.escape(base) + ")"), reader.block)
        page.on("console", reader.on_console)
        page.on("pageerror", reader.on_page_error)
        yield reader
    finally:
        context.close()


def wait_for_mathjax(page: sync_api.Page) -> str | None:
    """Wait until MathJax has typeset the page; a problem's text, or ``None`` when it did
    (or the page has no MathJax)."""
    if not page.evaluate(MATHJAX_STARTED_JS):
        return "MathJax is configured but its script never ran (blocked or missing?)"
    try:
        page.wait_for_function(MATHJAX_READY_JS, timeout=MATHJAX_MS)
    except sync_api.Error as error:
        return f"MathJax did not start: {error.message.splitlines()[0]}"
    if not page.evaluate(MATHJAX_TYPESET_JS, MATHJAX_MS):
        return f"MathJax did not finish typesetting within {MATHJAX_MS} ms"
    return None


def go_to(reader: Reader, path: str, redirect: str | None = None) -> int | None:
    """Open ``path``; follow its meta-refresh ``redirect`` if it has one. The HTTP status."""
    response = reader.page.goto(reader.url(path), wait_until="load", timeout=LOAD_MS)
    if redirect:
        target = urljoin(reader.url(path), redirect)
        reader.page.wait_for_url(target, wait_until="load", timeout=LOAD_MS)
    return response.status if response else None


@dataclass
class PageVisit:
    """What one page showed the browser, for the checks to judge."""

    path: str
    status: int | None = None
    problems: list[str] = field(default_factory=list)  # console, page errors, blocked
    redirect: str | None = None
    links: list[str] = field(default_factory=list)  # raw href of every a[href]
    images: list[str] = field(default_factory=list)  # raw src of every img[src]
    figures: int = 0  # decoded images in code-cell outputs
    has_math: bool = False
    typeset: int = 0  # mjx-container elements
    scripts: list[str] = field(default_factory=list)  # absolute src of every script
    text: str = ""  # the body's text outside code
    mathjax_problem: str | None = None


def visit(reader: Reader, site: Path, path: str) -> PageVisit:
    source = (site / path).read_text(encoding="utf-8", errors="replace")
    seen = PageVisit(path, redirect=redirect_target(source))
    try:
        seen.status = go_to(reader, path, seen.redirect)
        if seen.redirect:  # the target is visited on its own; only its link is checked
            seen.links = [seen.redirect]
        else:
            seen.mathjax_problem = wait_for_mathjax(reader.page)
            found = reader.page.evaluate(READ_PAGE_JS)
            seen.links, seen.images = found["links"], found["images"]
            seen.figures, seen.typeset = found["figures"], found["typeset"]
            seen.scripts, seen.text = found["scripts"], found["text"]
            seen.has_math = found["mathElements"] > 0 or source_has_math(source)
    except sync_api.Error as error:
        seen.problems.append(f"could not be read: {error.message.splitlines()[0]}")
    after = f" (after the redirect to {seen.redirect})" if seen.redirect else ""
    seen.problems += [problem + after for problem in reader.take_problems()]
    return seen


# --- fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site() -> Path:
    return site_folder()


@pytest.fixture(scope="module")
def site_url(site) -> Iterator[str]:
    with serve(site) as url:
        yield url


@pytest.fixture
def reader(browser, site_url) -> Iterator[Reader]:
    with open_reader(browser, site_url) as opened:
        yield opened


@pytest.fixture(scope="module")
def site_visit(browser, site, site_url) -> dict[str, PageVisit]:
    """Every page, opened once in one tab: the checks below judge what was recorded."""
    with open_reader(browser, site_url) as tab:
        return {path: visit(tab, site, path) for path in site_pages(site)}


# --- the checks --------------------------------------------------------------------------


def test_every_page_loads_without_errors(site_visit):
    """A reader sees every page, with no script failing: a console or page error (such as
    Thebe's "Identifier 'THEBE_JS_URL' has already been declared") or a request leaving
    the machine means a broken or online-only page."""
    assert site_visit, "the site has no pages"
    problems = []
    for path, seen in site_visit.items():
        if seen.status != 200:
            problems.append(f"{path}: HTTP status {seen.status}")
        problems += [f"{path}: {problem}" for problem in seen.problems]
    assert not problems, report(problems, "loading the pages")


def test_internal_links_and_images_resolve(site, site_visit):
    """Links and images between the book's pages must land on files (and ids) that exist:
    a broken one is a dead end for a student reading offline."""
    problems, ids = [], {}
    for path, seen in site_visit.items():
        references = [(href, "link") for href in seen.links if not href.startswith("#")]
        references += [(src, "image") for src in seen.images]
        for reference, kind in references:
            problem = broken_reference(site, path, reference, kind, ids)
            if problem:
                problems.append(f"{path} -> {reference} ({problem})")
    assert not problems, report(problems, "internal links and images")


def broken_reference(site: Path, page: str, reference: str, kind: str, ids: dict) -> str | None:
    """Why ``reference`` on ``page`` is broken, or ``None`` when it is fine or not internal."""
    target = site_target(site, page, reference)
    if target is None:
        return None
    file, fragment = target
    if not file.is_file():
        return f"{kind} target missing"
    other_page = file != site / page
    if kind == "link" and fragment and other_page and file.suffix == ".html":
        if not SCRIPT_FRAGMENTS.match(fragment) and fragment not in page_ids(file, ids):
            return f"no id {fragment!r} in {file.relative_to(site).as_posix()}"
    return None


def expected_labs() -> list[str]:
    """The lab pages the book must have: one per notebook in the repository's lab folders."""
    return sorted(
        f"{folder}/{notebook.stem}.html"
        for folder in LAB_FOLDERS
        for notebook in (REPO_ROOT / folder).glob("*.ipynb")
    )


def lab_problems(seen: PageVisit) -> list[str]:
    """What a lab page lacks: a figure, the JupyterHub button, the notebook's download."""
    notebook = PurePosixPath(seen.path).with_suffix(".ipynb").as_posix()  # labs/<course>/x.ipynb
    problems = []
    if seen.figures < 1:
        problems.append("no rendered figure in a code cell's output")
    hub_links = [href for href in seen.links if HUB_LINK in href]
    if not hub_links:
        problems.append(f"no 'Open in JupyterHub' link (an a[href] containing {HUB_LINK!r})")
    for href in hub_links:
        urlpath = parse_qs(urlsplit(href).query).get("urlpath", [""])[0]
        if not urlpath.endswith(notebook):
            problems.append(f"JupyterHub link's urlpath {urlpath!r} does not end with {notebook}")
    downloads = [
        href
        for href in seen.links
        if HUB_LINK not in href and urlsplit(href).path.endswith(PurePosixPath(notebook).name)
    ]
    if not downloads:
        problems.append(f"no download link to {PurePosixPath(notebook).name}")
    return problems


def test_lab_pages_show_figures_and_launch_buttons(site_visit):
    """A lab page is the executed notebook: its figures show, it opens in the course's
    JupyterHub (nbgitpuller link to this very notebook) and its notebook can be downloaded."""
    labs = expected_labs()
    assert labs, f"no lab notebooks under {REPO_ROOT}/labs"
    problems = []
    for path in labs:
        if path not in site_visit:
            problems.append(f"{path}: page missing from the site")
            continue
        problems += [f"{path}: {problem}" for problem in lab_problems(site_visit[path])]
    assert not problems, report(problems, f"the {len(labs)} lab pages")


def raw_tex(text: str) -> list[str]:
    """The TeX delimiters left in a page's text, each with a little context."""
    found = []
    for delimiter in TEX_DELIMITERS:
        at = text.find(delimiter)
        if at >= 0:
            context = " ".join(text[max(0, at - 30) : at + 30].split())
            found.append(f"raw TeX {delimiter} in the text: ...{context}...")
    return found


def math_problems(seen: PageVisit, base: str) -> list[str]:
    problems = [seen.mathjax_problem] if seen.mathjax_problem else []
    local = [
        src
        for src in seen.scripts
        if src.startswith(base + "_static/") and urlsplit(src).path.endswith("tex-mml-chtml.js")
    ]
    if not local:
        mathjax = [src for src in seen.scripts if "mathjax" in src.lower()] or "none"
        problems.append(f"no _static/**/tex-mml-chtml.js loaded (MathJax scripts: {mathjax})")
    if seen.typeset == 0:
        problems.append("math on the page but no mjx-container: MathJax typeset nothing")
    return problems + raw_tex(seen.text)


def test_math_is_rendered_offline(site_visit, site_url):
    """Every formula is typeset by the MathJax served with the book (a CDN copy would leave
    raw TeX on an offline machine), and no raw TeX delimiters are left in the text."""
    with_math = [seen for seen in site_visit.values() if seen.has_math]
    assert with_math, "no page has math: the course notes do, so the search for it is broken"
    problems = []
    for seen in with_math:
        problems += [f"{seen.path}: {problem}" for problem in math_problems(seen, site_url)]
    assert not problems, report(problems, f"math on {len(with_math)} page(s)")


def search_results(reader: Reader, term: str) -> list[str]:
    """The site paths of the search page's results for ``term`` (Sphinx's JS search)."""
    reader.page.goto(reader.url(f"search.html?q={term}"), wait_until="load")
    reader.page.wait_for_function(SEARCH_DONE_JS, timeout=SEARCH_MS)
    hrefs = reader.page.eval_on_selector_all(
        "#search-results li a[href]", "links => links.map((a) => a.href)"
    )
    return [reader.site_path(href) for href in hrefs]


def test_search_finds_both_courses(reader):
    """The search box works offline and finds each course's own terms in that course."""
    problems = []
    for term, folders in SEARCHES.items():
        try:
            found = search_results(reader, term)
        except sync_api.Error as error:
            problems.append(f"{term!r}: no results shown: {error.message.splitlines()[0]}")
            continue
        if not found:
            problems.append(f"{term!r}: no results")
        elif not any(path.startswith(folders) for path in found):
            problems.append(f"{term!r}: no result under {' or '.join(folders)} (got {found[:5]})")
    problems += [f"search page: {problem}" for problem in reader.take_problems(console=False)]
    assert not problems, report(problems, "the search page")


def test_screenshots(reader, site, artifacts_dir):
    """Full-page screenshots of the landing page and one lab of each course, kept for a
    person to look at (``tests/artifacts/book/``)."""
    folder = artifacts_dir / "book"
    folder.mkdir(parents=True, exist_ok=True)
    problems = []
    for name, path in SCREENSHOTS.items():
        shot = folder / name
        shot.unlink(missing_ok=True)
        source = (site / path).read_text(encoding="utf-8", errors="replace")
        try:
            go_to(reader, path, redirect_target(source))
            wait_for_mathjax(reader.page)
            reader.page.evaluate("() => document.fonts.ready.then(() => true)")
            reader.page.screenshot(path=str(shot), full_page=True)
        except sync_api.Error as error:
            problems.append(f"{name} ({path}): {error.message.splitlines()[0]}")
            continue
        if shot.read_bytes()[:8] != PNG_SIGNATURE or shot.stat().st_size <= MIN_SCREENSHOT_BYTES:
            problems.append(f"{name}: not a PNG over {MIN_SCREENSHOT_BYTES} bytes")
    assert not problems, report(problems, "the screenshots")

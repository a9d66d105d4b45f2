"""The built book on a reader's devices: a phone (390 px) and a laptop (1280 px), offline.

Run after the strict build (`make test` does both). Checks, per page and width:
- the page never scrolls sideways;
- every display equation and code block fits its column or scrolls inside its own box (a
  box that is cut off with no way to see the rest fails), and no equation number is drawn
  over its equation; at 1280 px every equation and code block must fit (strict: the chapters
  keep equations within a 640 px column and code lines within 79 characters);
- every image has an alt text that says something (not empty, not a file name or path, not
  the slider's default "Figure drawn by ...");
- the page's bytes (every file it loads), less its own figures (its images and the frames its
  sliders embed), stay under 1.5 MB.
Also: the sidebar toggles open and close at both widths (screenshot of a chapter at 390 px
with the navigation open: _build/screenshots/390-navigation-open.png), and a search query
shows results with snippets and no console error, on file:// and over http.

Every overflowing equation and code block is written to _build/overflow-report.json.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from test_book import CHROMIUM, CHROMIUM_ARGS, HTML, PAGES, SCREENSHOTS, unavailable

# Every page, the longest chapters too (1.40 MB at most when this was set; MathJax with its
# fonts is 0.95 MB of it).
MAX_PAGE_BYTES = 1_500_000
WIDTHS = (390, 1280)
CHAPTER = "chapters/02_marginal_and_responsibilities"
REPORT = HTML.parent / "overflow-report.json"

MEASURE = r"""
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  await document.fonts.ready;
  const describe = el => {
    const id = (el.closest("[id]") || {}).id || "";
    return (id ? "#" + id + " " : "") + el.textContent.trim().replace(/\s+/g, " ").slice(0, 70);
  };
  const boxes = [];
  const check = (kind, el, box) => {
    if (box.scrollWidth <= box.clientWidth + 1) return;
    const style = getComputedStyle(box);
    const scrolls = /(auto|scroll)/.test(style.overflowX);
    boxes.push({kind, where: describe(el), width: box.scrollWidth, column: box.clientWidth,
                scrolls});
  };
  document.querySelectorAll("div.math").forEach(div => {
    const mjx = div.querySelector("mjx-container");
    if (!mjx) return;
    check("equation", div, mjx.scrollWidth > mjx.clientWidth + 1 ? mjx : div);
    const number = div.querySelector(".eqno");
    if (number) {
      const a = number.getBoundingClientRect(), b = mjx.getBoundingClientRect();
      const overlap = Math.min(a.right, b.right) - Math.max(a.left, b.left);
      if (overlap > 1 && a.top < b.bottom && b.top < a.bottom) {
        boxes.push({kind: "equation number over its equation", where: describe(div),
                    width: 0, column: 0, scrolls: false});
      }
    }
  });
  document.querySelectorAll("div.highlight pre").forEach(pre => {
    check(pre.closest("div.cell_output") ? "output" : "code", pre, pre);
  });
  const images = Array.from(document.images).map(img => ({
    alt: img.getAttribute("alt"), src: (img.getAttribute("src") || "").slice(0, 60),
    natural: img.naturalWidth, shown: img.getBoundingClientRect().width,
    dataBytes: (img.getAttribute("src") || "").startsWith("data:") ? img.src.length : 0,
  }));
  // Slider frames not shown now are figures of the page too (base64 in its JSON).
  let sliderFrameChars = 0;
  document.querySelectorAll("script.gmm-slider-data").forEach(s => {
    sliderFrameChars += s.textContent.length;
  });
  return {
    pageWidth: document.documentElement.scrollWidth, viewport: window.innerWidth,
    boxes, images, sliderFrameChars,
  };
}
"""


@pytest.fixture(scope="module")
def browser(playwright_runtime):
    if not (HTML / "index.html").exists():
        unavailable(f"no built book at {HTML} (run `make book`)")
    browser = playwright_runtime.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def report():
    found: dict[str, list] = {}
    yield found
    REPORT.write_text(json.dumps(found, indent=1, sort_keys=True))


def open_page(browser, page_name: str, width: int):
    context = browser.new_context(viewport={"width": width, "height": 900})
    requested: list[str] = []
    context.route(
        "**/*",
        lambda r: r.continue_() if r.request.url.startswith(("file:", "data:")) else r.abort(),
    )
    page = context.new_page()
    page.on("request", lambda request: requested.append(request.url))
    page.goto((HTML / f"{page_name}.html").as_uri(), wait_until="load")
    return context, page, requested


def page_bytes(requested: list[str]) -> tuple[int, int]:
    """Bytes of every file the page loaded, and of those that are its own figures."""
    sizes = {}
    for url in requested:
        if url.startswith("file:"):
            path = Path(unquote(urlparse(url).path))
            if path.is_file():
                sizes[path] = path.stat().st_size
    figures = sum(size for path, size in sizes.items() if "_images" in path.parts)
    return sum(sizes.values()), figures


# A file name or path as alt text ("fig.png", "_images/x", "../a/b"), or the slider's default.
BAD_ALT = re.compile(r"(\.(png|jpe?g|svg|gif)$|^\S*/\S*$|_images/|^Figure drawn by )",
                     re.IGNORECASE)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("page_name", PAGES)
def test_page_fits_the_device(browser, report, page_name, width):
    if not (HTML / f"{page_name}.html").exists():
        pytest.skip(f"no {page_name}.html in this build")
    context, page, requested = open_page(browser, page_name, width)
    try:
        found = page.evaluate(MEASURE)
        page.wait_for_timeout(100)
    finally:
        context.close()
    problems = []
    if found["pageWidth"] > found["viewport"] + 1:
        problems.append(f"the page scrolls sideways: {found['pageWidth']} px in {width} px")
    overflowing = found["boxes"]
    if overflowing:
        report[f"{page_name} @ {width}px"] = overflowing
    for box in overflowing:
        if not box["scrolls"]:
            problems.append(f"{box['kind']} cut off: {box['where']} ({box['width']} px)")
        elif width >= 1280 and box["kind"] != "output":
            # Code and equations must fit the column; a printed output line may be longer
            # and then scrolls in its own box (listed in the overflow report).
            problems.append(
                f"{box['kind']} wider than the column at {width} px: {box['where']} "
                f"({box['width']} px in {box['column']} px)"
            )
    for image in found["images"]:
        alt = (image["alt"] or "").strip()
        if not alt or BAD_ALT.search(alt):
            problems.append(f"image without a real alt text ({alt!r}): {image['src']}")
    if width == 1280:
        total, figures = page_bytes(requested)
        html_size = (HTML / f"{page_name}.html").stat().st_size
        embedded = sum(i["dataBytes"] for i in found["images"]) + found["sliderFrameChars"]
        own = figures + min(embedded, html_size)
        if total - own > MAX_PAGE_BYTES:
            problems.append(
                f"page weighs {total / 1e6:.2f} MB, {(total - own) / 1e6:.2f} MB without its "
                f"own figures: above {MAX_PAGE_BYTES / 1e6:.1f} MB"
            )
    assert not problems, f"{page_name}.html at {width} px:\n  " + "\n  ".join(problems)


def visible(page, selector):
    buttons = page.locator(selector)
    for i in range(buttons.count()):
        if buttons.nth(i).is_visible():
            return buttons.nth(i)
    raise AssertionError(f"no visible {selector}")


def test_navigation_opens_and_closes_on_a_phone(browser):
    context, page, _ = open_page(browser, CHAPTER, 390)
    try:
        for side in ("primary", "secondary"):
            dialog = page.locator(f"#pst-{side}-sidebar-modal")
            assert not dialog.evaluate("d => d.open")
            visible(page, f"button.{side}-toggle").click()
            page.wait_for_timeout(300)
            assert dialog.evaluate("d => d.open"), f"the {side} sidebar did not open"
            links = dialog.locator("a")
            assert links.count() > 3, f"the {side} sidebar opened empty"
            if side == "primary":
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SCREENSHOTS / "390-navigation-open.png"))
                assert dialog.get_by_text("Marginalisation", exact=False).count() > 0
            page.keyboard.press("Escape")
            page.wait_for_timeout(200)
            assert not dialog.evaluate("d => d.open"), f"the {side} sidebar did not close"
    finally:
        context.close()


def test_navigation_collapses_and_returns_on_a_laptop(browser):
    context, page, _ = open_page(browser, CHAPTER, 1280)
    try:
        sidebar = page.locator("#pst-primary-sidebar")
        assert sidebar.is_visible()
        visible(page, "button.primary-toggle").click()
        page.wait_for_timeout(300)
        assert not sidebar.is_visible() or sidebar.bounding_box()["width"] < 5
        visible(page, "button.primary-toggle").click()
        page.wait_for_timeout(300)
        assert sidebar.is_visible() and sidebar.bounding_box()["width"] > 100
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "1280-chapter.png"))
    finally:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_download_menu_opens_and_closes(browser, width):
    """The page's download menu (a Bootstrap dropdown; the build drops Bootstrap's script and
    book.js opens it) opens on a click, within the page, and closes on Escape and on a click
    elsewhere."""
    context, page, _ = open_page(browser, CHAPTER, width)
    try:
        toggle = visible(page, '.dropdown-download-buttons [data-bs-toggle="dropdown"]')
        menu = page.locator(".dropdown-download-buttons .dropdown-menu")
        for close in ("Escape", "click elsewhere"):
            assert not menu.is_visible()
            toggle.click()
            page.wait_for_timeout(200)
            assert menu.is_visible(), "the download menu did not open"
            assert toggle.get_attribute("aria-expanded") == "true"
            assert menu.get_by_text(".ipynb").is_visible()
            box = menu.bounding_box()
            assert 0 <= box["x"] and box["x"] + box["width"] <= width, f"menu outside: {box}"
            if close == "Escape":
                page.keyboard.press("Escape")
                # The theme also shows the menu while the pointer is on its button.
                page.mouse.move(width // 2, 600)
            else:
                page.mouse.click(width // 2, 600)
            page.wait_for_timeout(200)
            assert not menu.is_visible(), f"the download menu did not close on {close}"
            assert toggle.get_attribute("aria-expanded") == "false"
    finally:
        context.close()


def free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def http_root():
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=HTML,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)):
                break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.parametrize("protocol", ["file", "http"])
def test_search_shows_results_with_snippets(browser, http_root, protocol):
    base = HTML.as_uri() + "/" if protocol == "file" else http_root
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    messages = []
    page = context.new_page()
    page.on("console", lambda m: m.type in {"error", "warning"} and messages.append(m.text))
    page.on("pageerror", lambda error: messages.append(str(error)))
    # Browsers ask a server for /favicon.ico; the book has none (and needs none).
    page.route("**/favicon.ico", lambda r: r.fulfill(status=204, body=b""))
    try:
        page.goto(base + "search.html?q=responsibilities", wait_until="load")
        page.wait_for_selector("#search-results li p.context", timeout=30_000)
        page.wait_for_timeout(1000)
        results = page.locator("#search-results li")
        snippets = page.locator("#search-results li p.context")
        assert results.count() >= 3
        assert snippets.count() >= 3
        texts = [snippets.nth(i).text_content() for i in range(snippets.count())]
        assert all("responsibilit" in t.lower() for t in texts), texts
        assert messages == []
    finally:
        context.close()


def test_no_icon_script_and_an_icon_font_subset():
    static = HTML / "_static"
    if not static.exists():
        unavailable(f"no built book at {HTML}")
    assert not (static / "scripts" / "fontawesome.js").exists()
    subset = static / "vendor" / "fontawesome" / "webfonts" / "fa-solid-900-book-subset.ttf"
    assert subset.exists() and subset.stat().st_size < 20_000
    pages = [p for p in HTML.rglob("*.html") if "_static" not in p.parts]
    assert not [p for p in pages if "fontawesome.js" in p.read_text(encoding="utf-8")]


def test_slider_frames_name_their_values():
    """In every chapter, each slider frame's alt text differs from the others and is not the
    default: it says which values the frame shows."""
    problems = []
    for path in sorted((HTML / "chapters").glob("*.html")):
        text = path.read_text(encoding="utf-8")
        for data in re.findall(r'<script type="application/json" class="gmm-slider-data">(.*?)'
                               r"</script>", text):
            data = json.loads(data)
            alts = data.get("alts") or []
            if len(alts) != len(data["frame_of"]) or len(set(alts)) != len(alts):
                problems.append(f"{path.name}: frames without their own alt text")
            elif any(a.startswith("Figure drawn by ") for a in alts):
                problems.append(f"{path.name}: default alt text {alts[0]!r}")
    assert not problems, "\n".join(problems)



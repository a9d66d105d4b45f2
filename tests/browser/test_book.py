"""Open every page of the built book in a real headless Chromium, offline, and check it.

Run after the strict build (`make test` does both):

    jupyter-book build --all --warningiserror --nitpick --keep-going .
    pytest tests/browser

Each page is loaded from disk (file:// URLs) with every other request aborted and recorded.
A page fails on: a console error, an uncaught page error, an aborted (non-file) or failed
request, an equation MathJax did not typeset (or typeset as an error), raw TeX left in the text,
an image that did not load, a widget placeholder that no kernel will ever fill, or a slider
(`div.gmm-slider`, see gmm.interactive) whose figure does not change when it moves or does not
come back when it returns. A full-page screenshot of every page goes to _build/screenshots/.

Outside CI a missing browser or book skips these tests; with CI=true it fails them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
# BOOK_HTML: test a book built elsewhere (`--path-output DIR` writes DIR/_build/html).
HTML = Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html"))
SCREENSHOTS = HTML.parent / "screenshots"
# The book's sources: jupyter-book writes SOURCE/_build/html.
SOURCE = HTML.parents[1] if (HTML.parents[1] / "_toc.yml").exists() else ROOT
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}
TIMEOUT_MS = 60_000

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-sync",
    "--metrics-recording-only",
    "--no-first-run",
    "--no-default-browser-check",
    "--no-pings",
]

# Pages Sphinx writes besides the toc's pages; they are opened too.
EXTRA_PAGES = ["genindex", "search", "py-modindex"]


def unavailable(reason: str) -> None:
    """A missing browser or book fails in CI and skips on a developer's machine."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: a missing dependency is a failure)", pytrace=False)
    pytest.skip(reason)


try:
    import playwright.sync_api  # noqa: F401 - only: is it installed?
except ImportError:  # pragma: no cover - depends on the machine
    if IN_CI:
        raise
    pytest.skip("playwright is not installed", allow_module_level=True)


def toc_pages() -> list[str]:
    """Document names listed in _toc.yml, with the globs expanded as Sphinx does."""
    toc = yaml.safe_load((SOURCE / "_toc.yml").read_text())
    pages = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                pages.append(str(Path(entry["file"]).with_suffix("")))
            if "glob" in entry:
                matches = sorted(
                    {
                        str(path.relative_to(SOURCE).with_suffix(""))
                        for path in SOURCE.glob(entry["glob"])
                        if path.suffix in {".ipynb", ".md"}
                    }
                )
                pages.extend(matches)
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return pages


def book_pages() -> list[str]:
    pages = toc_pages()
    return pages + [page for page in EXTRA_PAGES if page not in pages]


PAGES = book_pages()


@pytest.fixture(scope="session")
def browser(playwright_runtime):
    if not CHROMIUM.exists():
        unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    browser = playwright_runtime.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


def test_the_book_is_built():
    if not (HTML / "index.html").exists():
        unavailable(f"no built book at {HTML} (run `make book`)")
    missing = [page for page in toc_pages() if not (HTML / f"{page}.html").exists()]
    assert not missing, f"pages of _toc.yml missing from {HTML}: {missing}"


# Runs in the page once it has loaded: everything that can be read from the DOM.
INSPECT_PAGE = r"""
async () => {
  // Make lazy images load now, then wait for every image to settle.
  const images = Array.from(document.images);
  for (const img of images) { img.loading = "eager"; }
  await Promise.all(images.map(img => img.complete ? null : new Promise(resolve => {
    img.addEventListener("load", resolve, {once: true});
    img.addEventListener("error", resolve, {once: true});
    setTimeout(resolve, 20000);
  })));
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  await document.fonts.ready;

  const describe = el => (el.id ? "#" + el.id : "") + " " + el.textContent.trim().slice(0, 80);
  const math = Array.from(document.querySelectorAll(".math"));
  const untypeset = math.filter(el => !el.querySelector("mjx-container")).map(describe);
  const mathErrors = Array.from(document.querySelectorAll("mjx-merror, .MathJax_Error"))
    .map(el => el.textContent.trim().slice(0, 80));

  // Visible text outside code: raw TeX here means an equation MathJax never saw.
  const clone = document.body.cloneNode(true);
  clone.querySelectorAll("pre, code, script, style, mjx-container, textarea")
    .forEach(el => el.remove());
  const text = clone.textContent;
  const rawTex = [/\$\$/, /\\begin\{/, /\\end\{/, /\\\(/, /\\\[/, /\\frac\b/, /\\sum\b/]
    .filter(pattern => pattern.test(text)).map(String);

  const brokenImages = images
    .filter(img => !(img.complete && img.naturalWidth > 0))
    .map(img => (img.getAttribute("src") || "").slice(0, 100));

  // Widgets that only a live kernel (or a CDN widget manager) could render.
  const deadWidgets = document.querySelectorAll(
    'script[type="application/vnd.jupyter.widget-view+json"], .jupyter-widgets-disconnected'
  ).length;
  const widgetReprs = Array.from(document.querySelectorAll(".cell_output pre, .output pre"))
    .map(el => el.textContent.trim())
    .filter(t => /^(VBox|HBox|Box|interactive|\w*Slider|Output|Play)\(/.test(t))
    .map(t => t.slice(0, 80));

  const external = Array.from(document.querySelectorAll(
    "script[src], link[href], img[src], iframe[src], source[src], video[src], audio[src]"
  )).filter(el => el.tagName !== "LINK" || !/^(canonical|alternate)$/.test(el.rel))
    .map(el => el.src || el.href)
    .filter(url => /^(https?:)?\/\//.test(url));

  const mathjaxScripts = Array.from(document.querySelectorAll("script[src]"))
    .map(el => el.src).filter(src => /mathjax/i.test(src));

  return {
    title: document.title,
    mathCount: math.length,
    untypeset, mathErrors, rawTex, brokenImages, deadWidgets, widgetReprs, external,
    mathjaxScripts,
    mathjaxLoaded: !!(window.MathJax && MathJax.startup),
    sliderCount: document.querySelectorAll("div.gmm-slider").length,
  };
}
"""

SET_RANGE = """
(input, value) => {
  input.value = value;
  input.dispatchEvent(new Event("input", {bubbles: true}));
  input.dispatchEvent(new Event("change", {bubbles: true}));
}
"""

WAIT_FOR_IMAGE = """
img => img.complete && img.naturalWidth > 0 ? true : new Promise(resolve => {
  img.addEventListener("load", () => resolve(true), {once: true});
  img.addEventListener("error", () => resolve(false), {once: true});
})
"""


def range_values(input_handle) -> list[str]:
    """The values a range input can take, as the strings the browser reports."""
    return input_handle.evaluate(
        """input => {
          const min = parseFloat(input.min || "0"), max = parseFloat(input.max || "100");
          const step = input.step && input.step !== "any" ? parseFloat(input.step) : 1;
          const values = [];
          for (let i = 0; min + i * step <= max + 1e-9 * Math.abs(step); i++) {
            const probe = document.createElement("input");
            probe.type = "range"; probe.min = input.min; probe.max = input.max;
            probe.step = input.step; probe.value = String(min + i * step);
            if (!values.includes(probe.value)) values.push(probe.value);
            if (values.length > 10000) break;
          }
          return values;
        }"""
    )


def frame_state(page, frame):
    assert frame.evaluate(WAIT_FOR_IMAGE), "a slider frame did not load"
    page.wait_for_timeout(50)
    return frame.get_attribute("src"), frame.screenshot()


def check_sliders(page, problems: list[str]) -> int:
    """Move every range input of every gmm slider; return the number of moves checked."""
    moves = 0
    sliders = page.locator("div.gmm-slider")
    for s in range(sliders.count()):
        slider = sliders.nth(s)
        slider.scroll_into_view_if_needed()
        name = f"slider {s + 1}"
        frames = slider.locator("img.gmm-slider-frame")
        inputs = slider.locator('input[type="range"]')
        if frames.count() != 1:
            problems.append(f"{name}: expected one img.gmm-slider-frame, found {frames.count()}")
            continue
        if inputs.count() == 0:
            problems.append(f"{name}: no input[type=range]")
            continue
        if slider.locator("output").count() < inputs.count():
            problems.append(f"{name}: fewer <output> than range inputs")
        frame = frames.first
        start_src, start_pixels = frame_state(page, frame)
        for i in range(inputs.count()):
            handle = inputs.nth(i).element_handle()
            start_value = handle.evaluate("input => input.value")
            others = [v for v in range_values(handle) if v != start_value]
            if not others:
                problems.append(f"{name}, input {i + 1}: the range has a single value")
                continue
            # The two ends and the middle, whichever differ from the start: at least two moves
            # when the range allows it.
            candidates = [others[-1], others[0], others[len(others) // 2]]
            targets = list(dict.fromkeys(candidates))[:2]
            for target in targets:
                if target == others[-1]:
                    inputs.nth(i).focus()
                    page.keyboard.press("End")  # a real key press moves it to its maximum
                    if handle.evaluate("input => input.value") != target:
                        handle.evaluate(SET_RANGE, target)
                else:
                    handle.evaluate(SET_RANGE, target)
                src, pixels = frame_state(page, frame)
                moves += 1
                if pixels == start_pixels:
                    problems.append(
                        f"{name}, input {i + 1}: the figure did not change at value {target}"
                    )
                shown = slider.locator("output").nth(i).text_content() or ""
                if shown.strip() == "":
                    problems.append(f"{name}, input {i + 1}: the <output> is empty")
            handle.evaluate(SET_RANGE, start_value)
            src, pixels = frame_state(page, frame)
            if src != start_src or pixels != start_pixels:
                problems.append(
                    f"{name}, input {i + 1}: back at {start_value} the first figure did not return"
                )
    return moves


@pytest.mark.parametrize("page_name", PAGES)
def test_page(browser, visited_pages, page_name):
    path = HTML / f"{page_name}.html"
    if not path.exists():
        if page_name in EXTRA_PAGES and page_name == "py-modindex":
            pytest.skip("no Python module index in this build")
        unavailable(f"{path} is missing (run `make book`)")

    problems: list[str] = []
    blocked: list[str] = []
    context = browser.new_context(viewport={"width": 1280, "height": 900}, offline=False)

    def route(request_route):
        url = request_route.request.url
        if url.startswith(("file:", "data:", "blob:")):
            request_route.continue_()
        else:
            blocked.append(url)
            request_route.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.on(
        "console",
        lambda message: (
            problems.append(f"console {message.type}: {message.text}")
            if message.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "requestfailed",
        lambda request: (
            None
            if request.url in blocked
            else problems.append(f"request failed: {request.url} ({request.failure})")
        ),
    )
    try:
        page.goto(path.as_uri(), wait_until="load")
        report = page.evaluate(INSPECT_PAGE)
        moves = check_sliders(page, problems) if report["sliderCount"] else 0
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(
            path=str(SCREENSHOTS / (page_name.replace("/", "__") + ".png")), full_page=True
        )
    finally:
        context.close()

    visited_pages.append(
        f"{page_name}.html: {report['mathCount']} equations, {report['sliderCount']} sliders"
        f" ({moves} moves)"
    )
    for url in blocked:
        problems.append(f"request to another host (refused): {url}")
    for item in report["untypeset"]:
        problems.append(f"equation not typeset by MathJax: {item}")
    for item in report["mathErrors"]:
        problems.append(f"MathJax error: {item}")
    for item in report["rawTex"]:
        problems.append(f"raw TeX in the page text: {item}")
    for item in report["brokenImages"]:
        problems.append(f"image did not load: {item}")
    if report["deadWidgets"]:
        problems.append(f"{report['deadWidgets']} ipywidgets placeholder(s) with no widget")
    for item in report["widgetReprs"]:
        problems.append(f"widget shown as its text repr: {item}")
    for item in report["external"]:
        problems.append(f"page references another host: {item}")
    if report["mathCount"]:
        if not report["mathjaxLoaded"]:
            problems.append("the page has equations but MathJax did not load")
        for src in report["mathjaxScripts"]:
            if not (src.startswith("file:") and "/_static/mathjax/" in src):
                problems.append(f"MathJax not served from the book's _static: {src}")
    assert not problems, f"{page_name}.html:\n  " + "\n  ".join(problems)


def test_pages_use_the_offline_mathjax():
    """Check the built files themselves, not only what the browser saw."""
    if not (HTML / "index.html").exists():
        unavailable(f"no built book at {HTML} (run `make book`)")
    assert (HTML / "_static" / "mathjax" / "tex-chtml.js").exists()
    external = re.compile(
        r"""<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)=["'](?:https?:)?//"""
    )
    offenders = [
        str(path.relative_to(HTML))
        for path in HTML.rglob("*.html")
        if external.search(path.read_text(encoding="utf-8", errors="replace"))
    ]
    assert not offenders, f"pages that load something from another host: {offenders}"

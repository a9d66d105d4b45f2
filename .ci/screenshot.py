"""Take the README's screenshot of a rendered chapter from the built book, offline.

Usage: python .ci/screenshot.py [PAGE] [OUTPUT]
  PAGE    a page of _build/html without .html (default: chapters/00_introduction)
  OUTPUT  default: images/screenshot.png

Headless Debian chromium (or $CHROMIUM) through Playwright; every non-file request aborted.
The page is scrolled to its first proof block (else displayed equation, else figure): the shot shows
typeset mathematics next to a figure.
"""

import os
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent


def main(page_name: str = "chapters/00_introduction", output: str = "images/screenshot.png"):
    path = ROOT / "_build" / "html" / f"{page_name}.html"
    if not path.exists():
        sys.exit(f"{path} does not exist: run `make book` first")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.route(
            "**/*",
            lambda route: route.continue_()
            if route.request.url.startswith(("file:", "data:"))
            else route.abort(),
        )
        page = context.new_page()
        page.goto(path.as_uri(), wait_until="load")
        page.evaluate(
            "async () => { if (window.MathJax && MathJax.startup) await MathJax.startup.promise; }"
        )
        page.evaluate(
            """() => {
              const target = ['div.proof', 'div.math', 'div.cell_output img']
                .map(selector => document.querySelector(selector)).find(Boolean);
              if (target) target.scrollIntoView({block: 'start'});
              window.scrollBy(0, -90);
            }"""
        )
        page.wait_for_timeout(300)
        (ROOT / output).parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ROOT / output))
        browser.close()
    print(f"wrote {output} from {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main(*sys.argv[1:])

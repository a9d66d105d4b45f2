"""The chapters in JupyterLab (`make lab`) render as in the book: a real JupyterLab server,
a real browser, one chapter opened, its theorem and exercise rendered by jupyterlab-myst (not
shown as MyST source). Screenshot: _build/screenshots/jupyterlab-theorem.png.

Needs requirements-lab.txt installed (JupyterLab and jupyterlab-myst) in the Python that
runs the test, or JUPYTER_PYTHON naming one that has them. Outside CI their absence skips;
with CI=true it fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from test_book import CHROMIUM, CHROMIUM_ARGS, ROOT, SCREENSHOTS, unavailable

CHAPTER = "02_marginal_and_responsibilities.ipynb"
PYTHON = os.environ.get("JUPYTER_PYTHON", sys.executable)


def lab_available() -> bool:
    probe = "import jupyterlab, jupyterlab_myst"
    return subprocess.run([PYTHON, "-c", probe], capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if not lab_available():
        unavailable(f"JupyterLab with jupyterlab-myst is not installed for {PYTHON} "
                    "(pip install -r requirements-lab.txt)")
    if not CHROMIUM.exists():
        unavailable(f"no Chromium at {CHROMIUM}")
    work = tmp_path_factory.mktemp("lab")
    shutil.copy(ROOT / "chapters" / CHAPTER, work / CHAPTER)
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = secrets.token_hex(16)
    home = tmp_path_factory.mktemp("home")
    settings = home / "settings"
    # Render every cell (JupyterLab 4 renders only those in view by default), no news pop-up.
    for plugin, value in [
        ("notebook-extension/tracker", {"windowingMode": "none"}),
        ("apputils-extension/notification", {"fetchNews": "false", "checkForUpdates": False}),
    ]:
        target = settings / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(value))
    env = dict(os.environ, HOME=str(home), JUPYTER_CONFIG_DIR=str(home / "config"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTERLAB_SETTINGS_DIR=str(settings))
    server = subprocess.Popen(
        [PYTHON, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}",
         "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={work}", "--LabApp.news_url=", "--LabApp.check_for_updates_class="
         "jupyterlab.NeverCheckForUpdate"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=1)
                break
            time.sleep(0.1)
        yield base, token
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_a_chapter_renders_its_theorem_and_exercise_in_jupyterlab(lab, playwright_runtime):
    base, token = lab
    browser = playwright_runtime.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(f"{base}/lab/tree/{CHAPTER}?token={token}", timeout=120_000)
        # jupyterlab-myst renders sphinx-proof blocks as aside.myst-proof, exercises as
        # aside.myst-exercise and dropdown solutions as closed details.myst-exercise.
        notebook = page.locator(".jp-Notebook")
        theorem = notebook.locator("aside.myst-proof", has_text="Theorem").first
        theorem.wait_for(timeout=120_000)
        exercise = notebook.locator("aside.myst-exercise", has_text="Exercise").first
        exercise.wait_for(timeout=30_000)
        solutions = notebook.locator("details.myst-exercise")
        assert solutions.count() >= 1, "no dropdown solution"
        assert not solutions.first.evaluate("d => d.open"), "a solution is shown open"
        equations = notebook.locator(
            ".jp-MarkdownCell .katex-display"  # jupyterlab-myst typesets with KaTeX
        )
        assert equations.count() >= 3, "display equations not rendered"
        theorem.scroll_into_view_if_needed()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "jupyterlab-theorem.png"))
        rendered = " ".join(
            notebook.locator(".jp-MarkdownCell .myst").all_inner_texts()
        )
        for source in ("{prf:theorem}", "{exercise}", ":label:", ":class: dropdown",
                       "{prf:ref}`", "{eq}`", "{cite}`"):
            assert source not in rendered, f"MyST source shown as text: {source!r}"
    finally:
        browser.close()

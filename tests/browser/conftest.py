"""Collect and print the pages the browser test visited, after pytest's own summary; one
Playwright runtime for the whole session (Playwright's sync API cannot start a second one
while the first runs, so every module launches its browser from this one)."""

import pytest

VISITED = pytest.StashKey[list]()


@pytest.fixture(scope="session")
def visited_pages(request) -> list[str]:
    return request.config.stash.setdefault(VISITED, [])


def pytest_terminal_summary(terminalreporter, config):
    if VISITED not in config.stash:
        return
    terminalreporter.section("pages visited by the browser")
    for line in config.stash[VISITED] or ["(none)"]:
        terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def playwright_runtime():
    from playwright.sync_api import sync_playwright

    runtime = sync_playwright().start()
    yield runtime
    runtime.stop()

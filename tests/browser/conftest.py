"""Collect and print the pages the browser test visited, after pytest's own summary."""

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

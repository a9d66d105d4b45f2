"""Test-suite settings: hypothesis profiles, and no skipped test under CI.

Profiles (`--hypothesis-profile NAME` chooses one by hand):

- ``dev`` (the default on a developer's machine): fresh random examples on every run, and the
  example database under ``.hypothesis/`` replays a failure on the next run;
- ``ci`` (chosen when the environment variable ``CI`` is ``true``, as GitHub Actions and
  ``.ci/run`` set it): derandomised, so a CI failure is the same failure on every re-run and on
  every machine; no database (a CI runner keeps nothing); the ``@reproduce_failure`` blob is
  printed with the falsifying example.

On a failure of a hypothesis test the report names the profile and the seed, and how to
replay it.

Under CI a skip that this repository's tests decide (a missing optional dependency, a missing
browser, a missing built book) fails the run: CI has every extra installed, so a skip there
can only hide a failure. Checks that scikit-learn's own `parametrize_with_checks` skips for
its reasons (pandas not installed, array API not enabled) are scikit-learn's decision, not
ours, and are reported but left alone. One exception, declared by the run itself: with
``GMM_TESTS_LIBRARY_ONLY=1`` (the workflow's job that tests the wheel alone, installed with
``pip install gmm-derived[test]``) the tests that need the book's tools (nbformat, nbclient,
ipykernel, playwright, Chromium) may skip; any other skip still fails.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

TESTS = Path(__file__).resolve().parent
IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}
LIBRARY_ONLY = os.environ.get("GMM_TESTS_LIBRARY_ONLY", "") == "1"
BOOK_TOOLS = ("nbformat", "nbclient", "ipykernel", "playwright", "chromium")

# Both start from hypothesis' own defaults: hypothesis loads a profile of its own whenever a
# variable named CI exists (even CI=false), and the choice here must be ours, stated above.
DEFAULT = settings.get_profile("default")
settings.register_profile("dev", parent=DEFAULT, print_blob=True)
settings.register_profile(
    "ci",
    parent=DEFAULT,
    derandomize=True,
    database=None,
    print_blob=True,
    # A loaded CI runner is slow; slowness there is not a property of the code under test.
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci" if IN_CI else "dev")


def hypothesis_seed(function) -> str | None:
    """The seed hypothesis drew the examples of `function` from, as text, if it is one."""
    inner = getattr(getattr(function, "hypothesis", None), "inner_test", None)
    if inner is None:
        return None
    if settings.default.derandomize:
        # Derandomised: hypothesis seeds with a digest of the test's source (an internal
        # helper, so fall back to saying so if it moves).
        try:
            from hypothesis.internal.conjecture.utils import int_from_bytes
            from hypothesis.internal.reflection import function_digest

            return f"{int_from_bytes(function_digest(inner))} (derived from the test's source)"
        except ImportError:  # pragma: no cover - depends on hypothesis' internals
            return "derived from the test's source"
    seed = getattr(function, "_hypothesis_internal_use_generated_seed", None)
    return None if seed is None else str(seed)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    seed = hypothesis_seed(getattr(item, "obj", None))
    if seed is None:
        return
    profile = settings._current_profile
    if settings.default.derandomize:
        how = f"CI=true python -m pytest '{item.nodeid}' replays exactly this run"
    else:
        how = (f"python -m pytest '{item.nodeid}' --hypothesis-seed={seed.split()[0]} "
               "replays it (the .hypothesis database also replays the shrunk example)")
    report.sections.append(
        ("hypothesis", f"profile {profile!r}, seed {seed}: {how}")
    )


class SkipsFailUnderCI:
    """Collects the skips this repository's tests decide and fails the session on any."""

    def __init__(self) -> None:
        self.skips: list[str] = []

    def record(self, report) -> None:
        if not report.skipped or hasattr(report, "wasxfail"):
            return
        longrepr = report.longrepr
        if not (isinstance(longrepr, tuple) and len(longrepr) == 3):
            return
        path, line, reason = longrepr
        if LIBRARY_ONLY and any(tool in str(reason) for tool in BOOK_TOOLS):
            return
        # Ours: raised in a file of tests/ (a venv inside the checkout is not ours).
        if Path(path).resolve().is_relative_to(TESTS):
            self.skips.append(f"{report.nodeid or path}: {path}:{line}: {reason}")

    def pytest_runtest_logreport(self, report) -> None:
        self.record(report)

    def pytest_collectreport(self, report) -> None:
        self.record(report)

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if self.skips:
            terminalreporter.section("skipped under CI=true, which is a failure", red=True)
            for line in self.skips:
                terminalreporter.write_line(line)

    def pytest_sessionfinish(self, session, exitstatus) -> None:
        if self.skips and exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_configure(config) -> None:
    if IN_CI:
        config.pluginmanager.register(SkipsFailUnderCI(), "gmm-skips-fail-under-ci")


@pytest.fixture(params=["numpy", "numba"])
def kernels(request, monkeypatch):
    """Run the test once with the engine's numpy code and once with its compiled kernels
    (gmm._kernels), for every pass whatever its size; numba missing is a skip, so a
    failure under CI."""
    if request.param == "numba":
        pytest.importorskip("numba")
    monkeypatch.setenv("GMM_KERNELS", request.param)
    return request.param

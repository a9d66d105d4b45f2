"""The module graph of gmm: read from the sources (every ``from .x import`` and
``from . import x``), it has no cycle, and every module imports on its own in a fresh
interpreter and in any order after the others."""

import ast
import pathlib
import subprocess
import sys

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "gmm"
MODULES = sorted(
    ["gmm"] + [f"gmm.{p.stem}" for p in PACKAGE.glob("*.py") if p.stem != "__init__"]
    + [f"gmm.{p.name}" for p in PACKAGE.iterdir() if (p / "__init__.py").exists()]
)


def source(module):
    name = module.removeprefix("gmm").lstrip(".")
    path = PACKAGE / (f"{name}.py" if name else "__init__.py")
    return path if path.exists() else PACKAGE / name / "__init__.py"


def imports(module):
    """The gmm modules ``module`` imports at import time (top level; function-local imports
    run later and cannot form an import cycle)."""
    tree = ast.parse(source(module).read_text())
    package = module if source(module).name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            target = f"{base}.{node.module}" if node.module else base
            if node.module:
                found.add(target)
            else:
                found.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("gmm."))
    return {m for m in found if m in MODULES and m != module}


def graph():
    return {module: imports(module) for module in MODULES}


def topological_order(edges):
    order, visiting, done = [], set(), set()

    def visit(node, path):
        if node in done:
            return
        if node in visiting:
            raise AssertionError(f"import cycle: {' -> '.join(path + [node])}")
        visiting.add(node)
        for target in sorted(edges[node]):
            visit(target, path + [node])
        visiting.discard(node)
        done.add(node)
        order.append(node)

    for node in sorted(edges):
        visit(node, [])
    return order


def test_the_module_graph_has_no_cycle():
    edges = graph()
    topological_order(edges)
    # `import gmm` stays numpy-only; the library's core never imports the estimator.
    assert not edges["gmm"] & {"gmm.plotting", "gmm.interactive"}
    for core in ("gmm.covariance", "gmm.mixture", "gmm.likelihood", "gmm.mstep",
                 "gmm.criteria", "gmm._engine", "gmm.algorithm"):
        assert not edges[core] & {"gmm.estimator", "gmm.model_selection"}, core


def test_the_graph_reader_sees_a_cycle():
    with pytest.raises(AssertionError, match="import cycle: a -> b -> a"):
        topological_order({"a": {"b"}, "b": {"a"}})


def run(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=PACKAGE.parent)


def test_every_module_imports_alone():
    # One fresh interpreter per module (numpy is the only import they share).
    failures = {}
    for module in MODULES:
        done = run(f"import {module}")
        if done.returncode:
            failures[module] = done.stderr.strip().splitlines()[-1]
    assert not failures


def test_every_module_imports_after_any_other():
    # In one interpreter: for every ordered pair, forget gmm, import the first, then the
    # second. With an acyclic graph no pair can fail; this checks the graph reader too.
    code = f"""
import importlib, itertools, sys
modules = {MODULES!r}
bad = []
for first, second in itertools.permutations(modules, 2):
    for name in [m for m in sys.modules if m == "gmm" or m.startswith("gmm.")]:
        del sys.modules[name]
    try:
        importlib.import_module(first)
        importlib.import_module(second)
    except Exception as error:
        bad.append((first, second, repr(error)))
print(bad)
assert not bad
"""
    done = run(code)
    assert done.returncode == 0, done.stdout + done.stderr


def one_line(edges):
    """The graph as layers, lowest first: ``a, b < c < d`` (each module imports only
    modules in layers to its left)."""
    depth = {}
    for node in topological_order(edges):
        depth[node] = 1 + max((depth[t] for t in edges[node]), default=-1)
    layers = {}
    for node, level in depth.items():
        layers.setdefault(level, []).append(node.removeprefix("gmm."))
    return " < ".join(", ".join(sorted(layers[level])) for level in sorted(layers))


if __name__ == "__main__":
    print(one_line(graph()))

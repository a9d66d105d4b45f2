"""`.ci/execute_notebooks.py` (what `make notebooks` runs): a notebook executed twice in a row
is byte-identical, holds no execution timestamps and one output per stream, and its widget
views still name models its saved widget state holds. Needs the notebook tools (nbclient,
ipykernel): without them it is skipped, except under CI=true (tests/conftest.py turns the skip
into a failure)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("ipywidgets")
pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / ".ci" / "execute_notebooks.py"


def load_script():
    spec = importlib.util.spec_from_file_location("execute_notebooks", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def small_notebook():
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    notebook.cells = [
        nbformat.v4.new_code_cell(
            "import matplotlib.pyplot as plt\n"
            "from gmm.interactive import slider\n"
            "print('hello')"
        ),
        nbformat.v4.new_code_cell("fig, ax = plt.subplots(figsize=(2, 1.5), dpi=40)\n"
                                  "ax.plot([0, 1], [0, 1]);"),
        nbformat.v4.new_code_cell(
            "def line(fig, slope):\n"
            "    fig.add_subplot().plot([0, 1], [0, slope])\n"
            "slider(line, slope=[0, 1, 2], figsize=(2, 1.5), dpi=40)"
        ),
        # Two stream messages (the flush and the pause make sure), stored as one output.
        nbformat.v4.new_code_cell(
            "import time\nprint('a', flush=True)\ntime.sleep(0.3)\nprint('b')"
        ),
    ]
    # Left behind by an earlier run with timings on: must not survive a new run.
    notebook.cells[0].metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00Z"}
    return notebook


def test_executing_twice_changes_no_byte(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the kernel imports this checkout's gmm
    script = load_script()
    path = tmp_path / "01_small.ipynb"
    nbformat.write(small_notebook(), path)
    script.execute(path)
    first = path.read_bytes()
    script.execute(path)
    assert path.read_bytes() == first

    stored = json.loads(first)
    code = [cell for cell in stored["cells"] if cell["cell_type"] == "code"]
    assert [cell["execution_count"] for cell in code] == [1, 2, 3, 4]
    assert all("execution" not in cell["metadata"] for cell in code)
    assert "".join(code[0]["outputs"][0]["text"]) == "hello\n"
    assert "image/png" in code[1]["outputs"][0]["data"]
    assert [(o["name"], "".join(o["text"])) for o in code[3]["outputs"]] == [("stdout", "a\nb\n")]
    state = stored["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    views = [output["data"]["application/vnd.jupyter.widget-view+json"]["model_id"]
             for cell in code for output in cell["outputs"]
             if "application/vnd.jupyter.widget-view+json" in output.get("data", {})]
    assert len(views) == 1 and views[0] in state
    # Every model a state refers to is in the state (the renaming kept the references).
    text = json.dumps(state)
    for model_id in script.MODEL_ID.findall(text):
        assert model_id in state

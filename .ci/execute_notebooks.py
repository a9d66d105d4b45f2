"""Execute chapter notebooks in place, top to bottom, and store their outputs.

Usage: python .ci/execute_notebooks.py [NOTEBOOK ...]   (default: every chapters/*.ipynb)

Run this after changing `gmm/` or a chapter: nbval then compares the stored outputs with a
fresh run, so the stored outputs must be those of the current code.

What is stored is a function of the notebook's source and the code only, so that executing
twice in a row changes no byte:

- no per-cell execution timestamps (``metadata.execution``; nbclient's ``record_timing=False``
  stops writing them but leaves those of an earlier run in place, so they are removed);
- a cell's output written in several stream messages (how a print is split depends on
  timing) is stored as one output per stream, as nbval compares and the book shows it;
- ipywidgets model ids, fresh random uuids in every kernel session, are renamed consistently
  (in the views and in the saved widget state) to ids derived from the notebook's name and the
  order in which the views refer to them.

The kernel is started with CurveZMQ transport encryption (the kernel spec declares support and
pyzmq ships libsodium), which is also why ipykernel no longer warns that it "is running over
TCP without encryption".
"""

from __future__ import annotations

import json
import re
import sys
import time
import uuid
from pathlib import Path

import nbclient
import nbformat
from traitlets.config import Config

ROOT = Path(__file__).resolve().parent.parent
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
# A model id: 32 hex digits (uuid4().hex), bare in a view, "IPY_MODEL_<id>" in a state.
MODEL_ID = re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])")
# Fixed namespace for the stable widget ids (any constant uuid would do).
WIDGET_ID_NAMESPACE = uuid.UUID("6f1c1d3e-2b8e-4c55-9d0e-8a1b7c9e4f21")


def kernel_config() -> Config:
    config = Config()
    config.KernelManager.transport_encryption = "auto"
    return config


def execute(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
        config=kernel_config(),
    )
    client.execute()
    strip_run_metadata(notebook)
    rename_widget_models(notebook, path.stem)
    nbformat.write(notebook, path)


def strip_run_metadata(notebook) -> None:
    """Remove what records when or how a run happened rather than what it produced."""
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = merge_streams(cell.outputs)


def merge_streams(outputs: list) -> list:
    """Join consecutive stream outputs of the same stream (stdout, stderr) into one."""
    merged: list = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (output.output_type == "stream" and previous is not None
                and previous.output_type == "stream" and previous.name == output.name):
            previous.text += output.text
        else:
            merged.append(output)
    return merged


def rename_widget_models(notebook, name: str) -> None:
    """Rename ipywidgets model ids to ones that depend on `name` and the order of use only.

    Order: the models the views show, cell by cell, then, breadth first, the models their
    state refers to (``"IPY_MODEL_<id>"``, or a view inside an Output widget); models nothing
    refers to last, ordered by their state with the ids already known renamed.
    """
    state = notebook.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    order: list[str] = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view and view["model_id"] not in order:
                order.append(view["model_id"])
    position = 0
    while position < len(order):
        model = state.get(order[position], {})
        for reference in MODEL_ID.findall(json.dumps(model, sort_keys=True)):
            if reference in state and reference not in order:
                order.append(reference)
        position += 1
    known = {old: new_id(name, n) for n, old in enumerate(order)}
    unreferenced = sorted(
        (old for old in state if old not in known),
        key=lambda old: replace_ids(json.dumps(state[old], sort_keys=True), known),
    )
    for old in unreferenced:
        known[old] = new_id(name, len(known))
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view:
                view["model_id"] = known.get(view["model_id"], view["model_id"])
    if state:
        renamed = {known[old]: json.loads(replace_ids(json.dumps(model), known))
                   for old, model in state.items()}
        notebook.metadata["widgets"][WIDGET_STATE]["state"] = dict(sorted(renamed.items()))


def new_id(name: str, n: int) -> str:
    return uuid.uuid5(WIDGET_ID_NAMESPACE, f"{name}/{n}").hex


def replace_ids(text: str, known: dict[str, str]) -> str:
    return MODEL_ID.sub(lambda m: known.get(m.group(0), m.group(0)), text)


def main(arguments: list[str]) -> None:
    paths = [Path(a) for a in arguments] or sorted((ROOT / "chapters").glob("*.ipynb"))
    for path in paths:
        start = time.perf_counter()
        print(f"executing {path} ...", end=" ", flush=True)
        execute(path)
        print(f"{time.perf_counter() - start:.1f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])

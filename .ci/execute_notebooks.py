"""Execute chapter notebooks in place, top to bottom, and store their outputs.

Usage: python .ci/execute_notebooks.py [NOTEBOOK ...]   (default: every chapters/*.ipynb)

Run this after changing `gmm/` or a chapter: nbval then compares the stored outputs with a
fresh run, so the stored outputs must be those of the current code.
"""

import sys
import time
from pathlib import Path

import nbclient
import nbformat

ROOT = Path(__file__).resolve().parent.parent


def execute(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,  # no execution timestamps: re-running leaves no diff noise
    )
    client.execute()
    nbformat.write(notebook, path)


def main(arguments: list[str]) -> None:
    paths = [Path(a) for a in arguments] or sorted((ROOT / "chapters").glob("*.ipynb"))
    for path in paths:
        start = time.perf_counter()
        print(f"executing {path} ...", end=" ", flush=True)
        execute(path)
        print(f"{time.perf_counter() - start:.1f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])

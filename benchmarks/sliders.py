"""Time the live response of every slider in the book, the cost of drawing its frames, and
weigh its static form.

Usage:  python benchmarks/sliders.py [NOTEBOOK ...] [--repeat N] [--json FILE]
        (default: every chapters/*.ipynb)

How it finds the sliders: each notebook is executed top to bottom in a real Jupyter kernel
(nbclient, cwd = the notebook's folder, as .ci/execute_notebooks.py does), with one cell added
before the chapter's cells, which records every `gmm.interactive.Slider` created
(`record_sliders`) and the chapter cell that created it, and one cell after them, which moves
every recorded slider through all of its frames by setting its live widget's position, one
control step at a time, exactly as a reader's drag does. Each step is timed in the kernel, from
setting the position to the widget holding the new frame (sent to the front end); the
step also checks that the live image equals the static frame for the same values. Every frame
was drawn once when the slider was made, so a live step is a look-up; the cell then draws
every frame afresh with `Slider.render` and times that too (what a slider costs its cell).

Prints, per slider: chapter, cell, parameter names, number of frames, static size (KB), the
median live response (wall clock, and CPU time of the kernel's thread, which other processes on
the machine inflate much less), the median time to draw one frame, and the slowest live step
(ms). Per chapter: the sliders' total static size and an estimate of the page's weight (every
output as the HTML book shows it, plus the widget state myst-nb embeds).
Exits with status 1 if a median live response is 100 ms or more, a static slider is over
1.5 MB, a page over 6 MB, or a live image differs from its static frame.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import sys
import time
from pathlib import Path

import nbclient
import nbformat

ROOT = Path(__file__).resolve().parent.parent
MEDIAN_BUDGET_MS = 100.0
SLIDER_BUDGET_BYTES = 1_500_000
PAGE_BUDGET_BYTES = 6_000_000
MARKER = "GMM-SLIDER-BENCHMARK "

# Runs first in the kernel: record every slider and the execution count of the cell that made it.
RECORD_CELL = """\
import gmm.interactive as _gmm_interactive
_gmm_recording = _gmm_interactive.record_sliders()
_gmm_sliders = _gmm_recording.__enter__()
_gmm_cell_of = {}
def _gmm_tag_sliders(result):
    for _slider in _gmm_sliders:
        _gmm_cell_of.setdefault(id(_slider), result.execution_count)
get_ipython().events.register("post_run_cell", _gmm_tag_sliders)
"""

# Runs last in the kernel: move every recorded slider through all of its frames.
TIME_CELL = """\
import json as _json, time as _time
def _gmm_walk(shape):
    # A path through every frame that changes one control per step (boustrophedon order).
    if len(shape) == 1:
        return [(i,) for i in range(shape[0])]
    path = []
    for i in range(shape[0]):
        inner = range(shape[1]) if i % 2 == 0 else reversed(range(shape[1]))
        path.extend((i, j) for j in inner)
    return path
def _gmm_time(slider, repeat):
    live = slider.widget
    live.index = [0] * len(slider.shape)  # from the first frame, whatever the reader was shown
    times, cpu_times, mismatches, path = [], [], 0, _gmm_walk(slider.shape)
    for _ in range(repeat):
        for step, index in enumerate(path):
            if list(index) == live.index:
                continue
            start, start_cpu = _time.perf_counter(), _time.thread_time()
            live.index = list(index)
            times.append(_time.perf_counter() - start)
            cpu_times.append(_time.thread_time() - start_cpu)
            if bytes(live.frame) != slider.frames[slider.frame_index(index)]:
                mismatches += 1
        path = path[::-1]  # walk back, so that every pass changes every frame
    draw_times = []  # drawing every frame afresh: what the slider costs its cell
    for index in _gmm_walk(slider.shape):
        start = _time.perf_counter()
        slider.render(**slider.values_at(index))
        draw_times.append(_time.perf_counter() - start)
    return times, cpu_times, draw_times, mismatches
_gmm_recording.__exit__(None, None, None)
_gmm_results = []
for _slider in _gmm_sliders:
    _times, _cpu_times, _draw_times, _mismatches = _gmm_time(_slider, REPEAT)
    _gmm_results.append({
        "cell": _gmm_cell_of.get(id(_slider), 1) - 1,
        "names": list(_slider.names),
        "shape": list(_slider.shape),
        "frames": len(_slider.frames),
        "static_bytes": _slider.static_size,
        "live_ms": [1000 * t for t in _times],
        "live_cpu_ms": [1000 * t for t in _cpu_times],
        "draw_ms": [1000 * t for t in _draw_times],
        "mismatches": _mismatches,
    })
print(MARKER + _json.dumps(_gmm_results))
"""


def output_weight(output: dict) -> int:
    """Bytes an output adds to the HTML page, in the HTML book's order of preference."""
    data = output.get("data", {})
    for mime in ("text/html", "image/svg+xml", "image/png", "image/jpeg", "text/plain"):
        if mime in data:
            value = data[mime]
            text = "".join(value) if isinstance(value, list) else value
            if mime in ("image/png", "image/jpeg"):
                return len(base64.b64decode(text))
            return len(text.encode("utf-8"))
    if output.get("output_type") == "stream":
        return len(output.get("text", "").encode("utf-8"))
    return 0


def benchmark(path: Path, repeat: int) -> tuple[list[dict], int]:
    """Execute one notebook with the recording cells; return its sliders and page weight."""
    notebook = nbformat.read(path, as_version=4)
    n_cells = len(notebook.cells)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(RECORD_CELL))
    notebook.cells.append(
        nbformat.v4.new_code_cell(
            TIME_CELL.replace("REPEAT", str(repeat)).replace("MARKER", repr(MARKER))
        )
    )
    client = nbclient.NotebookClient(
        notebook,
        timeout=1200,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    results = None
    for output in notebook.cells[-1].outputs:
        for line in output.get("text", "").splitlines():
            if line.startswith(MARKER):
                results = json.loads(line[len(MARKER) :])
    if results is None:
        raise RuntimeError(f"{path}: the timing cell printed no results")
    chapter_cells = notebook.cells[1 : n_cells + 1]
    page = sum(output_weight(o) for c in chapter_cells for o in c.get("outputs", []))
    page += len(json.dumps(notebook.metadata.get("widgets", {})).encode("utf-8"))
    return results, page


def main(arguments: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=3, help="passes over the frames (3)")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(arguments)
    paths = args.notebooks or sorted((ROOT / "chapters").glob("*.ipynb"))
    if not paths:
        print("no notebooks found")
        return 0
    # The kernel imports gmm from this checkout, installed or not.
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    )

    header = (
        f"{'chapter':<40} {'cell':>4}  {'parameters':<24} {'frames':>6} {'static KB':>9} "
        f"{'live ms':>9} {'cpu ms':>7} {'draw ms':>8} {'max ms':>7}"
    )
    print(
        f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
        f"on {os.cpu_count()} CPUs (wall times grow when other processes compete)"
    )
    print(header)
    print("-" * len(header))
    failures, report = [], []
    for path in paths:
        start = time.perf_counter()
        sliders, page = benchmark(path.resolve(), args.repeat)
        for s in sliders:
            median = statistics.median(s["live_ms"]) if s["live_ms"] else 0.0
            cpu = statistics.median(s["live_cpu_ms"]) if s["live_cpu_ms"] else 0.0
            draw = statistics.median(s["draw_ms"] or [0.0])
            slowest = max(s["live_ms"], default=0.0)
            s.update(
                chapter=path.name,
                median_live_ms=median,
                median_live_cpu_ms=cpu,
                median_draw_ms=draw,
                max_live_ms=slowest,
            )
            names = " x ".join(f"{n}({k})" for n, k in zip(s["names"], s["shape"], strict=True))
            print(
                f"{path.name:<40} {s['cell']:>4}  {names:<24} {s['frames']:>6} "
                f"{s['static_bytes'] / 1e3:>9.0f} {median:>9.1f} {cpu:>7.1f} {draw:>8.1f} "
                f"{slowest:>7.1f}"
            )
            where = f"{path.name} cell {s['cell']} ({', '.join(s['names'])})"
            if median >= MEDIAN_BUDGET_MS:
                failures.append(
                    f"{where}: median live response {median:.1f} ms >= {MEDIAN_BUDGET_MS}"
                )
            if s["static_bytes"] > SLIDER_BUDGET_BYTES:
                failures.append(f"{where}: static form {s['static_bytes'] / 1e6:.2f} MB > 1.5")
            if s["mismatches"]:
                failures.append(f"{where}: {s['mismatches']} live images differ from static")
        static_total = sum(s["static_bytes"] for s in sliders)
        print(
            f"{path.name:<40} total: {len(sliders)} sliders, {static_total / 1e3:.0f} KB static; "
            f"page outputs ~{page / 1e3:.0f} KB; executed in {time.perf_counter() - start:.1f} s"
        )
        if page > PAGE_BUDGET_BYTES:
            failures.append(f"{path.name}: page outputs {page / 1e6:.2f} MB > 6 MB")
        report.append({"chapter": path.name, "page_bytes": page, "sliders": sliders})
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    for failure in failures:
        print("FAIL", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

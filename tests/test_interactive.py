"""Tests of gmm.interactive: the static HTML slider, the live widget, and that they agree."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import textwrap
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("ipywidgets")

from gmm.interactive import SliderDrawError, _slider, record_sliders, slider  # noqa: E402
from gmm.interactive.frames import encode_png, png_size  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"figsize": (2.0, 1.5), "dpi": 40}


def draw_line(fig, slope):
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, slope])
    ax.set_ylim(-2, 2)


def draw_bump(fig, mean, width):
    ax = fig.add_subplot()
    x = np.linspace(-3, 3, 50)
    ax.plot(x, np.exp(-0.5 * ((x - mean) / width) ** 2))
    ax.set_ylim(0, 1.1)


class Tree(HTMLParser):
    """Start tags with attributes and the text inside each tag, in document order."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements = []  # [tag, attrs, text]
        self.open = []

    def handle_starttag(self, tag, attrs):
        element = [tag, dict(attrs), ""]
        self.elements.append(element)
        if tag not in {"input", "img"}:
            self.open.append(element)

    def handle_endtag(self, tag):
        while self.open:
            if self.open.pop()[0] == tag:
                break

    def handle_data(self, data):
        for element in self.open:
            element[2] += data

    def find(self, tag, cls=None):
        return [
            e
            for e in self.elements
            if e[0] == tag and (cls is None or cls in e[1].get("class", "").split())
        ]


def parse(markup):
    tree = Tree()
    tree.feed(markup)
    tree.close()
    return tree


def static_data(s):
    (script,) = parse(s.static_html).find("script", "gmm-slider-data")
    return json.loads(script[2])


def data_uri_png(src):
    prefix = "data:image/png;base64,"
    assert src.startswith(prefix)
    return base64.b64decode(src[len(prefix) :])


# -- the static form -------------------------------------------------------------------------


def test_static_html_follows_the_dom_contract_for_two_parameters():
    s = slider(draw_bump, mean=[-1.0, 0.0, 1.0], width=[0.5, 1.0], initial={"mean": 0.0}, **SMALL)
    tree = parse(s.static_html)
    (root,) = tree.find("div", "gmm-slider")
    assert len(root[1]["data-gmm-slider"]) == 16
    labels, inputs, outputs = tree.find("label"), tree.find("input"), tree.find("output")
    assert [label[2].strip() for label in labels] == ["mean", "width"]
    assert [i[1]["type"] for i in inputs] == ["range", "range"]
    assert [i[1]["aria-label"] for i in inputs] == ["mean", "width"]
    assert [(i[1]["min"], i[1]["max"], i[1]["step"]) for i in inputs] == [
        ("0", "2", "1"),
        ("0", "1", "1"),
    ]
    assert [i[1]["value"] for i in inputs] == ["1", "0"]  # initial mean = 0.0, width first
    assert [o[2] for o in outputs] == ["0", "0.5"]
    (image,) = tree.find("img", "gmm-slider-frame")
    assert image[1]["alt"].endswith("(mean = 0, width = 0.5)")
    assert data_uri_png(image[1]["src"]) == s.frames[s.frame_index((1, 0))]
    # No id anywhere: nothing run-dependent, and copies of a slider cannot clash on a page.
    assert all("id" not in attrs for _, attrs, _ in tree.elements)
    # Self-contained: one inline script, one JSON block, nothing loaded from elsewhere.
    scripts = tree.find("script")
    assert len(scripts) == 2
    assert all("src" not in attrs for _, attrs, _ in scripts)
    assert "addEventListener" in tree.find("script")[1][2]


def test_static_data_holds_every_frame_in_row_major_order():
    s = slider(draw_bump, mean=[-1.0, 0.0, 1.0], width=[0.5, 1.0], **SMALL)
    data = static_data(s)
    assert data["shape"] == [3, 2]
    assert len(s.frames) == 6
    assert len(data["frame_of"]) == 6
    assert data["readouts"] == [["-1", "0", "1"], ["0.5", "1"]]
    for flat, (i, j) in enumerate(np.ndindex(3, 2)):
        expected = s.render(mean=[-1.0, 0.0, 1.0][i], width=[0.5, 1.0][j])
        assert base64.b64decode(data["frames"][data["frame_of"][flat]]) == expected
    assert len(set(s.frames)) == 6  # every pair draws a different bump


def test_identical_frames_are_stored_once():
    def ignores_its_parameter(fig, unused):
        fig.add_subplot().plot([0, 1], [0, 1])

    s = slider(ignores_its_parameter, unused=[1, 2, 3, 4], **SMALL)
    data = static_data(s)
    assert data["frame_of"] == [0, 0, 0, 0]
    assert len(data["frames"]) == 1


def test_one_parameter_frame_count_and_png_size():
    s = slider(draw_line, slope=np.linspace(-1, 1, 5), figsize=(3, 2), dpi=50)
    assert s.shape == (5,)
    assert len(s.frames) == 5
    assert all(f.startswith(b"\x89PNG\r\n\x1a\n") for f in s.frames)
    assert png_size(s.frames[0]) == (150, 100)
    assert len(set(s.frames)) == 5


def test_labels_and_formats_are_shown_and_escaped():
    s = slider(
        draw_line,
        slope=[0.25, 0.5],
        labels={"slope": "slope <b>"},
        format={"slope": "{:.3f}"},
        **SMALL,
    )
    assert "slope &lt;b&gt;" in s.static_html
    assert "<b>" not in s.static_html.split("<script")[0]
    tree = parse(s.static_html)
    assert tree.find("label")[0][2].strip() == "slope <b>"
    assert tree.find("output")[0][2] == "0.250"
    assert static_data(s)["readouts"] == [["0.250", "0.500"]]
    s2 = slider(draw_line, slope=[0.25, 0.5], format={"slope": lambda v: f"{v:+}"}, **SMALL)
    assert static_data(s2)["readouts"] == [["+0.25", "+0.5"]]


def test_static_html_is_identical_on_a_rerun_and_in_a_fresh_process():
    first = slider(draw_bump, mean=[-1.0, 1.0], width=[0.5, 1.0], **SMALL).static_html
    again = slider(draw_bump, mean=[-1.0, 1.0], width=[0.5, 1.0], **SMALL).static_html
    assert first == again
    program = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_interactive import SMALL, draw_bump
        from gmm.interactive import slider
        sys.stdout.write(slider(draw_bump, mean=[-1.0, 1.0], width=[0.5, 1.0], **SMALL).static_html)
        """
    )
    fresh = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    ).stdout
    assert fresh == first


def test_mimebundle_offers_static_html_widget_view_and_short_plain_text():
    s = slider(draw_line, slope=[0.0, 1.0], **SMALL)
    bundle = s._repr_mimebundle_()
    assert bundle["text/html"] == s.static_html
    view = bundle["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == s.widget.model_id
    assert bundle["text/plain"] == s._repr_mimebundle_()["text/plain"]
    assert bundle["text/plain"].startswith("<gmm.interactive.Slider draw_line over slope: 2 values")
    assert "0x" not in bundle["text/plain"]
    only_html = s._repr_mimebundle_(include={"text/html"})
    assert "application/vnd.jupyter.widget-view+json" not in only_html


# -- alt texts -------------------------------------------------------------------------------


def test_alt_format_string_names_readouts_and_formats_values():
    s = slider(
        draw_bump,
        mean=[-1.0, 0.0, 1.0],
        width=[0.5, 1.0],
        format={"mean": "{:+.1f}"},
        alt="Bump at mean {mean} (exactly {mean:.3f}), width {width}",
        **SMALL,
    )
    assert len(s.alts) == 6
    # Row-major, as the frames: mean is the slow axis.
    assert s.alts[s.frame_index((0, 1))] == "Bump at mean -1.0 (exactly -1.000), width 1"
    assert s.alts[s.frame_index((2, 0))] == "Bump at mean +1.0 (exactly 1.000), width 0.5"
    assert static_data(s)["alts"] == s.alts
    (image,) = parse(s.static_html).find("img", "gmm-slider-frame")
    assert image[1]["alt"] == s.alts[0]


def test_alt_callable_receives_the_values():
    seen = []

    def alt(slope):
        seen.append(slope)
        return f"A line rising by {slope * 100:.0f} percent"

    s = slider(draw_line, slope=np.array([0.25, 0.5]), alt=alt, **SMALL)
    assert s.alts == ["A line rising by 25 percent", "A line rising by 50 percent"]
    assert seen == [0.25, 0.5] and all(type(v) is float for v in seen)


def test_default_alt_is_the_description_and_the_values():
    s = slider(draw_line, slope=[0.0, 1.0], description="A line", **SMALL)
    assert s.alts == ["A line (slope = 0)", "A line (slope = 1)"]
    s = slider(draw_line, slope=[0.0, 1.0], labels={"slope": "b"}, **SMALL)
    assert s.alts == ["Figure drawn by draw_line (b = 0)", "Figure drawn by draw_line (b = 1)"]


@pytest.mark.parametrize(
    ("alt", "message"),
    [
        ("A line", "one text to frames of different values"),
        ("A line of {slop}", r"fields must be the parameter names \['slope'\]"),
        (lambda slope: "  ", "give a sentence"),
        (lambda slope: None, "give a sentence"),
        (42, "format string or a callable"),
    ],
)
def test_bad_alt_texts_are_errors(alt, message):
    with pytest.raises(ValueError, match=message):
        slider(draw_line, slope=[0.0, 1.0], alt=alt, **SMALL)


def test_alt_and_description_together_are_an_error():
    with pytest.raises(ValueError, match="alt or description, not both"):
        slider(draw_line, slope=[0.0, 1.0], alt="{slope}", description="A line", **SMALL)


# -- the live form ---------------------------------------------------------------------------


def test_live_redraw_changes_the_image_and_equals_the_static_frame():
    values = [-1.0, -0.5, 0.0, 0.5, 1.0]
    s = slider(draw_line, slope=values, alt="A line of slope {slope}", **SMALL)
    live = s.widget
    assert live.frame == s.frames[0]
    assert live.readouts == [["-1", "-0.5", "0", "0.5", "1"]]
    assert live.labels == ["slope"]
    calls = []
    original = s.render
    s.render = lambda **v: calls.append(v) or original(**v)
    for index in [3, 1, 4, 0]:
        before = live.frame
        live.index = [index]
        assert live.frame != before
        assert live.frame == s.frames[index]
        assert live.alt == f"A line of slope {s.readouts[0][index]}"
        # ... and the frame shown is what drawing that value afresh gives.
        assert live.frame == original(slope=values[index])
    assert calls == []  # a live move shows the frame drawn when the slider was made


def test_live_two_parameter_redraw_equals_the_static_frame():
    s = slider(draw_bump, mean=[-1.0, 0.0, 1.0], width=[0.5, 1.0, 2.0], **SMALL)
    data = static_data(s)
    for i, j in [(2, 0), (2, 2), (0, 1)]:
        s.widget.index = [i, j]
        static_png = base64.b64decode(data["frames"][data["frame_of"][s.frame_index((i, j))]])
        assert s.widget.frame == s.frames[s.frame_index((i, j))] == static_png
        assert s.widget.alt == data["alts"][s.frame_index((i, j))]


def test_live_positions_outside_the_grid_are_errors():
    s = slider(draw_bump, mean=[-1.0, 0.0, 1.0], width=[0.5, 1.0], **SMALL)
    with pytest.raises(ValueError, match="outside the grid"):
        s.widget.index = [3, 0]
    with pytest.raises(ValueError, match="give 2 positions"):
        s.widget.index = [1]
    assert s.widget.index == [0, 0]


def test_frames_are_the_bytes_a_fresh_figure_and_canvas_give():
    # Frames reuse one Agg renderer per size (for speed): drawing other frames first, or other
    # sliders of the same size, must not change a frame's bytes.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    s = slider(draw_bump, mean=[-1.0, 0.0, 1.0], width=[0.5, 2.0], layout=None, **SMALL)
    slider(draw_line, slope=[3.0, 4.0], layout=None, **SMALL)
    for index in [(2, 1), (0, 0), (1, 1)]:
        fig = Figure(figsize=SMALL["figsize"], dpi=SMALL["dpi"], facecolor="white")
        canvas = FigureCanvasAgg(fig)
        draw_bump(fig, **s.values_at(index))
        canvas.draw()
        fresh = encode_png(canvas, 256)
        assert s.render(**s.values_at(index)) == fresh == s.frames[s.frame_index(index)]


def test_initial_value_sets_both_forms():
    s = slider(draw_line, slope=np.linspace(0, 0.3, 4), initial={"slope": 0.1 * 2}, **SMALL)
    assert s.initial_index == (2,)
    assert s.widget.index == [2]
    assert s.widget.frame == s.frames[2]


def test_draw_receives_python_values_of_the_given_sequence():
    seen = []

    def draw(fig, k):
        seen.append(k)
        fig.add_subplot().set_title(str(k))

    s = slider(draw, k=np.arange(3), **SMALL)
    assert seen[-3:] == [0, 1, 2]  # the frames, after the layout samples
    assert set(seen) == {0, 1, 2}
    assert all(type(k) is int for k in seen)
    assert s.values == ([0, 1, 2],)


def test_constrained_layout_is_measured_on_samples_then_fixed_for_every_frame():
    figures = []

    def draw(fig, scale):
        figures.append(fig)
        ax = fig.add_subplot()
        ax.plot([0, 1], [0, scale])
        ax.set_ylabel("a label")
        ax.set_title(f"scale {scale}")

    s = slider(draw, scale=[1, 10, 1000, 100000], **SMALL)
    samples, frames = figures[:-4], figures[-4:]
    assert len(samples) == 2  # the first (= initial) and the last value
    # Different tick labels: each sample's own constrained layout puts the axes elsewhere.
    sample_boxes = [f.axes[0].get_position(original=True).bounds for f in samples]
    assert sample_boxes[0] != sample_boxes[1]
    (box,) = s._positions
    for x0, y0, width, height in sample_boxes:  # inside every sample's box
        assert box.x0 >= x0 - 1e-12 and box.y0 >= y0 - 1e-12
        assert box.x1 <= x0 + width + 1e-12 and box.y1 <= y0 + height + 1e-12
    # Every frame uses that one box: the axes do not move while the slider moves.
    assert {f.axes[0].get_position(original=True).bounds for f in frames} == {box.bounds}


def test_frames_whose_axes_differ_are_each_laid_out_anew():
    def draw(fig, n):
        fig.subplots(1, n)

    s = slider(draw, n=[1, 2, 3], **SMALL)
    assert s._positions is None
    assert len(set(s.frames)) == 3


def test_record_sliders_collects_created_sliders():
    with record_sliders() as created:
        a = slider(draw_line, slope=[0.0, 1.0], **SMALL)
        b = slider(draw_line, slope=[1.0, 2.0], **SMALL)
    slider(draw_line, slope=[2.0, 3.0], **SMALL)
    assert created == [a, b]


# -- errors ----------------------------------------------------------------------------------


def test_no_parameters_is_an_error():
    with pytest.raises(ValueError, match="one or two parameters"):
        slider(draw_line, **SMALL)


def test_more_than_two_parameters_is_an_error():
    with pytest.raises(ValueError, match="got 3"):
        slider(draw_line, a=[1], b=[2], c=[3], **SMALL)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([], "has no values"),
        (np.array([]), "has no values"),
        (np.zeros((2, 2)), "must be 1-D"),
        (3.0, "1-D sequence"),
        ("abc", "1-D sequence"),
    ],
)
def test_bad_value_lists_are_errors(values, message):
    with pytest.raises(ValueError, match=message):
        slider(draw_line, slope=values, **SMALL)


def test_a_draw_function_that_raises_names_the_value():
    def fails_at_two(fig, slope):
        if slope == 2:
            raise ZeroDivisionError("boom")
        draw_line(fig, slope)

    with pytest.raises(SliderDrawError, match=r"fails_at_two raised ZeroDivisionError for slope=2"):
        slider(fails_at_two, slope=[0, 1, 2], **SMALL)
    try:
        slider(fails_at_two, slope=[2], **SMALL)
    except SliderDrawError as error:
        assert isinstance(error.__cause__, ZeroDivisionError)


def test_unknown_option_keys_and_initial_values_are_errors():
    with pytest.raises(ValueError, match="not slider parameters"):
        slider(draw_line, slope=[0, 1], labels={"slop": "x"}, **SMALL)
    with pytest.raises(ValueError, match="not one of its values"):
        slider(draw_line, slope=[0, 1], initial={"slope": 5}, **SMALL)
    with pytest.raises(ValueError, match="draw must be a function"):
        slider("not a function", slope=[0, 1], **SMALL)


def test_readouts_that_coincide_are_an_error():
    with pytest.raises(ValueError, match="several values read"):
        slider(draw_line, slope=[0.101, 0.102], format={"slope": "{:.2f}"}, **SMALL)


def test_values_without_a_default_readout_need_a_format():
    with pytest.raises(ValueError, match="pass format"):
        slider(draw_line, slope=[object(), object()], **SMALL)


def test_a_static_form_above_the_budget_is_refused(monkeypatch):
    monkeypatch.setattr(_slider, "MAX_STATIC_BYTES", 20_000)

    def noise(fig, seed):
        fig.add_subplot().imshow(np.random.default_rng(seed).random((60, 60)))

    with pytest.raises(ValueError, match=r"MB, above the 0.0 MB budget .* use fewer values"):
        slider(noise, seed=range(10), **SMALL)


# -- the static form in a real browser -------------------------------------------------------

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def browser_or_skip():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if IN_CI:
            pytest.fail("playwright is not installed (CI=true)")
        pytest.skip("playwright is not installed")
    if not CHROMIUM.exists():
        if IN_CI:
            pytest.fail(f"no chromium at {CHROMIUM} (CI=true)")
        pytest.skip(f"no chromium at {CHROMIUM}")
    return sync_playwright


def test_static_sliders_move_in_a_browser_with_the_keyboard(tmp_path):
    sync_playwright = browser_or_skip()
    one = slider(draw_line, slope=[-1.0, 0.0, 1.0], **SMALL)
    two = slider(draw_bump, mean=[-1.0, 0.0, 1.0], width=[0.5, 1.0], **SMALL)
    page_file = tmp_path / "sliders.html"
    # Two sliders plus a second copy of one: three independent sliders on one page.
    page_file.write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>sliders</title></head><body>"
        + one.static_html
        + two.static_html
        + two.static_html
        + "</body></html>",
        encoding="utf-8",
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page()
            problems = []
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on("console", lambda m: m.type in {"error", "warning"} and problems.append(m.text))
            page.on(
                "request",
                lambda r: r.url.startswith(("file:", "data:")) or problems.append(r.url),
            )
            page.goto(page_file.as_uri())
            roots = page.locator("div.gmm-slider")
            assert roots.count() == 3
            assert page.locator("div.gmm-slider[data-gmm-ready]").count() == 3
            for r, s in enumerate([one, two, two]):
                root = roots.nth(r)
                image = root.locator("img.gmm-slider-frame")
                inputs = root.locator("input[type=range]")
                start_src, start_pixels = image.get_attribute("src"), image.screenshot()
                for p in range(len(s.names)):
                    inputs.nth(p).focus()
                    page.keyboard.press("ArrowRight")
                    index = [0] * len(s.names)
                    index[p] = 1
                    moved_png = data_uri_png(image.get_attribute("src"))
                    assert moved_png == s.frames[s.frame_index(index)]
                    assert image.screenshot() != start_pixels
                    assert root.locator("output").nth(p).inner_text() == s.readouts[p][1]
                    assert "= " + s.readouts[p][1] in image.get_attribute("alt")
                    page.keyboard.press("ArrowLeft")
                    assert image.get_attribute("src") == start_src
                    assert image.screenshot() == start_pixels
            # Moving the second slider leaves its copy (the third) where it was.
            roots.nth(1).locator("input[type=range]").nth(0).focus()
            page.keyboard.press("End")
            assert roots.nth(1).locator("output").nth(0).inner_text() == "1"
            assert roots.nth(2).locator("output").nth(0).inner_text() == "-1"
            assert page.get_by_label("width").count() == 2
            assert problems == []
        finally:
            browser.close()


# -- the benchmark ---------------------------------------------------------------------------


def test_benchmark_times_every_slider_of_a_notebook_and_flags_a_slow_one(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("nbclient")
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# Two sliders"),
        nbformat.v4.new_code_cell(
            "import time\n"
            "from gmm.interactive import slider\n"
            "def line(fig, slope):\n"
            "    fig.add_subplot().plot([0, 1], [0, slope])\n"
            "def slow(fig, a, b):\n"
            "    time.sleep(0.15)\n"
            "    fig.add_subplot().plot([0, 1], [a, b])"
        ),
        nbformat.v4.new_code_cell("slider(line, slope=[0, 1, 2], figsize=(2, 1.5), dpi=40)"),
        nbformat.v4.new_code_cell("slider(slow, a=[0, 1], b=[2, 3], figsize=(2, 1.5), dpi=40)"),
    ]
    path = tmp_path / "01_two_sliders.ipynb"
    nbformat.write(notebook, path)
    report = tmp_path / "report.json"
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "sliders.py"), str(path), "--repeat", "1"]
        + ["--json", str(report)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    (chapter,) = json.loads(report.read_text())
    line, slow = chapter["sliders"]
    assert (line["cell"], line["names"], line["frames"]) == (2, ["slope"], 3)
    assert (slow["cell"], slow["names"], slow["frames"]) == (3, ["a", "b"], 4)
    assert len(line["live_ms"]) == 2  # 0 -> 1 -> 2, one live step per move
    assert len(slow["live_ms"]) == 3  # (0,0) -> (0,1) -> (1,1) -> (1,0)
    assert len(slow["draw_ms"]) == 4 and min(slow["draw_ms"]) >= 150  # every frame drawn afresh
    # A slow draw costs the cell, not the reader: a live move shows a frame drawn beforehand.
    assert max(slow["live_ms"]) < 100
    assert line["mismatches"] == slow["mismatches"] == 0
    assert line["static_bytes"] > 0
    assert run.returncode == 0, run.stdout + run.stderr

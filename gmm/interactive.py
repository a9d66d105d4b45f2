"""Sliders that make a figure move, in a live notebook and in the published book.

One call, :func:`slider`, turns a drawing function and the values of one or two parameters into
an object with two faces:

- In a live kernel (JupyterLab, VS Code, Colab) it displays as an ipywidgets control: moving a
  slider shows the figure for the new value at once. Every frame is drawn when the slider is
  made (the static form needs them all anyway), so a move is a look-up, not a redraw.
- In the HTML book, where no kernel runs, the same output carries a ``text/html`` form: every
  frame rendered when the notebook was executed, embedded as PNG data URIs and switched by a
  few lines of inline JavaScript (no external script, no network). myst-nb is told to prefer
  that form (``nb_mime_priority_overrides`` in ``_config.yml``), so no dead widget is left.

Both faces show the frames drawn by one function (:meth:`Slider.render`), so the live and the
static figure for the same parameter value are the same PNG bytes.

Example
-------
>>> import numpy as np
>>> from gmm.interactive import slider
>>> def draw(fig, mean):
...     ax = fig.add_subplot()
...     x = np.linspace(-4, 4, 200)
...     ax.plot(x, np.exp(-0.5 * (x - mean) ** 2))
>>> slider(draw, mean=np.linspace(-2, 2, 9))  # doctest: +SKIP

``draw(fig, **values)`` must draw into the ``fig`` it is given (``fig.add_subplot()``,
``fig.subplots(...)``), never through ``matplotlib.pyplot``, which would draw elsewhere.

Speed: every frame is drawn once, when the slider is made, so a slider costs its cell
``frames x draw time``; ``draw`` should only draw. Compute what does not depend on the slider
outside it, and what does (an EM run, a fit per value) once per value before the call, e.g.
``fits = {k: fit(k) for k in values}`` and ``draw`` looks ``fits[k]`` up. Fewer axes, fewer
formulas that change from frame to frame, no colour bar or triangulation rebuilt per frame.
``python benchmarks/sliders.py`` measures every slider of the book (median live response, the
time to draw one frame, static size).

Static DOM contract (the browser test of the book relies on it)::

    <div class="gmm-slider" data-gmm-slider="<content hash>">
      <div class="gmm-slider-control">            (one per parameter)
        <label><span class="gmm-slider-name">mean</span>
               <input type="range" class="gmm-slider-input" aria-label="mean"
                      min="0" max="8" step="1" value="0"></label>
        <output class="gmm-slider-value">-2</output>
      </div>
      <img class="gmm-slider-frame" src="data:image/png;base64,..." alt="...">
      <script type="application/json" class="gmm-slider-data">{...}</script>
      <script>...</script>
    </div>

The HTML holds no ``id`` at all (the label wraps its input), so it is identical on every run
of the notebook and several sliders, even two copies of one, can share a page.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import io
import itertools
import json
import math
import numbers
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

__all__ = [
    "MAX_PAGE_BYTES",
    "MAX_STATIC_BYTES",
    "Slider",
    "SliderDrawError",
    "record_sliders",
    "slider",
]

#: Largest static (HTML) form of one slider, in bytes.
MAX_STATIC_BYTES = 1_500_000
#: Largest total of static sliders created in one kernel (one chapter page), in bytes.
MAX_PAGE_BYTES = 6_000_000

WIDGET_VIEW_MIMETYPE = "application/vnd.jupyter.widget-view+json"
_MAX_PARAMETERS = 2

# Static sizes of the distinct sliders created in this process (one kernel is one chapter),
# keyed by content hash so that re-running a cell does not count twice.
_static_sizes: dict[str, int] = {}
# Lists receiving every Slider created while `record_sliders()` is active.
_recorders: list[list[Slider]] = []


class SliderDrawError(RuntimeError):
    """The drawing function of a slider raised an exception for some parameter value."""


@contextlib.contextmanager
def record_sliders() -> Iterator[list[Slider]]:
    """Collect every :class:`Slider` created inside the ``with`` block (for the benchmark).

    >>> with record_sliders() as created:  # doctest: +SKIP
    ...     slider(draw, mean=[0, 1])
    >>> len(created)  # doctest: +SKIP
    1
    """
    created: list[Slider] = []
    _recorders.append(created)
    try:
        yield created
    finally:
        _recorders.remove(created)


def slider(
    draw: Callable[..., Any],
    *,
    figsize: tuple[float, float] = (6, 4),
    dpi: float = 96,
    labels: Mapping[str, str] | None = None,
    format: Mapping[str, str | Callable[[Any], str]] | None = None,  # noqa: A002
    initial: Mapping[str, Any] | None = None,
    description: str | None = None,
    layout: str | None = "constrained",
    colors: int | None = 256,
    **parameters: Sequence[Any],
) -> Slider:
    """A figure that moves with one or two parameters, live in a kernel and static in the book.

    Parameters
    ----------
    draw : callable
        ``draw(fig, **values)`` draws into a fresh :class:`matplotlib.figure.Figure` (it adds
        its own axes). It is called once per frame, with one value of every parameter.
    figsize : (float, float)
        Figure size in inches.
    dpi : float
        Dots per inch. 96 makes one image pixel one CSS pixel at the figure's nominal size.
    labels : dict, optional
        ``{name: text}`` shown beside the control instead of the parameter's name.
    format : dict, optional
        ``{name: "{:.2f}"}`` or ``{name: callable}``: how a value is shown in the readout.
        Numbers and strings have a default; any other kind of value needs one.
    initial : dict, optional
        ``{name: value}``: the position shown first (default: the first value).
    description : str, optional
        Alternative text of the figure, completed by the current values.
    layout : {"constrained", "tight", None}
        Layout engine that places the axes. It runs on a few sample frames (the first, the
        last and the initial value of each parameter) when the slider is made, and every
        frame then uses the tightest of these placements: the axes stay still while the
        slider moves, and a redraw does not pay for the layout again. With None, ``draw``
        places its axes itself.
    colors : int or None
        Number of palette colours of the PNG frames (an exact, deterministic colour
        quantisation that makes frames about three times smaller), or None for full RGB.
    **parameters : 1-D sequences
        One or two ``name=values``. With two, there is one frame per pair (their product).

    Returns
    -------
    Slider
        Displays as an ipywidgets control in a kernel and as static HTML in the book.

    Raises
    ------
    ValueError
        No parameter, more than two, a value list that is empty or not 1-D, readouts that
        coincide, or a static form above :data:`MAX_STATIC_BYTES`.
    SliderDrawError
        ``draw`` raised for some value (the message names the value).
    """
    return Slider(
        draw,
        figsize=figsize,
        dpi=dpi,
        labels=labels,
        format=format,
        initial=initial,
        description=description,
        layout=layout,
        colors=colors,
        parameters=parameters,
    )


def _as_values(name: str, values: Any) -> list[Any]:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise ValueError(
            f"slider parameter {name!r} must be a 1-D sequence of values, got {values!r}"
        )
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            raise ValueError(
                f"slider parameter {name!r} must be 1-D, got an array of shape {values.shape}"
            )
        values = values.tolist()  # Python scalars: the same objects on every path
    values = list(values)
    if not values:
        raise ValueError(f"slider parameter {name!r} has no values: give at least one")
    return values


def _default_formatter(name: str) -> Callable[[Any], str]:
    def formatter(value: Any) -> str:
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, (bool, str)):
            return str(value)
        if isinstance(value, numbers.Integral):
            return str(int(value))
        if isinstance(value, numbers.Real):
            return f"{float(value):.4g}"
        raise ValueError(
            f"slider parameter {name!r}: no default readout for a value of type "
            f"{type(value).__name__}; pass format={{{name!r}: callable}}"
        )

    return formatter


def _formatter(name: str, spec: str | Callable[[Any], str] | None) -> Callable[[Any], str]:
    if spec is None:
        return _default_formatter(name)
    if isinstance(spec, str):
        return spec.format
    if callable(spec):
        return spec
    raise ValueError(f"format[{name!r}] must be a format string or a callable, got {spec!r}")


def _check_keys(option: str, mapping: Mapping[str, Any] | None, names: Sequence[str]) -> dict:
    mapping = dict(mapping or {})
    unknown = sorted(set(mapping) - set(names))
    if unknown:
        raise ValueError(
            f"{option} names {unknown} that are not slider parameters (parameters: {list(names)})"
        )
    return mapping


def _json_for_script(data: Any) -> str:
    # Inside <script> only "</" could end the element early; escaping <, > and & is enough.
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# Initialises every slider on the page that is not yet initialised, so that each slider's own
# copy of the script can run in any order, and a page with many sliders needs no ids.
_SCRIPT = """(function () {
  var roots = document.querySelectorAll("div.gmm-slider:not([data-gmm-ready])");
  Array.prototype.forEach.call(roots, function (root) {
    var data = JSON.parse(root.querySelector("script.gmm-slider-data").textContent);
    var inputs = root.querySelectorAll("input.gmm-slider-input");
    var outputs = root.querySelectorAll("output.gmm-slider-value");
    var image = root.querySelector("img.gmm-slider-frame");
    function update() {
      var flat = 0, shown = [];
      for (var i = 0; i < inputs.length; i++) {
        var k = Number(inputs[i].value), text = data.readouts[i][k];
        flat = flat * data.shape[i] + k;
        outputs[i].textContent = text;
        inputs[i].setAttribute("aria-valuetext", text);
        shown.push(data.names[i] + " = " + text);
      }
      image.src = "data:image/png;base64," + data.frames[data.frame_of[flat]];
      image.alt = data.alt + " (" + shown.join(", ") + ")";
    }
    Array.prototype.forEach.call(inputs, function (input) {
      input.addEventListener("input", update);
    });
    root.setAttribute("data-gmm-ready", "");
    update();
  });
})();"""


class Slider:
    """A figure over a grid of parameter values; see :func:`slider`, which builds it.

    Attributes
    ----------
    names : tuple of str
        Parameter names, in the order given.
    values : tuple of list
        The values of each parameter.
    shape : tuple of int
        Number of values of each parameter; frames are ordered as ``np.ndindex(shape)``.
    frames : list of bytes
        PNG of every frame (``len(frames) == prod(shape)``), rendered at construction.
    """

    def __init__(
        self,
        draw: Callable[..., Any],
        *,
        figsize: tuple[float, float],
        dpi: float,
        labels: Mapping[str, str] | None,
        format: Mapping[str, Any] | None,  # noqa: A002
        initial: Mapping[str, Any] | None,
        description: str | None,
        layout: str | None,
        colors: int | None,
        parameters: Mapping[str, Sequence[Any]],
    ) -> None:
        if not callable(draw):
            raise ValueError(f"draw must be a function draw(fig, **values), got {draw!r}")
        if not parameters:
            raise ValueError(
                "slider needs one or two parameters, e.g. slider(draw, mean=[0.0, 0.5, 1.0])"
            )
        if len(parameters) > _MAX_PARAMETERS:
            raise ValueError(
                f"slider takes one or two parameters, got {len(parameters)}: "
                f"{list(parameters)}; fix the others inside draw"
            )
        if colors is not None and not 2 <= colors <= 256:
            raise ValueError(f"colors must be None or between 2 and 256, got {colors}")
        self.draw = draw
        self.figsize = (float(figsize[0]), float(figsize[1]))
        self.dpi = float(dpi)
        self.layout = layout
        self.colors = colors
        self.names = tuple(parameters)
        self.values = tuple(_as_values(name, parameters[name]) for name in self.names)
        self.shape = tuple(len(v) for v in self.values)
        self.labels = {name: name for name in self.names}
        self.labels.update(_check_keys("labels", labels, self.names))
        formats = _check_keys("format", format, self.names)
        self.readouts = tuple(
            [str(_formatter(name, formats.get(name))(value)) for value in values]
            for name, values in zip(self.names, self.values, strict=True)
        )
        for name, readouts in zip(self.names, self.readouts, strict=True):
            if len(set(readouts)) < len(readouts):
                repeated = sorted({r for r in readouts if readouts.count(r) > 1})
                raise ValueError(
                    f"slider parameter {name!r}: several values read {repeated}; "
                    f"give format={{{name!r}: ...}} with more digits"
                )
        self.initial_index = self._initial_index(_check_keys("initial", initial, self.names))
        self.description = description or f"Figure drawn by {self._draw_name}"

        self._positions = self._measure_layout()
        self.frames = [self.render(**self.values_at(index)) for index in np.ndindex(self.shape)]
        self._static_html = self._build_static_html()
        self._widget = None
        self._controls: list[Any] = []
        self._image = None
        self._check_budget()
        for created in _recorders:
            created.append(self)

    # -- the one drawing path, shared by the live and the static form -------------------------

    def render(self, **values: Any) -> bytes:
        """Draw one frame: a fresh Figure, ``draw(fig, **values)``, then deterministic PNG bytes."""
        fig = Figure(figsize=self.figsize, dpi=self.dpi, facecolor="white")
        canvas = _SharedRendererCanvas(fig)
        self._call_draw(fig, values)
        if self._positions is not None and len(fig.axes) == len(self._positions):
            for ax, box in zip(fig.axes, self._positions, strict=True):
                ax.set_position(box, which="both")
        elif self.layout is not None:
            fig.set_layout_engine(self.layout)  # axes not as in the samples: lay out anew
        try:
            canvas.draw()
        except Exception as exc:
            raise self._draw_error(values, exc) from exc
        return _encode_png(canvas, self.colors)

    def _call_draw(self, fig: Any, values: Mapping[str, Any]) -> None:
        try:
            self.draw(fig, **values)
        except Exception as exc:
            raise self._draw_error(values, exc) from exc

    def _draw_error(self, values: Mapping[str, Any], exc: Exception) -> SliderDrawError:
        shown = ", ".join(f"{name}={value!r}" for name, value in values.items())
        return SliderDrawError(
            f"the draw function {self._draw_name} raised {type(exc).__name__} for {shown}: {exc}"
        )

    def _measure_layout(self) -> list[Any] | None:
        """Axes boxes that fit every sample frame's layout (None: no layout engine, or
        samples that do not have the same number of axes)."""
        if self.layout is None:
            return None
        samples = itertools.product(
            *({0, n - 1, i} for n, i in zip(self.shape, self.initial_index, strict=True))
        )
        boxes: list[list[Any]] = []
        for index in sorted(samples):
            values = self.values_at(index)
            fig = Figure(figsize=self.figsize, dpi=self.dpi, layout=self.layout)
            _SharedRendererCanvas(fig)
            self._call_draw(fig, values)
            try:
                fig.draw_without_rendering()
            except Exception as exc:
                raise self._draw_error(values, exc) from exc
            boxes.append([ax.get_position(original=True) for ax in fig.axes])
        if len({len(b) for b in boxes}) != 1:
            return None
        # The intersection of an axes' boxes leaves room for the labels of every sample.
        return [
            Bbox.from_extents(
                max(b.x0 for b in same),
                max(b.y0 for b in same),
                min(b.x1 for b in same),
                min(b.y1 for b in same),
            )
            for same in zip(*boxes, strict=True)
        ]

    def values_at(self, index: Sequence[int]) -> dict[str, Any]:
        """``{name: value}`` at a tuple of indices, one per parameter."""
        return {
            name: values[i] for name, values, i in zip(self.names, self.values, index, strict=True)
        }

    def frame_index(self, index: Sequence[int]) -> int:
        """Position in :attr:`frames` of a tuple of indices (row-major, as ``np.ndindex``)."""
        return int(np.ravel_multi_index(tuple(index), self.shape))

    # -- static form ----------------------------------------------------------------------------

    @property
    def static_html(self) -> str:
        """The self-contained static slider (``text/html``), identical on every run."""
        return self._static_html

    @property
    def static_size(self) -> int:
        """Size in bytes of :attr:`static_html` (UTF-8)."""
        return len(self._static_html.encode("utf-8"))

    def _build_static_html(self) -> str:
        unique: dict[bytes, int] = {}
        frame_of = [unique.setdefault(png, len(unique)) for png in self.frames]
        encoded = [base64.b64encode(png).decode("ascii") for png in unique]
        data = {
            "names": [self.labels[name] for name in self.names],
            "shape": list(self.shape),
            "readouts": [list(r) for r in self.readouts],
            "frame_of": frame_of,
            "frames": encoded,
            "alt": self.description,
        }
        data_json = _json_for_script(data)
        digest = self._digest = hashlib.sha256(data_json.encode("ascii")).hexdigest()[:16]
        first = self.frame_index(self.initial_index)
        width, height = _png_size(self.frames[first])
        shown = ", ".join(
            f"{self.labels[name]} = {self.readouts[p][i]}"
            for p, (name, i) in enumerate(zip(self.names, self.initial_index, strict=True))
        )
        esc = html.escape
        controls = []
        for p, name in enumerate(self.names):
            label = self.labels[name]
            readout = self.readouts[p][self.initial_index[p]]
            controls.append(
                '<div class="gmm-slider-control" style="display:flex;align-items:center;'
                'gap:0.6em;margin:0.2em 0">'
                '<label style="display:flex;align-items:center;gap:0.6em">'
                f'<span class="gmm-slider-name">{esc(label)}</span>'
                f'<input type="range" class="gmm-slider-input" name="{esc(name)}" '
                f'aria-label="{esc(label)}" aria-valuetext="{esc(readout)}" '
                f'min="0" max="{self.shape[p] - 1}" step="1" value="{self.initial_index[p]}">'
                "</label>"
                f'<output class="gmm-slider-value">{esc(readout)}</output>'
                "</div>"
            )
        return (
            f'<div class="gmm-slider" data-gmm-slider="{digest}">'
            + "".join(controls)
            + f'<img class="gmm-slider-frame" width="{width}" height="{height}" '
            'style="max-width:100%;height:auto" '
            f'alt="{esc(self.description)} ({esc(shown)})" '
            f'src="data:image/png;base64,{encoded[frame_of[first]]}">'
            f'<script type="application/json" class="gmm-slider-data">{data_json}</script>'
            f"<script>{_SCRIPT}</script>"
            "</div>"
        )

    def _check_budget(self) -> None:
        size = self.static_size
        if size > MAX_STATIC_BYTES:
            n_frames = len(self.frames)
            raise ValueError(
                f"the static form of this slider ({self._draw_name} over "
                f"{' x '.join(map(str, self.shape))} = {n_frames} frames) would weigh "
                f"{size / 1e6:.2f} MB, above the {MAX_STATIC_BYTES / 1e6:.1f} MB budget "
                f"({size / n_frames / 1e3:.0f} KB per frame): use fewer values, a smaller "
                "figsize or dpi, or a simpler figure"
            )
        _static_sizes[self._digest] = size
        total = sum(_static_sizes.values())
        if total > MAX_PAGE_BYTES:
            warnings.warn(
                f"the sliders created in this kernel weigh {total / 1e6:.2f} MB in all, above "
                f"the {MAX_PAGE_BYTES / 1e6:.0f} MB budget of a chapter page: use fewer "
                "sliders or fewer frames (if you re-ran cells with new values, restart the "
                "kernel to reset this count)",
                stacklevel=3,
            )

    # -- live form ------------------------------------------------------------------------------

    @property
    def widget(self) -> Any:
        """The live ipywidgets control, sliders above the figure (created on first use)."""
        if self._widget is None:
            self._widget = self._build_widget()
        return self._widget

    @property
    def controls(self) -> list[Any]:
        """The live ipywidgets sliders, one per parameter (their value is an index)."""
        self.widget  # noqa: B018 - builds the controls on first use
        return list(self._controls)

    @property
    def image(self) -> Any:
        """The live ``ipywidgets.Image`` showing the current frame's PNG."""
        self.widget  # noqa: B018 - builds the image on first use
        return self._image

    def _build_widget(self) -> Any:
        import ipywidgets

        first = self.frame_index(self.initial_index)
        width, height = _png_size(self.frames[first])
        self._image = ipywidgets.Image(
            value=self.frames[first], format="png", width=width, height=height
        )
        self._controls = [
            ipywidgets.SelectionSlider(
                options=[(readout, i) for i, readout in enumerate(self.readouts[p])],
                value=self.initial_index[p],
                description=self.labels[name],
                continuous_update=True,
                readout=True,
                style={"description_width": "initial"},
                layout=ipywidgets.Layout(width=f"{max(width, 300)}px"),
            )
            for p, name in enumerate(self.names)
        ]
        for control in self._controls:
            control.observe(self._redraw, names="value")
        return ipywidgets.VBox([*self._controls, self._image])

    def _redraw(self, change: Any = None) -> None:
        # The frame drawn for these values when the slider was made: the same bytes a fresh
        # render gives (tests/test_interactive.py checks it), without the wait.
        index = tuple(control.value for control in self._controls)
        self._image.value = self.frames[self.frame_index(index)]

    # -- display --------------------------------------------------------------------------------

    @property
    def _draw_name(self) -> str:
        return getattr(self.draw, "__qualname__", type(self.draw).__name__)

    def __repr__(self) -> str:
        axes = ", ".join(f"{n}: {k} values" for n, k in zip(self.names, self.shape, strict=True))
        return (
            f"<gmm.interactive.Slider {self._draw_name} over {axes}; "
            f"{len(self.frames)} frames, static {self.static_size / 1e3:.0f} KB>"
        )

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None, **kwargs: Any
    ) -> dict[str, Any]:
        bundle: dict[str, Any] = {"text/plain": repr(self), "text/html": self._static_html}
        wanted = include is None or WIDGET_VIEW_MIMETYPE in include
        if wanted and not (exclude and WIDGET_VIEW_MIMETYPE in exclude):
            view = self.widget._repr_mimebundle_()
            if view and WIDGET_VIEW_MIMETYPE in view:
                bundle[WIDGET_VIEW_MIMETYPE] = view[WIDGET_VIEW_MIMETYPE]
        return bundle

    def _initial_index(self, initial: Mapping[str, Any]) -> tuple[int, ...]:
        index = []
        for name, values in zip(self.names, self.values, strict=True):
            if name not in initial:
                index.append(0)
                continue
            wanted = initial[name]
            matches = [i for i, value in enumerate(values) if _same(value, wanted)]
            if not matches:
                raise ValueError(
                    f"initial value {wanted!r} of {name!r} is not one of its values {values}"
                )
            index.append(matches[0])
        return tuple(index)


def _same(a: Any, b: Any) -> bool:
    # Numbers match up to rounding (0.1 * 3 is one of np.linspace(0, 0.3, 4)), others exactly.
    if isinstance(a, numbers.Real) and isinstance(b, numbers.Real):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    try:
        return bool(np.all(a == b))
    except Exception:  # noqa: BLE001 - values of any kind; unequal if not comparable
        return False


# One Agg renderer per (width, height, dpi), kept for the life of the kernel.
_renderers: dict[tuple[int, int, float], RendererAgg] = {}


class _SharedRendererCanvas(FigureCanvasAgg):
    """An Agg canvas that draws every new figure with one long-lived renderer per size.

    matplotlib caches text metrics and parsed mathtext per renderer; a fresh canvas starts
    with a fresh renderer and measures every tick label and parses every formula again. The
    renderer holds no state that reaches the pixels (it is cleared before each draw), so the
    frames are the same bytes as with a fresh canvas, only sooner (tests check this).
    """

    def get_renderer(self) -> RendererAgg:
        width, height = self.get_width_height(physical=True)
        key = (width, height, float(self.figure.dpi))
        if key not in _renderers:
            _renderers[key] = RendererAgg(width, height, self.figure.dpi)
        self.renderer = _renderers[key]
        return self.renderer


def _encode_png(canvas: Any, colors: int | None) -> bytes:
    """PNG bytes of a drawn Agg canvas, with no timestamp or software tag (same bytes every run)."""
    from PIL import Image

    size = canvas.get_width_height(physical=True)
    rgba = Image.frombuffer("RGBA", size, canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    image = rgba.convert("RGB")  # the figure is opaque (white face colour)
    if colors is not None:
        # Fast octree without dithering is a deterministic function of the pixels.
        image = image.quantize(colors, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    image.save(buffer, format="png")
    return buffer.getvalue()


def _png_size(png: bytes) -> tuple[int, int]:
    # Width and height are the first fields of the IHDR chunk, right after the signature.
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")

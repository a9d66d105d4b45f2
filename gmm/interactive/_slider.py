"""The :class:`Slider`: parameter values, readouts and alt texts, and the three parts tied up.

It checks the values and options, asks :mod:`.frames` for every frame, and offers them in
two forms: :mod:`.static` (``text/html``, for the book) and :mod:`.live` (a widget, for a
kernel), both in one mime bundle. Nothing is kept between sliders: every slider owns its
frames, its renderer cache and its forms.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import numbers
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from .frames import FrameRenderer, SliderDrawError, layout_samples, png_size
from .static import static_html

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
#: Largest total of the static sliders of one chapter page, in bytes (checked on the built
#: book by its browser test and by ``benchmarks/sliders.py``, which see a whole page).
MAX_PAGE_BYTES = 6_000_000

WIDGET_VIEW_MIMETYPE = "application/vnd.jupyter.widget-view+json"
_MAX_PARAMETERS = 2

# The lists that `record_sliders` blocks active in this context collect new sliders into.
# A context variable holds an immutable tuple: entering a block sets a new one, leaving it
# restores the old one, so nothing is left behind and threads do not see each other's.
_RECORDERS: contextvars.ContextVar[tuple[list[Slider], ...]] = contextvars.ContextVar(
    "gmm_slider_recorders", default=()
)


@contextlib.contextmanager
def record_sliders() -> Iterator[list[Slider]]:
    """Collect every :class:`Slider` created inside the ``with`` block (for the benchmark).

    Yields
    ------
    list of Slider
        Filled, in order of creation, with the sliders made inside the block.

    >>> with record_sliders() as created:  # doctest: +SKIP
    ...     slider(draw, mean=[0, 1])
    >>> len(created)  # doctest: +SKIP
    1
    """
    created: list[Slider] = []
    token = _RECORDERS.set((*_RECORDERS.get(), created))
    try:
        yield created
    finally:
        _RECORDERS.reset(token)


def slider(
    draw: Callable[..., Any],
    *,
    figsize: tuple[float, float] = (6, 4),
    dpi: float = 96,
    labels: Mapping[str, str] | None = None,
    format: Mapping[str, str | Callable[[Any], str]] | None = None,
    initial: Mapping[str, Any] | None = None,
    description: str | None = None,
    layout: str | None = "constrained",
    colors: int | None = 256,
    alt: str | Callable[..., str] | None = None,
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
        ``{name: text}`` shown beside the control (and its accessible name) instead of the
        parameter's name.
    format : dict, optional
        ``{name: "{:.2f}"}`` or ``{name: callable}``: how a value is shown in the readout.
        Numbers and strings have a default; any other kind of value needs one.
    initial : dict, optional
        ``{name: value}``: the position shown first (default: the first value).
    description : str, optional
        Alternative text of the figure, completed by the current values:
        ``"<description> (name = readout)"``. Prefer ``alt``.
    layout : {"constrained", "tight", None}
        Layout engine that places the axes. It runs on a few sample frames (the first, the
        last and the initial value of each parameter) when the slider is made, and every
        frame then uses the tightest of these placements: the axes stay still while the
        slider moves, and a redraw does not pay for the layout again. With None, ``draw``
        places its axes itself.
    colors : int or None
        Number of palette colours of the PNG frames (an exact, deterministic colour
        quantisation that makes frames about three times smaller), or None for full RGB.
    alt : str or callable, optional
        The alternative text of every frame: one sentence saying what the figure shows at
        these values, naming them (a screen reader reads it as the slider moves). A format
        string whose fields are the parameter names: ``{name}`` is the readout shown beside
        the control, ``{name:.2f}`` formats the value itself, e.g.
        ``alt="Mixture density for mixing weight pi_1 = {pi_1}"``; or a callable
        ``alt(**values) -> str``, e.g. ``alt=lambda K: f"EM fit with {K} components"``.
        Frames of different values must get different texts. Default: ``description``
        followed by the values.
    **parameters : 1-D sequences
        One or two ``name=values``. With two, there is one frame per pair (their product).

    Returns
    -------
    Slider
        Displays as a live widget in a kernel and as static HTML in the book.

    Raises
    ------
    ValueError
        No parameter, more than two, a value list that is empty or not 1-D, readouts or alt
        texts that coincide, an empty alt text, both ``alt`` and ``description``, or a static
        form above ``MAX_STATIC_BYTES``.
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
        alt=alt,
        parameters=parameters,
    )


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
    readouts : tuple of list of str
        The text shown for every value of every parameter.
    frames : list of bytes
        PNG of every frame (``len(frames) == prod(shape)``), rendered at construction.
    alts : list of str
        Alternative text of every frame, in the order of ``frames``.
    """

    def __init__(
        self,
        draw: Callable[..., Any],
        *,
        figsize: tuple[float, float],
        dpi: float,
        labels: Mapping[str, str] | None,
        format: Mapping[str, Any] | None,
        initial: Mapping[str, Any] | None,
        description: str | None,
        layout: str | None,
        colors: int | None,
        parameters: Mapping[str, Sequence[Any]],
        alt: str | Callable[..., str] | None = None,
    ) -> None:
        self.renderer = FrameRenderer(
            draw, figsize=figsize, dpi=dpi, layout=layout, colors=colors
        )
        if not parameters:
            raise ValueError(
                "slider needs one or two parameters, e.g. slider(draw, mean=[0.0, 0.5, 1.0])"
            )
        if len(parameters) > _MAX_PARAMETERS:
            raise ValueError(
                f"slider takes one or two parameters, got {len(parameters)}: "
                f"{list(parameters)}; fix the others inside draw"
            )
        if alt is not None and description is not None:
            raise ValueError("give alt or description, not both (alt names the values itself)")
        self.draw = draw
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
        self.description = description or f"Figure drawn by {self.renderer.draw_name}"
        self.alts = self._alt_texts(alt)

        self.renderer.fix_layout(
            [self.values_at(i) for i in layout_samples(self.shape, self.initial_index)]
        )
        self.frames = [self.render(**self.values_at(index)) for index in np.ndindex(self.shape)]
        self._static_html = static_html(
            names=self.names,
            labels=[self.labels[name] for name in self.names],
            shape=self.shape,
            readouts=self.readouts,
            frames=self.frames,
            alts=self.alts,
            initial=self.initial_index,
        )
        self._widget: Any = None
        self._check_budget()
        for created in _RECORDERS.get():
            created.append(self)

    # -- values, readouts and alt texts ---------------------------------------------------------

    def values_at(self, index: Sequence[int]) -> dict[str, Any]:
        """``{name: value}`` at a tuple of indices, one per parameter.

        Parameters
        ----------
        index : sequence of int
            One position in its value list per parameter.

        Returns
        -------
        dict
            Parameter name -> its value at that position.
        """
        return {
            name: values[i] for name, values, i in zip(self.names, self.values, index, strict=True)
        }

    def frame_index(self, index: Sequence[int]) -> int:
        """Position in :attr:`frames` of a tuple of indices (row-major, as ``np.ndindex``).

        Parameters
        ----------
        index : sequence of int
            One position in its value list per parameter.

        Returns
        -------
        int
            The frame's position.
        """
        return int(np.ravel_multi_index(tuple(index), self.shape))

    def _alt_texts(self, alt: str | Callable[..., str] | None) -> list[str]:
        texts = []
        for index in np.ndindex(self.shape):
            values = self.values_at(index)
            readouts = [self.readouts[p][i] for p, i in enumerate(index)]
            if alt is None:
                shown = ", ".join(
                    f"{self.labels[name]} = {readout}"
                    for name, readout in zip(self.names, readouts, strict=True)
                )
                text = f"{self.description} ({shown})"
            elif isinstance(alt, str):
                fields = {
                    name: _Field(values[name], readout)
                    for name, readout in zip(self.names, readouts, strict=True)
                }
                try:
                    text = alt.format(**fields)
                except (KeyError, IndexError, ValueError, TypeError) as exc:
                    raise ValueError(
                        f"alt={alt!r} cannot be filled in ({type(exc).__name__}: {exc}); its "
                        f"fields must be the parameter names {list(self.names)}, "
                        f"e.g. {{{self.names[0]}}}"
                    ) from exc
            elif callable(alt):
                text = alt(**values)
            else:
                raise ValueError(f"alt must be a format string or a callable, got {alt!r}")
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"alt gave {text!r} at {values}: give a sentence")
            texts.append(text.strip())
        if len(set(texts)) < len(texts):
            repeated = sorted({t for t in texts if texts.count(t) > 1})[:3]
            raise ValueError(
                f"alt gives one text to frames of different values ({repeated}): "
                f"name the values in it, e.g. {{{self.names[0]}}}"
            )
        return texts

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

    # -- frames ---------------------------------------------------------------------------------

    def render(self, **values: Any) -> bytes:
        """Draw one frame: a fresh Figure, ``draw(fig, **values)``, then deterministic PNG bytes.

        Parameters
        ----------
        **values
            One value per parameter, by name, passed on to ``draw``.

        Returns
        -------
        bytes
            The frame as PNG.
        """
        return self.renderer.render(**values)

    @property
    def _positions(self) -> Any:
        return self.renderer.positions

    # -- static form ----------------------------------------------------------------------------

    @property
    def static_html(self) -> str:
        """The self-contained static slider (``text/html``), identical on every run."""
        return self._static_html

    @property
    def static_size(self) -> int:
        """Size in bytes of :attr:`static_html` (UTF-8)."""
        return len(self._static_html.encode("utf-8"))

    def _check_budget(self) -> None:
        size = self.static_size
        if size > MAX_STATIC_BYTES:
            n_frames = len(self.frames)
            raise ValueError(
                f"the static form of this slider ({self.renderer.draw_name} over "
                f"{' x '.join(map(str, self.shape))} = {n_frames} frames) would weigh "
                f"{size / 1e6:.2f} MB, above the {MAX_STATIC_BYTES / 1e6:.1f} MB budget "
                f"({size / n_frames / 1e3:.0f} KB per frame): use fewer values, a smaller "
                "figsize or dpi, or a simpler figure"
            )

    # -- live form ------------------------------------------------------------------------------

    @property
    def widget(self) -> Any:
        """The live widget (``gmm.interactive.live.LiveSlider``), made on first use.

        Set ``widget.index = [i]`` (one position per parameter) to move it from Python.
        """
        if self._widget is None:
            from .live import LiveSlider

            first = self.frame_index(self.initial_index)
            self._widget = LiveSlider(
                labels=[self.labels[name] for name in self.names],
                readouts=self.readouts,
                frames=self.frames,
                alts=self.alts,
                shape=self.shape,
                initial=self.initial_index,
                size=png_size(self.frames[first]),
            )
        return self._widget

    # -- display --------------------------------------------------------------------------------

    def __repr__(self) -> str:
        axes = ", ".join(f"{n}: {k} values" for n, k in zip(self.names, self.shape, strict=True))
        return (
            f"<gmm.interactive.Slider {self.renderer.draw_name} over {axes}; "
            f"{len(self.frames)} frames, static {self.static_size / 1e3:.0f} KB>"
        )

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None, **kwargs: Any
    ) -> dict[str, Any]:
        bundle: dict[str, Any] = {"text/plain": repr(self), "text/html": self._static_html}
        wanted = include is None or WIDGET_VIEW_MIMETYPE in include
        if wanted and not (exclude and WIDGET_VIEW_MIMETYPE in exclude):
            view = self.widget._repr_mimebundle_()
            if isinstance(view, tuple):  # (data, metadata)
                view = view[0]
            if view and WIDGET_VIEW_MIMETYPE in view:
                bundle[WIDGET_VIEW_MIMETYPE] = view[WIDGET_VIEW_MIMETYPE]
        return bundle


class _Field:
    """A parameter value in an ``alt`` format string: ``{name}`` is its readout,
    ``{name:.2f}`` formats the value itself."""

    def __init__(self, value: Any, readout: str) -> None:
        self.value = value
        self.readout = readout

    def __format__(self, spec: str) -> str:
        return format(self.value, spec) if spec else self.readout

    def __str__(self) -> str:
        return self.readout


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


def _same(a: Any, b: Any) -> bool:
    # Numbers match up to rounding (0.1 * 3 is one of np.linspace(0, 0.3, 4)), others exactly.
    if isinstance(a, numbers.Real) and isinstance(b, numbers.Real):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    try:
        return bool(np.all(a == b))
    except Exception:  # values of any kind; unequal if not comparable
        return False


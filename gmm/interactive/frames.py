"""Rendering frames: one drawing function, a grid of values, deterministic PNG bytes.

This is the only place a slider draws. The static HTML form (:mod:`.static`) and the live
widget (:mod:`.live`) both show the bytes :meth:`FrameRenderer.render` returns, so the two
faces of a slider show the same PNG for the same values.

Determinism: the PNG holds no timestamp or software tag, and the optional palette
quantisation (fast octree, no dithering) is a deterministic function of the pixels. Every
frame of the book's sliders is byte-identical under OpenBLAS SkylakeX with 2 threads,
Sandybridge with 1 and Haswell with 2 (numpy's AVX-512 paths off); what could differ is what
``draw`` computes, so it should not draw quantities at rounding level.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

__all__ = ["FrameRenderer", "SliderDrawError", "encode_png", "layout_samples", "png_size"]


class SliderDrawError(RuntimeError):
    """The drawing function of a slider raised an exception for some parameter value."""


class FrameRenderer:
    """Draws ``draw(fig, **values)`` into a fresh figure and returns PNG bytes.

    Parameters
    ----------
    draw : callable
        ``draw(fig, **values)``: draws into the :class:`~matplotlib.figure.Figure` it is given.
    figsize : (float, float)
        Figure size in inches.
    dpi : float
        Dots per inch.
    layout : {"constrained", "tight", None}
        Layout engine run on the sample frames of :meth:`fix_layout`.
    colors : int or None
        Palette size of the PNG (2 to 256), or None for full RGB.

    Notes
    -----
    matplotlib caches text metrics and parsed mathtext per renderer; a fresh canvas starts
    with a fresh renderer and measures every tick label and parses every formula again. A
    renderer holds nothing that reaches the pixels (it is cleared before each draw), so this
    object keeps one Agg renderer per size for its own frames: the same bytes, sooner.
    """

    def __init__(
        self,
        draw: Callable[..., Any],
        *,
        figsize: tuple[float, float],
        dpi: float,
        layout: str | None,
        colors: int | None,
    ) -> None:
        if not callable(draw):
            raise ValueError(f"draw must be a function draw(fig, **values), got {draw!r}")
        if colors is not None and not 2 <= colors <= 256:
            raise ValueError(f"colors must be None or between 2 and 256, got {colors}")
        self.draw = draw
        self.figsize = (float(figsize[0]), float(figsize[1]))
        self.dpi = float(dpi)
        self.layout = layout
        self.colors = colors
        self.positions: list[Bbox] | None = None
        self._renderers: dict[tuple[int, int, float], RendererAgg] = {}

    @property
    def draw_name(self) -> str:
        """The drawing function's name, as error messages show it."""
        return getattr(self.draw, "__qualname__", type(self.draw).__name__)

    def _canvas(self, fig: Figure) -> FigureCanvasAgg:
        renderers = self._renderers

        class Canvas(FigureCanvasAgg):
            def get_renderer(self) -> RendererAgg:
                width, height = self.get_width_height(physical=True)
                key = (width, height, float(self.figure.dpi))
                if key not in renderers:
                    renderers[key] = RendererAgg(width, height, self.figure.dpi)
                self.renderer = renderers[key]
                return self.renderer

        return Canvas(fig)

    def render(self, **values: Any) -> bytes:
        """One frame: a fresh Figure, ``draw(fig, **values)``, then deterministic PNG bytes.

        Parameters
        ----------
        **values
            One value per parameter of the slider, passed on to ``draw``.

        Returns
        -------
        bytes
            The frame as PNG (no timestamp or software tag), laid out with the boxes of
            :meth:`fix_layout` when the frame has as many axes as its samples.

        Raises
        ------
        SliderDrawError
            If ``draw`` or drawing the figure raises, naming the values.
        """
        fig = Figure(figsize=self.figsize, dpi=self.dpi, facecolor="white")
        canvas = self._canvas(fig)
        self._call_draw(fig, values)
        if self.positions is not None and len(fig.axes) == len(self.positions):
            for ax, box in zip(fig.axes, self.positions, strict=True):
                ax.set_position(box, which="both")
        elif self.layout is not None:
            fig.set_layout_engine(self.layout)  # axes not as in the samples: lay out anew
        try:
            canvas.draw()
        except Exception as exc:
            raise self.draw_error(values, exc) from exc
        return encode_png(canvas, self.colors)

    def fix_layout(self, samples: Sequence[Mapping[str, Any]]) -> None:
        """Run the layout engine on sample frames and keep, for every later frame, axes boxes
        that fit all of them (the axes stay still while the slider moves). Samples that do
        not have the same number of axes leave every frame to its own layout.

        Parameters
        ----------
        samples : sequence of mapping
            Parameter values of the sample frames (see :func:`layout_samples`).
        """
        self.positions = None
        if self.layout is None:
            return
        boxes: list[list[Bbox]] = []
        for values in samples:
            fig = Figure(figsize=self.figsize, dpi=self.dpi, layout=self.layout)
            self._canvas(fig)
            self._call_draw(fig, values)
            try:
                fig.draw_without_rendering()
            except Exception as exc:
                raise self.draw_error(values, exc) from exc
            boxes.append([ax.get_position(original=True) for ax in fig.axes])
        if len({len(b) for b in boxes}) != 1:
            return
        # The intersection of an axes' boxes leaves room for the labels of every sample.
        self.positions = [
            Bbox.from_extents(
                max(b.x0 for b in same),
                max(b.y0 for b in same),
                min(b.x1 for b in same),
                min(b.y1 for b in same),
            )
            for same in zip(*boxes, strict=True)
        ]

    def _call_draw(self, fig: Figure, values: Mapping[str, Any]) -> None:
        try:
            self.draw(fig, **values)
        except Exception as exc:
            raise self.draw_error(values, exc) from exc

    def draw_error(self, values: Mapping[str, Any], exc: Exception) -> SliderDrawError:
        """The error to raise when drawing the frame of ``values`` raised ``exc``.

        Parameters
        ----------
        values : mapping
            The frame's parameter values.
        exc : Exception
            What ``draw`` (or matplotlib, drawing the figure) raised.

        Returns
        -------
        SliderDrawError
            Naming the drawing function, the exception and the values.
        """
        shown = ", ".join(f"{name}={value!r}" for name, value in values.items())
        return SliderDrawError(
            f"the draw function {self.draw_name} raised {type(exc).__name__} for {shown}: {exc}"
        )


def layout_samples(shape: Sequence[int], initial: Sequence[int]) -> list[tuple[int, ...]]:
    """Indices of the frames the layout is measured on: the first, the last and the initial
    value of each parameter, and their combinations.

    Parameters
    ----------
    shape : sequence of int, length P
        Number of values of each parameter.
    initial : sequence of int, length P
        The position shown first.

    Returns
    -------
    list of tuple of int
        Positions (one index per parameter), sorted, each once.
    """
    return sorted(
        itertools.product(*({0, n - 1, i} for n, i in zip(shape, initial, strict=True)))
    )


def encode_png(canvas: Any, colors: int | None) -> bytes:
    """PNG bytes of a drawn Agg canvas, with no timestamp or software tag (same bytes every run).

    Parameters
    ----------
    canvas : matplotlib.backends.backend_agg.FigureCanvasAgg
        A canvas after ``draw()``; its figure is opaque.
    colors : int or None
        Palette size (2 to 256; fast octree quantisation, no dithering), or None for RGB.

    Returns
    -------
    bytes
        The PNG file.
    """
    from PIL import Image

    size = canvas.get_width_height(physical=True)
    rgba = Image.frombuffer("RGBA", size, canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    image = rgba.convert("RGB")  # the figure is opaque (white face colour)
    if colors is not None:
        image = image.quantize(colors, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    image.save(buffer, format="png")
    return buffer.getvalue()


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) in pixels: the first fields of the IHDR chunk, after the signature.

    Parameters
    ----------
    png : bytes
        A PNG file.

    Returns
    -------
    (int, int)
        Width and height in pixels.
    """
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")

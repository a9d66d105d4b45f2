"""Sliders that make a figure move, in a live notebook and in the published book.

One call, :func:`slider`, turns a drawing function and the values of one or two parameters
into an object with two faces:

- In a live kernel (JupyterLab, VS Code, Colab) it displays as a widget: moving a slider
  shows the figure for the new value at once. Every frame is drawn when the slider is made
  (the static form needs them all anyway), so a move is a look-up, not a redraw.
- In the HTML book, where no kernel runs, the same output carries a ``text/html`` form: every
  frame rendered when the notebook was executed, embedded as PNG data URIs and switched by a
  few lines of inline JavaScript (no external script, no network).

Example
-------
>>> import numpy as np
>>> from gmm.interactive import slider
>>> def draw(fig, mean):
...     ax = fig.add_subplot()
...     x = np.linspace(-4, 4, 200)
...     ax.plot(x, np.exp(-0.5 * (x - mean) ** 2))
>>> slider(draw, mean=np.linspace(-2, 2, 9),
...        alt="Standard normal density shifted to mean {mean}")  # doctest: +SKIP

``draw(fig, **values)`` must draw into the ``fig`` it is given (``fig.add_subplot()``,
``fig.subplots(...)``), never through ``matplotlib.pyplot``, which would draw elsewhere.
``alt`` names what the figure shows at the values (a format string of the parameter names,
or a callable): it is the frame's alternative text in both forms.

Speed: a slider costs its cell ``frames x draw time``; ``draw`` should only draw. Compute
what does not depend on the slider outside it, and what does (an EM run, a fit per value)
once per value before the call, e.g. ``fits = {k: fit(k) for k in values}`` and ``draw``
looks ``fits[k]`` up. ``python benchmarks/sliders.py`` measures every slider of the book.

Layout of this subpackage, one responsibility per module (no state between sliders):

- ``gmm.interactive.frames``: drawing one frame, fixing the layout, deterministic PNG bytes.
- ``gmm.interactive.static``: the static HTML form and its DOM contract (which the book's
  browser test and CSS rely on), and the book's mime priority (``_config.yml`` prefers
  ``text/html`` in the HTML builders).
- ``gmm.interactive.live``: the live widget (anywidget), the same accessible DOM.
- ``_slider``: :class:`Slider` and :func:`slider`, which check the values and options, name
  the frames (readouts, alt texts) and tie the three up in one mime bundle.

Needs matplotlib and pillow (frames), and anywidget for the live form; ``import gmm`` needs
none of them.
"""

from ._slider import (
    MAX_PAGE_BYTES,
    MAX_STATIC_BYTES,
    Slider,
    SliderDrawError,
    record_sliders,
    slider,
)

__all__ = [
    "MAX_PAGE_BYTES",
    "MAX_STATIC_BYTES",
    "Slider",
    "SliderDrawError",
    "record_sliders",
    "slider",
]

"""The live form of a slider: a widget in a running kernel (JupyterLab, VS Code, Colab).

Built with anywidget, so that it is the same accessible DOM as the static form (see
:mod:`.static`): native ``<input type="range">`` controls with the parameter's label as their
accessible name and the readout ("0.30", not the position 4) as ``aria-valuetext``, an
``<output>`` showing the readout, and an image whose alt text names the values. A move sends
the new position to the kernel, which answers with the frame drawn when the slider was made
(a look-up, not a redraw) and its alt text.

Needs ``anywidget`` (and so ``ipywidgets``): :mod:`gmm.interactive` imports this module only
when a live view is asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anywidget
import traitlets

__all__ = ["CSS", "ESM", "LiveSlider"]

ESM = """
function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "gmm-slider gmm-slider-live";
  const labels = model.get("labels"), readouts = model.get("readouts");
  const inputs = [], outputs = [];
  labels.forEach((text, p) => {
    const control = document.createElement("div");
    control.className = "gmm-slider-control";
    const label = document.createElement("label");
    const name = document.createElement("span");
    name.className = "gmm-slider-name";
    name.textContent = text;
    const input = document.createElement("input");
    input.type = "range";
    input.className = "gmm-slider-input";
    input.min = "0";
    input.max = String(readouts[p].length - 1);
    input.step = "1";
    input.setAttribute("aria-label", text);
    const output = document.createElement("output");
    output.className = "gmm-slider-value";
    label.append(name, input);
    control.append(label, output);
    root.append(control);
    inputs.push(input);
    outputs.push(output);
    // Arrow keys move the slider, not JupyterLab's cell selection.
    input.addEventListener("keydown", (event) => event.stopPropagation());
    input.addEventListener("input", () => {
      model.set("index", inputs.map((i) => Number(i.value)));
      model.save_changes();
      show_position();
    });
  });
  const image = document.createElement("img");
  image.className = "gmm-slider-frame";
  image.width = model.get("width");
  image.height = model.get("height");
  root.append(image);
  el.append(root);
  let url = null;
  function show_position() {
    const index = model.get("index");
    inputs.forEach((input, p) => {
      const text = readouts[p][index[p]];
      input.value = String(index[p]);
      input.setAttribute("aria-valuetext", text);
      outputs[p].textContent = text;
    });
  }
  function show_frame() {
    const frame = model.get("frame");
    if (url) URL.revokeObjectURL(url);
    url = URL.createObjectURL(new Blob([frame], { type: "image/png" }));
    image.src = url;
    image.alt = model.get("alt");
  }
  model.on("change:index", show_position);
  model.on("change:frame", show_frame);
  model.on("change:alt", () => { image.alt = model.get("alt"); });
  show_position();
  show_frame();
  return () => { if (url) URL.revokeObjectURL(url); };
}
export default { render };
"""

# Slider tracks and thumbs big enough to hit with a finger (WCAG 2.5.8: 24 CSS px targets).
CSS = """
.gmm-slider-live .gmm-slider-control { display: flex; flex-wrap: wrap; align-items: center;
  gap: 0.6em; margin: 0.2em 0; }
.gmm-slider-live label { display: flex; align-items: center; gap: 0.6em; }
.gmm-slider-live input[type="range"] { width: min(22rem, 70vw); min-height: 2rem; }
.gmm-slider-live img { max-width: 100%; height: auto; }
"""


class LiveSlider(anywidget.AnyWidget):
    """The live slider: set :attr:`index` (one position per parameter), the frame follows.

    Parameters as for :func:`gmm.interactive.static.static_html`; ``size`` is the frames'
    (width, height) in pixels.

    Attributes
    ----------
    index : list of int
        The position of each parameter (synced with the browser; out of the grid is a
        ValueError).
    frame : bytes
        The PNG shown: the frame of :attr:`index`, drawn when the slider was made.
    alt : str
        Its alternative text.
    labels : list of str
        The controls' names, as in the static form.
    readouts : list of list of str
        The text of every value of every parameter.
    width : int
        The frames' width in pixels.
    height : int
        The frames' height in pixels.
    """

    _esm = traitlets.Unicode(ESM).tag(sync=True)
    _css = traitlets.Unicode(CSS).tag(sync=True)
    labels = traitlets.List(traitlets.Unicode()).tag(sync=True)
    readouts = traitlets.List(traitlets.List(traitlets.Unicode())).tag(sync=True)
    index = traitlets.List(traitlets.Int()).tag(sync=True)
    frame = traitlets.Bytes().tag(sync=True)
    alt = traitlets.Unicode().tag(sync=True)
    width = traitlets.Int().tag(sync=True)
    height = traitlets.Int().tag(sync=True)

    def __init__(
        self,
        *,
        labels: Sequence[str],
        readouts: Sequence[Sequence[str]],
        frames: Sequence[bytes],
        alts: Sequence[str],
        shape: Sequence[int],
        initial: Sequence[int],
        size: tuple[int, int],
    ) -> None:
        self._frames = list(frames)
        self._alts = list(alts)
        self._shape = tuple(shape)
        start = self._flat(initial)
        super().__init__(
            labels=list(labels),
            readouts=[list(r) for r in readouts],
            index=list(initial),
            frame=self._frames[start],
            alt=self._alts[start],
            width=size[0],
            height=size[1],
        )

    def _flat(self, index: Sequence[int]) -> int:
        if len(index) != len(self._shape):
            raise ValueError(f"slider position {list(index)}: give {len(self._shape)} positions")
        position = 0
        for n, i in zip(self._shape, index, strict=True):
            if not 0 <= i < n:
                raise ValueError(
                    f"slider position {list(index)} outside the grid {list(self._shape)}"
                )
            position = position * n + i
        return position

    @traitlets.validate("index")
    def _valid_index(self, proposal: Any) -> list[int]:
        self._flat(proposal["value"])
        return list(proposal["value"])

    @traitlets.observe("index")
    def _show(self, change: Any) -> None:
        # The frame drawn for these values when the slider was made (tests check that it is
        # what a fresh render gives), without the wait.
        position = self._flat(change["new"])
        self.frame = self._frames[position]
        self.alt = self._alts[position]

"""The static HTML form of a slider: every frame embedded, switched by inline JavaScript.

The HTML book has no kernel. There a slider is this ``text/html`` output: every frame as a
PNG data URI in a JSON block and a few lines of script that show the frame of the current
position (no external script, no network). myst-nb prefers this form to the widget view
(``nb_mime_priority_overrides`` in the book's ``_config.yml``).

DOM contract (the book's browser test and its CSS rely on it)::

    <div class="gmm-slider" data-gmm-slider="<content hash>">
      <div class="gmm-slider-control">            (one per parameter)
        <label><span class="gmm-slider-name">mean</span>
               <input type="range" class="gmm-slider-input" aria-label="mean"
                      aria-valuetext="-2" min="0" max="8" step="1" value="0"></label>
        <output class="gmm-slider-value">-2</output>
      </div>
      <img class="gmm-slider-frame" src="data:image/png;base64,..." alt="<frame's alt>">
      <script type="application/json" class="gmm-slider-data">{...}</script>
      <script>...</script>
    </div>

The range input's value is a position (0, 1, ...); ``aria-valuetext`` carries the readout, so
a screen reader announces the value ("0.30"), not the position. The image's alt is the
frame's own text (it names the values) and changes with the frame.

The HTML holds no ``id`` (the label wraps its input), so it is identical on every run of the
notebook, and several sliders, even two copies of one, can share a page.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections.abc import Sequence
from typing import Any

from .frames import png_size

__all__ = ["SCRIPT", "json_for_script", "static_html"]

# Initialises every slider on the page not yet initialised, so that each slider's own copy
# of the script can run in any order, and a page with many sliders needs no ids.
SCRIPT = """(function () {
  var roots = document.querySelectorAll("div.gmm-slider:not([data-gmm-ready])");
  Array.prototype.forEach.call(roots, function (root) {
    var data = JSON.parse(root.querySelector("script.gmm-slider-data").textContent);
    var inputs = root.querySelectorAll("input.gmm-slider-input");
    var outputs = root.querySelectorAll("output.gmm-slider-value");
    var image = root.querySelector("img.gmm-slider-frame");
    function update() {
      var flat = 0;
      for (var i = 0; i < inputs.length; i++) {
        var k = Number(inputs[i].value), text = data.readouts[i][k];
        flat = flat * data.shape[i] + k;
        outputs[i].textContent = text;
        inputs[i].setAttribute("aria-valuetext", text);
      }
      image.src = "data:image/png;base64," + data.frames[data.frame_of[flat]];
      image.alt = data.alts[flat];
    }
    Array.prototype.forEach.call(inputs, function (input) {
      input.addEventListener("input", update);
    });
    root.setAttribute("data-gmm-ready", "");
    update();
  });
})();"""


def json_for_script(data: Any) -> str:
    """JSON safe inside ``<script>``: only "</" could end the element early, so escaping
    <, > and & is enough.

    Parameters
    ----------
    data : object
        Anything ``json.dumps`` takes.

    Returns
    -------
    str
        Compact ASCII JSON with ``<``, ``>`` and ``&`` written as ``\\u`` escapes.
    """
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def static_html(
    *,
    names: Sequence[str],
    labels: Sequence[str],
    shape: Sequence[int],
    readouts: Sequence[Sequence[str]],
    frames: Sequence[bytes],
    alts: Sequence[str],
    initial: Sequence[int],
) -> str:
    """The self-contained slider: same arguments, same string (no id, no time, no path).

    Parameters
    ----------
    names, labels : sequence of str, length P
        Parameter names (the inputs' ``name``) and the text shown beside each control.
    shape : sequence of int, length P
        Number of values of each parameter.
    readouts : P sequences of str
        The text of every value of every parameter.
    frames, alts : sequences of length prod(shape)
        PNG bytes and alternative text of every frame, in row-major order.
    initial : sequence of int, length P
        The position shown first.

    Returns
    -------
    str
        One ``div.gmm-slider`` (the DOM contract above): controls, the first frame, every
        distinct frame once in its JSON block, and the script.
    """
    unique: dict[bytes, int] = {}
    frame_of = [unique.setdefault(png, len(unique)) for png in frames]
    encoded = [base64.b64encode(png).decode("ascii") for png in unique]
    data = {
        "names": list(labels),
        "shape": list(shape),
        "readouts": [list(r) for r in readouts],
        "frame_of": frame_of,
        "frames": encoded,
        "alts": list(alts),
    }
    data_json = json_for_script(data)
    digest = hashlib.sha256(data_json.encode("ascii")).hexdigest()[:16]
    first = 0
    for n, i in zip(shape, initial, strict=True):
        first = first * n + i
    width, height = png_size(frames[first])
    esc = html.escape
    controls = []
    for p, name in enumerate(names):
        readout = readouts[p][initial[p]]
        controls.append(
            '<div class="gmm-slider-control" style="display:flex;flex-wrap:wrap;'
            'align-items:center;gap:0.6em;margin:0.2em 0">'
            '<label style="display:flex;align-items:center;gap:0.6em">'
            f'<span class="gmm-slider-name">{esc(labels[p])}</span>'
            f'<input type="range" class="gmm-slider-input" name="{esc(name)}" '
            f'aria-label="{esc(labels[p])}" aria-valuetext="{esc(readout)}" '
            f'min="0" max="{shape[p] - 1}" step="1" value="{initial[p]}">'
            "</label>"
            f'<output class="gmm-slider-value">{esc(readout)}</output>'
            "</div>"
        )
    return (
        f'<div class="gmm-slider" data-gmm-slider="{digest}">'
        + "".join(controls)
        + f'<img class="gmm-slider-frame" width="{width}" height="{height}" '
        'style="max-width:100%;height:auto" '
        f'alt="{esc(alts[first])}" '
        f'src="data:image/png;base64,{encoded[frame_of[first]]}">'
        f'<script type="application/json" class="gmm-slider-data">{data_json}</script>'
        f"<script>{SCRIPT}</script>"
        "</div>"
    )

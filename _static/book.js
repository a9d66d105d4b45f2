/* The book's fixes to its theme (loaded on every page, after the theme's scripts).

Sidebar toggles: pydata-sphinx-theme 0.17 puts its own hidden primary/secondary toggle in
the top bar, and both it and sphinx-book-theme attach their click handlers to the FIRST
element with class .primary-toggle / .secondary-toggle (document.querySelector), which is
that hidden button. The visible buttons in the article header get no handler and do nothing.
Forward a click on any other toggle to the first one, so that the theme's own handlers run:
on a wide screen the primary toggle collapses and restores the sidebar, on a narrow one each
toggle opens its sidebar as a dialog (closed by Escape or a click beside it). Newer themes
fix this but need Sphinx 8, which jupyter-book 1 does not allow. */
(function () {
  function forwardToggles() {
    ["primary", "secondary"].forEach(function (side) {
      var buttons = document.querySelectorAll("." + side + "-toggle");
      if (buttons.length < 2) return;
      var first = buttons[0];
      Array.prototype.slice.call(buttons, 1).forEach(function (button) {
        button.setAttribute("aria-label", "Toggle " + side + " sidebar");
        button.addEventListener("click", function (event) {
          event.preventDefault();
          event.stopImmediatePropagation();
          first.click();
        });
      });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", forwardToggles);
  } else {
    forwardToggles();
  }
})();

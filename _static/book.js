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

/* What the pages used of Bootstrap's script, which the build drops (81 KB for a dozen
components; see _ext/book_readers.py): the download menu's dropdown and the back-to-top
button. Tooltips: each button keeps its own title, which the browser shows. */
(function () {
  function menuOf(toggle) {
    return toggle.parentElement && toggle.parentElement.querySelector(".dropdown-menu");
  }
  function setOpen(toggle, open) {
    var menu = menuOf(toggle);
    if (!menu) return;
    menu.classList.toggle("show", open);
    toggle.classList.toggle("show", open);
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    // Bootstrap's CSS places a menu with this attribute below its button, as Popper would.
    if (open) menu.setAttribute("data-bs-popper", "static");
  }
  function closeAll(except) {
    document.querySelectorAll('[data-bs-toggle="dropdown"][aria-expanded="true"]')
      .forEach(function (toggle) { if (toggle !== except) setOpen(toggle, false); });
  }
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest('[data-bs-toggle="dropdown"]');
    closeAll(toggle);
    if (toggle) {
      event.preventDefault();
      setOpen(toggle, toggle.getAttribute("aria-expanded") !== "true");
    }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var open = document.querySelector('[data-bs-toggle="dropdown"][aria-expanded="true"]');
    if (open) {
      setOpen(open, false);
      open.focus();
    }
  });
  function ready() {
    document.querySelectorAll('[data-bs-toggle="tooltip"][data-bs-title]:not([title])')
      .forEach(function (el) { el.setAttribute("title", el.getAttribute("data-bs-title")); });
    var top = document.getElementById("pst-back-to-top");
    var header = document.querySelector(".bd-header");
    if (!top || !header) return;
    top.addEventListener("click", function () {
      document.body.scrollTop = 0;
      document.documentElement.scrollTop = 0;
    });
    var bottom = header.getBoundingClientRect().bottom, last = window.scrollY;
    // As Bootstrap's: shown while the reader scrolls back up, below the header.
    window.addEventListener("scroll", function () {
      top.style.display = last > window.scrollY && window.scrollY > bottom ? "block" : "none";
      last = window.scrollY;
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();

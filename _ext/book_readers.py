"""Sphinx extension of the book: what its readers' devices need from the built HTML.

1. Theme fixes (``_static/book.css``, ``_static/book.js``): display equations that scroll
   inside their own box with the number beside them, code and tables that scroll inside
   theirs, sidebar toggles that work (pydata-sphinx-theme 0.17 attaches their handlers to a
   hidden duplicate button), slider tracks big enough to hit.

2. Page weight. Every page loaded Font Awesome's SVG-replacing script (1.49 MB) to draw
   about fifteen icons that the theme's CSS already draws from its web font, and the search
   index on every page for a search-as-you-type the book does not enable. After the build:
   the script is dropped, the solid web font is cut down to the icons the pages use, the
   search scripts stay only on the search page, the embedded (unused: no widget manager is
   loaded) ipywidgets state is left out, and MathJax loads without its context menu and with
   only the TeX packages the book writes (base, ams, boldsymbol). Bootstrap's script (81 KB,
   a dozen components) is dropped: the pages use its dropdown (the download menu) and its
   back-to-top button, which book.js provides in a few lines, and its tooltips, for which the
   buttons' own titles serve. Stylesheets lose the rules no page can match and the custom
   properties nothing reads; highlighted code loses the token spans whose colour is the code
   block's own in every colour mode (names and punctuation: a third of a chapter's HTML).

3. Search snippets offline. Sphinx's search page fetches every result page to show a snippet;
   on ``file://`` the browser refuses (a CORS error per result, and no snippet). The build
   writes ``_static/search-texts.js``, the text of every page's sections (no outputs), and
   the search page reads snippets from it, on ``file://`` and over http alike.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from docutils import nodes

STATIC = Path(__file__).resolve().parents[1] / "_static"
SEARCH_TEXTS = "search-texts.js"

# -- 2. page weight --------------------------------------------------------------------------

_FONTAWESOME_SCRIPT = re.compile(
    r'\s*<script defer src="[^"]*_static/scripts/fontawesome\.js[^"]*"></script>'
)
_SEARCH_SCRIPTS = re.compile(
    r'\s*<script src="[^"]*'
    r'(?:_static/searchtools\.js|_static/language_data\.js|searchindex\.js)"></script>'
)
_ICON_CLASS = re.compile(r'class="([^"]*\bfa-[^"]*)"')
# sphinx-design (tabs, cards) and thebe (a live kernel from a CDN) are loaded by jupyter-book
# on every page; the book uses neither (no sd- class in a page, launch_buttons.thebe false).
_DESIGN_ASSETS = re.compile(
    r'\s*(?:<link rel="stylesheet" type="text/css" href="[^"]*_static/sphinx-design\.min\.css'
    r'[^"]*" />|<script data-sd-tabs-storage-prefix="[^"]*" src="[^"]*_static/design-tabs\.js'
    r'[^"]*"></script>)'
)
_THEBE_ASSETS = re.compile(
    r'\s*(?:<link rel="stylesheet" type="text/css" href="[^"]*_static/sphinx-thebe\.css[^"]*" />'
    r'|<script>const THEBE_JS_URL = [^<]*</script>'
    r'|<script async="async" src="[^"]*_static/sphinx-thebe\.js[^"]*"></script>)'
)
_SOLID_FONT = "vendor/fontawesome/webfonts/fa-solid-900"
_BOOTSTRAP_SCRIPT = re.compile(
    r'\s*<(?:script defer src|link rel="preload" as="script" href)='
    r'"[^"]*_static/scripts/bootstrap\.js[^"]*"\s*(?:/>|></script>)'
)
# What of Bootstrap the pages use, and book.js stands in for: the data-bs-toggle values, and
# the calls of the theme's scripts. Anything else (a modal, a popover, a bootstrap.Collapse)
# keeps Bootstrap's script on every page.
_BOOTSTRAP_TOGGLES_REPLACED = {"dropdown", "tooltip"}
_BOOTSTRAP_CALLS_REPLACED = {"bootstrap.Tooltip"}  # only for #pst-collapse-sidebar-button
_BOOTSTRAP_TOGGLE = re.compile(r'data-bs-(?:toggle|spy|dismiss)="([^"]*)"')
_BOOTSTRAP_CALL = re.compile(r"\bbootstrap\.[A-Za-z]+")


def _used_icons(html_files: list[Path]) -> set[str]:
    icons: set[str] = set()
    for path in html_files:
        for classes in _ICON_CLASS.findall(path.read_text(encoding="utf-8")):
            icons.update(c for c in classes.split() if c.startswith("fa-"))
    return icons


def _subset_solid_font(static: Path, icons: set[str]) -> None:
    """Cut fa-solid-900 down to the icons used; point the theme's CSS at the subset."""
    css_path = static / "styles" / "pydata-sphinx-theme.css"
    font = static / f"{_SOLID_FONT}.ttf"
    if not (css_path.exists() and font.exists()):
        return
    from fontTools import subset

    css = css_path.read_text(encoding="utf-8")
    glyph_of = {}
    for selectors, code in re.findall(r'([^{}]+)\{content:"\\([0-9a-f]+)"\}', css):
        for selector in selectors.split(","):
            match = re.fullmatch(r"\.(fa-[a-z0-9-]+):(?::)?before", selector.strip())
            if match:
                glyph_of[match.group(1)] = int(code, 16)
    codepoints = {glyph_of[icon] for icon in icons if icon in glyph_of}

    # Drop the CSS rules of the two thousand icons no page uses (about 100 KB per page).
    def keep(rule):
        selectors = [sel.strip() for sel in rule.group(1).split(",")]
        names = [re.fullmatch(r"\.(fa-[a-z0-9-]+):(?::)?before", sel) for sel in selectors]
        if all(names) and not any(n.group(1) in icons for n in names):
            return ""
        return rule.group(0)

    css = re.sub(r'([^{}]+)\{content:"\\[0-9a-f]+"\}', keep, css)
    if not codepoints:
        return
    options = subset.Options()
    options.flavor = None  # TrueType: woff2 would need brotli, which the book does not need
    options.layout_features = []
    ttfont = subset.load_font(str(font), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(codepoints))
    subsetter.subset(ttfont)
    target = static / f"{_SOLID_FONT}-book-subset.ttf"
    subset.save_font(ttfont, str(target), options)
    css = re.sub(
        r'url\(([^)]*?)fa-solid-900\.woff2\) format\("woff2"\),'
        r'url\([^)]*?fa-solid-900\.ttf\) format\("truetype"\)',
        lambda m: f'url({m.group(1)}fa-solid-900-book-subset.ttf) format("truetype")',
        css,
    )
    css_path.write_text(css, encoding="utf-8")


# Classes that scripts may build from pieces ("bs-tooltip-" + placement) or toggle. Without
# Bootstrap's script no tooltip, popover, modal or offcanvas is ever built, and the classes
# the remaining scripts set are words of those scripts (which count as used).
_DYNAMIC_CLASS_PREFIXES = ("bs-", "tooltip", "popover", "show", "fade", "collaps", "dropdown",
                           "modal", "offcanvas", "active", "disabled", "is-", "was-", "pst-",
                           "bd-", "sbt-", "theme-", "focus", "hover")
_DYNAMIC_CLASS_PREFIXES_WITHOUT_BOOTSTRAP = ("show", "active", "disabled", "pst-", "bd-",
                                             "sbt-", "theme-", "focus", "hover")


def _split_top_level(text: str, separator: str = ",") -> list[str]:
    parts, depth, start, quote = [], 0, 0, ""
    for i, char in enumerate(text):
        if quote:
            if char == quote and text[i - 1] != "\\":
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == separator and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _selector_can_match(selector: str, words: set[str], prefixes: tuple[str, ...]) -> bool:
    # :not(.x) matches without .x; attribute values and strings are not classes.
    bare = re.sub(r":not\([^)]*\)", "", selector)
    bare = re.sub(r"\[[^\]]*\]|\"[^\"]*\"|'[^']*'", "", bare)
    for name in re.findall(r"\.(-?[A-Za-z_][A-Za-z0-9_-]*)", bare):
        if name not in words and not name.startswith(prefixes):
            return False
    return True


def _map_rules(css: str, rule) -> str:
    """Rewrite every plain rule of a stylesheet with ``rule(prelude, body)`` (None drops it),
    also inside @media and @supports; other at-rules (@font-face, @keyframes) stay whole."""
    out, i, n = [], 0, len(css)
    while i < n:
        brace = css.find("{", i)
        if brace < 0:
            out.append(css[i:])
            break
        prelude = css[i:brace]
        depth, j = 1, brace + 1
        while j < n and depth:
            if css[j] == "{":
                depth += 1
            elif css[j] == "}":
                depth -= 1
            j += 1
        body = css[brace + 1 : j - 1]
        head = prelude.strip()
        if head.startswith(("@media", "@supports")):
            inner = _map_rules(body, rule)
            if inner.strip():
                out.append(f"{prelude}{{{inner}}}")
        elif head.startswith("@") or ";" in prelude:
            out.append(css[i:j])
        else:
            kept = rule(prelude, body)
            if kept is not None:
                out.append(kept)
        i = j
    return "".join(out)


def _purge_css(css: str, words: set[str],
               prefixes: tuple[str, ...] = _DYNAMIC_CLASS_PREFIXES) -> str:
    """Drop the selectors of a stylesheet that name a class no page and no script contains
    (they can never match), and the rules left with none."""

    def rule(prelude, body):
        kept = [s for s in _split_top_level(prelude) if _selector_can_match(s, words, prefixes)]
        return ",".join(kept) + "{" + body + "}" if kept else None

    return _map_rules(css, rule)


_CUSTOM_PROPERTY = re.compile(r"\s*(--[A-Za-z0-9_-]+)\s*:")


def _drop_unused_properties(sheets: dict[Path, str], read_elsewhere: str) -> dict[Path, str]:
    """Drop the declarations of custom properties (``--name: value``) that no stylesheet reads
    with ``var(--name`` and no page or script names; repeated, since a dropped declaration may
    have been the only reader of another."""
    while True:
        read = set(re.findall(r"var\(\s*(--[A-Za-z0-9_-]+)", "".join(sheets.values())))
        dropped = False

        def rule(prelude, body, read=read):
            nonlocal dropped
            declarations = []
            for declaration in _split_top_level(body, ";"):
                name = _CUSTOM_PROPERTY.match(declaration)
                if name and name.group(1) not in read and name.group(1) not in read_elsewhere:
                    dropped = True
                    continue
                declarations.append(declaration)
            if not "".join(declarations).strip():
                return None
            return prelude + "{" + ";".join(declarations) + "}"

        sheets = {path: _map_rules(css, rule) for path, css in sheets.items()}
        if not dropped:
            return sheets


def _lone_classes(selectors: str) -> set[str]:
    """Classes that a compound selector names alone (``.n``, ``span.n``, ``.x .n``): only these
    can match a token span, which has one class (``.sig-param.n`` cannot)."""
    lone = set()
    for compound in re.split(r"[\s>+~,()]+", selectors):
        classes = re.findall(r"\.([A-Za-z0-9_-]+)", compound)
        if len(classes) == 1:
            lone.add(classes[0])
    return lone


def _noop_token_classes(static: Path) -> set[str]:
    """Pygments token classes whose only style, in every colour mode, is the code block's own
    colour (in the a11y styles: names, punctuation, whitespace): their spans change nothing."""
    pygments = static / "pygments.css"
    if not pygments.exists():
        return set()
    base: dict[str, str] = {}
    styles: dict[str, dict[str, str]] = {}
    styled_elsewhere: set[str] = set()
    css = re.sub(r"/\*.*?\*/", "", pygments.read_text("utf-8"), flags=re.S)
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        declarations = "".join(body.split()).rstrip(";").lower()
        for selector in selectors.split(","):
            match = re.fullmatch(
                r'\s*html\[data-theme="(\w+)"\] \.highlight(?: \.([A-Za-z0-9_-]+))?\s*', selector
            )
            if match and match.group(2) is None:
                colour = re.search(r"(?:^|;)color:([^;]+)", declarations)
                if colour:
                    base[match.group(1)] = colour.group(1)
            elif match:
                styles.setdefault(match.group(2), {})[match.group(1)] = declarations
            else:
                styled_elsewhere.update(_lone_classes(selector))
    for sheet in [*static.glob("*.css"), *(static / "styles").glob("*.css")]:
        if sheet.name != "pygments.css":
            text = re.sub(r"/\*.*?\*/", "", sheet.read_text("utf-8"), flags=re.S)
            for selectors in re.findall(r"([^{}]+)\{", text):
                styled_elsewhere.update(_lone_classes(selectors))
    return {
        token
        for token, by_mode in styles.items()
        if token not in styled_elsewhere
        and base
        and all(mode in base and rule == f"color:{base[mode]}" for mode, rule in by_mode.items())
    }


def _unwrap_token_spans(html: str, tokens: set[str]) -> str:
    if not tokens:
        return html
    span = re.compile(
        r'<span class="(?:' + "|".join(map(re.escape, sorted(tokens))) + r')">([^<]*)</span>'
    )
    return re.sub(r"<pre\b[^>]*>.*?</pre>", lambda m: span.sub(r"\1", m.group(0)), html,
                  flags=re.S)


def _page_scripts(out: Path, pages: dict[Path, str]) -> set[Path]:
    """The script files the pages load."""
    scripts = set()
    for path, text in pages.items():
        for src in re.findall(r'<script\b[^>]*\bsrc="([^"?#]+)', text):
            script = (path.parent / src).resolve()
            if script.is_file() and out.resolve() in script.parents:
                scripts.add(script)
    return scripts


def _bootstrap_replaceable(pages: dict[Path, str], scripts: set[Path]) -> bool:
    """True if the pages use no more of Bootstrap than book.js stands in for."""
    for text in pages.values():
        if set(_BOOTSTRAP_TOGGLE.findall(text)) - _BOOTSTRAP_TOGGLES_REPLACED:
            return False
        if 'id="pst-collapse-sidebar-button"' in text:
            return False
    for script in scripts:
        if script.name != "bootstrap.js":
            calls = set(_BOOTSTRAP_CALL.findall(script.read_text("utf-8", errors="replace")))
            if calls - _BOOTSTRAP_CALLS_REPLACED:
                return False
    return True


def trim_pages(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    static = out / "_static"
    html_files = [p for p in out.rglob("*.html") if "_static" not in p.parts]
    search_as_you_type = bool(app.config.html_theme_options.get("search_as_you_type", False))
    tokens = _noop_token_classes(static)
    pages = {}
    for path in html_files:
        text = path.read_text(encoding="utf-8")
        new = _FONTAWESOME_SCRIPT.sub("", text)
        if not search_as_you_type and path.relative_to(out).as_posix() != "search.html":
            new = _SEARCH_SCRIPTS.sub("", new)
        if not re.search(r'class="(?:[^"]* )?sd-', new):
            new = _DESIGN_ASSETS.sub("", new)
        if not app.config.html_theme_options.get("launch_buttons", {}).get("thebe", False):
            new = _THEBE_ASSETS.sub("", new)
        pages[path] = _unwrap_token_spans(new, tokens)
    without_bootstrap = _bootstrap_replaceable(pages, _page_scripts(out, pages))
    if without_bootstrap:
        pages = {path: _BOOTSTRAP_SCRIPT.sub("", text) for path, text in pages.items()}
        # Gone from the build too: a page that still asked for it would fail the browser test.
        for name in ("bootstrap.js", "bootstrap.js.map", "bootstrap.js.LICENSE.txt"):
            (static / "scripts" / name).unlink(missing_ok=True)
    for path, text in pages.items():
        path.write_text(text, encoding="utf-8")
    for name in ("fontawesome.js", "fontawesome.js.map", "fontawesome.js.LICENSE.txt"):
        (static / "scripts" / name).unlink(missing_ok=True)
    _subset_solid_font(static, _used_icons(html_files))
    # Words of the pages (classes, but also their text, to be safe) and of the scripts they
    # load: a class named by none of them is set by nothing.
    scripts = _page_scripts(out, pages)
    script_texts = "\n".join(s.read_text("utf-8", errors="replace") for s in scripts
                             if "mathjax" not in s.parts)
    page_texts = "\n".join(pages.values())
    words = set(re.findall(r"[A-Za-z0-9_-]+", page_texts + script_texts))
    prefixes = (_DYNAMIC_CLASS_PREFIXES_WITHOUT_BOOTSTRAP if without_bootstrap
                else _DYNAMIC_CLASS_PREFIXES)
    sheets = {}
    for css_path in [*static.glob("*.css"), *(static / "styles").glob("*.css")]:
        css = css_path.read_text(encoding="utf-8")
        if css_path.name != "book.css":
            # Comments out first (they hold commas, dots and @); licences kept at the top.
            licences = re.findall(r"/\*!.*?\*/", css, flags=re.S)
            css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
            charset = '@charset "UTF-8";'
            css = charset + "\n".join(licences) + _purge_css(css.replace(charset, ""), words,
                                                              prefixes)
        sheets[css_path] = css
    for css_path, css in _drop_unused_properties(sheets, page_texts + script_texts).items():
        if css_path.name != "book.css":
            css_path.write_text(css, encoding="utf-8")


def drop_widget_state(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if scripts:
        scripts[:] = [
            s
            for s in scripts
            if s.attributes.get("type") != "application/vnd.jupyter.widget-state+json"
        ]


# -- 3. search snippets on file:// -----------------------------------------------------------


def _text(node) -> str:
    """Readable text of a node: no raw HTML (sliders), no cell outputs, no comments."""
    if isinstance(node, nodes.Text):
        return str(node)
    if isinstance(node, (nodes.raw, nodes.comment, nodes.image)):
        return ""
    if "cell_output" in node.get("classes", ()):
        return ""
    return " ".join(_text(child) for child in node.children)


def _section_texts(doctree) -> list:
    """The page as nested sections: [id, text before the first subsection, [children]]."""

    def walk(section) -> list:
        own, children = [], []
        for child in section.children:
            if isinstance(child, nodes.section):
                children.append(walk(child))
            else:
                own.append(_text(child))
        ids = section.get("ids", [])
        text = re.sub(r"\s+", " ", " ".join(own)).strip()
        return [ids[0] if ids else "", text, children]

    return [walk(s) for s in doctree.children if isinstance(s, nodes.section)]


def collect_search_texts(app, pagename, templatename, context, doctree) -> None:
    if doctree is None:
        return
    texts = app.env.__dict__.setdefault("book_search_texts", {})
    texts[pagename] = _section_texts(doctree)


def write_search_texts(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    texts = getattr(app.env, "book_search_texts", {})
    data = json.dumps(texts, separators=(",", ":"), ensure_ascii=False).replace("</", "<\\/")
    (Path(app.outdir) / "_static" / SEARCH_TEXTS).write_text(
        f"window.BOOK_SEARCH_TEXTS = {data};\n", encoding="utf-8"
    )


# Answer the search page's fetch of a result page from the stored texts, rebuilt as nested
# <section id=...> inside [role=main], which is what Sphinx's snippet code reads (including a
# result's anchor). Also over http: one small file instead of every result page (up to
# 0.6 MB each), and snippets from the text rather than from the page's print-only contents.
_SEARCH_SHIM = """(function () {
  if (!window.fetch) return;
  var root = document.documentElement.dataset.content_root || "";
  var original = window.fetch.bind(window);
  function escape(text) {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }
  function html(section) {
    var id = section[0] ? ' id="' + escape(section[0]) + '"' : "";
    return "<section" + id + "><p>" + escape(section[1]) + "</p>" +
      section[2].map(html).join("") + "</section>";
  }
  window.fetch = function (url, options) {
    var texts = window.BOOK_SEARCH_TEXTS || {};
    if (typeof url === "string" && url.indexOf(root) === 0 && /\\.html$/.test(url)) {
      var page = url.slice(root.length).replace(/\\.html$/, "");
      if (texts[page]) {
        var body = '<div role="main">' + texts[page].map(html).join("") + "</div>";
        return Promise.resolve(new Response(body, {headers: {"Content-Type": "text/html"}}));
      }
    }
    return original(url, options);
  };
})();"""


def add_search_shim(app, pagename, templatename, context, doctree) -> None:
    if pagename != "search" or "script_files" not in context:
        return
    from sphinx.builders.html._assets import _JavaScript

    context["script_files"] += [
        _JavaScript(f"_static/{SEARCH_TEXTS}", priority=100),
        _JavaScript("", priority=101, body=_SEARCH_SHIM),
    ]


# The TeX packages the book's mathematics needs: base, ams (\operatorname, \tfrac, split,
# aligned, \lesssim, ...) and boldsymbol. Without autoload and noundefined a macro of any
# other package is a MathJax error, which the browser test reports (test_book.py).
MATHJAX_TEX_PACKAGES = ["base", "ams", "boldsymbol"]


def mathjax_without_menu(app) -> None:
    """MathJax from its components, without the 426 KB context menu that tex-chtml.js bundles:
    the TeX input with the packages the book uses (not input/tex's require, newcommand,
    configmacros, autoload, noundefined), CHTML output, and the hidden MathML that screen
    readers read (assistive-mml)."""
    if not str(app.config.mathjax_path).endswith("mathjax/tex-chtml.js"):
        return
    app.config.mathjax_path = str(app.config.mathjax_path).replace("tex-chtml.js", "startup.js")
    config = dict(app.config.mathjax3_config or {})
    extensions = [f"[tex]/{name}" for name in MATHJAX_TEX_PACKAGES if name != "base"]
    config["loader"] = {"load": ["input/tex-base", *extensions, "output/chtml",
                                 "a11y/assistive-mml"]}
    config["tex"] = {**config.get("tex", {}), "packages": MATHJAX_TEX_PACKAGES}
    app.config.mathjax3_config = config


def drop_duplicate_assets(app, config) -> None:
    """jupyter-book lists every file of the book's _static (book.css, book.js) in
    html_css_files / html_js_files; setup() adds them itself (book.js deferred, so that it
    runs once, after the theme's scripts), so the pages loaded each twice."""
    config.html_css_files = [f for f in config.html_css_files if f != "book.css"]
    config.html_js_files = [f for f in config.html_js_files if f != "book.js"]


def setup(app):
    app.connect("builder-inited", mathjax_without_menu, priority=900)
    app.connect("config-inited", drop_duplicate_assets)
    app.config.html_static_path.append(str(STATIC))
    app.add_css_file("book.css", priority=900)
    app.add_js_file("book.js", priority=900, defer="defer")
    app.connect("html-page-context", drop_widget_state)
    app.connect("html-page-context", collect_search_texts)
    app.connect("html-page-context", add_search_shim)
    app.connect("build-finished", write_search_texts)
    # After pydata-sphinx-theme's build-finished handler, which writes pygments.css.
    app.connect("build-finished", trim_pages, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": False}

"""Sphinx extension of the book: two small fixes that jupyter-book's configuration cannot express.

1. Let the book refer to `gmm`'s functions by their public names.

The chapters write {func}`gmm.responsibilities`, the name a reader imports. autodoc documents
the function where it is defined, `gmm.likelihood.responsibilities`. This handler resolves a
`gmm` reference that Sphinx could not find by importing the name and retrying with the
object's canonical name (`__module__` + `__qualname__`). Inside a docstring, a bare name
(:func:`em` in module `gmm`) is tried relative to the current module too. A name that `gmm`
does not have stays unresolved, so `--nitpick` still fails on it.

2. Do not emit an inline script twice.

Sphinx 7.4 re-adds, when it starts writing, every script an extension registered after the
builder started, and it fails to see that the inline ones are already there (their file name
is None in one copy and '' in the other). sphinx-thebe's inline `const THEBE_JS_URL = ...`
then appears twice on every page, and the second copy is a JavaScript error in the browser
("Identifier 'THEBE_JS_URL' has already been declared"). Keep the first copy of each.
"""

import importlib


def _import(dotted: str):
    """The object a dotted name refers to, or None."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        break
    else:
        return None
    for attribute in parts[split:]:
        obj = getattr(obj, attribute, None)
        if obj is None:
            return None
    return obj


def _canonical_name(target: str) -> str | None:
    obj = _import(target)
    if obj is None:
        return None
    if isinstance(obj, type(importlib)):
        canonical = obj.__name__
    else:
        module = getattr(obj, "__module__", None)
        qualname = getattr(obj, "__qualname__", None)
        if not module or not qualname:
            return None
        canonical = f"{module}.{qualname}"
    return canonical if canonical != target else None


def resolve_gmm_alias(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "").lstrip("~.")
    candidates = [target]
    module = node.get("py:module") or ""
    if module.startswith("gmm") and not target.startswith("gmm."):
        candidates.insert(0, f"{module}.{target}")
    domain = env.get_domain("py")
    for candidate in candidates:
        if not (candidate == "gmm" or candidate.startswith("gmm.")):
            continue
        canonical = _canonical_name(candidate)
        if canonical is None:
            continue
        resolved = domain.resolve_xref(
            env, node["refdoc"], app.builder, node["reftype"], canonical, node, contnode
        )
        if resolved is not None:
            return resolved
    return None


def deduplicate_inline_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen = set()
    unique = []
    for script in scripts:
        key = (
            script.filename or "",
            script.priority,
            tuple(sorted(script.attributes.items())),
        )
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def setup(app):
    app.connect("missing-reference", resolve_gmm_alias)
    app.connect("html-page-context", deduplicate_inline_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

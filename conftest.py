"""pytest settings for the whole checkout (tests/conftest.py holds the library tests' own).

nbval compares the stored figures too. By default it leaves ``image/png`` out of the
comparison (it expects PNG bytes to differ between machines), so a figure that a change of
gmm/ redrew would pass while the book showed the old one. The book's figures are drawn from
outputs rounded far above rounding noise, and they are the same bytes under every BLAS set-up
tried (OpenBLAS SkylakeX, Haswell and Sandybridge kernels, 1 and 2 threads, numpy with and
without AVX-512), so here a PNG that differs is a failure, like a number that differs.
"""

COMPARED_TOO = {"image/png"}


def pytest_collection_modifyitems(items):
    for item in items:
        notebook = item.parent
        skipped = getattr(notebook, "skip_compare", None)  # nbval's IPyNbFile
        if skipped is not None:
            notebook.skip_compare = tuple(key for key in skipped if key not in COMPARED_TOO)

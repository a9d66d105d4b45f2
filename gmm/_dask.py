"""The passes of :mod:`gmm.blocks` as Dask computations over a dask array's blocks.

Every pass is one graph: a task per block of ``X`` computing that block's result where the
block lives (:func:`gmm.blocks.block_em_statistics` and its siblings), then a balanced
binary tree of additions (:func:`gmm.blocks.add_results`), whose root is the only thing
``dask.compute`` returns. The parameters enter the graph once, as one key, so what travels
between the workers and the client is ``theta`` and ``K (1 + D + D(D + 1)/2)`` numbers per
block, never the data. ``dask.compute`` runs on whatever scheduler is active: the threads
of this process by default, a ``dask.distributed.Client``'s workers when one exists.

Needs ``dask[array]`` (``pip install gmm[dask]``); :mod:`gmm` imports this module only
for a dask array.
"""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np

from .blocks import add_results, pairwise_sum

__all__ = ["DaskPasses"]


def _row_blocks(X):
    """The dask array with one block per row range (columns in one block), and the first
    row of every block."""
    if X.numblocks[1] != 1:
        X = X.rechunk({1: -1})
    starts = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]]).astype(int)
    return X, [int(s) for s in starts]


class DaskPasses:
    """Passes over the blocks of a ``dask.array.Array``, each one ``dask.compute`` call.

    Parameters
    ----------
    X : dask.array.Array, shape (N, D)
    weight : ndarray or dask.array.Array, shape (N,), or None
        Split along the row blocks of ``X`` (a numpy array is put in the graph block by
        block; pass a dask array for data that does not fit in memory).
    """

    def __init__(self, X, weight=None):
        if X.ndim != 2:
            raise ValueError(
                f"X must be 2-D, of shape (n_samples, n_features); got shape {X.shape}."
            )
        if any(np.isnan(n) for n in X.shape):
            raise ValueError(
                "X has unknown chunk sizes (NaN in its shape); call X.compute_chunk_sizes() "
                "first."
            )
        self.X, self.starts = _row_blocks(X)
        self.n_rows, self.n_features = (int(n) for n in X.shape)
        self.bounds = [
            (start, start + int(n)) for start, n in zip(self.starts, self.X.chunks[0],
                                                        strict=True)
        ]
        self.blocks = list(self.X.to_delayed()[:, 0])
        if weight is None:
            self.weights = [None] * len(self.blocks)
        else:
            weight = (weight if isinstance(weight, da.Array) else da.from_array(weight))
            self.weights = list(weight.rechunk((self.X.chunks[0],)).to_delayed())

    def graph(self, function, *args):
        """The delayed root of one pass: ``function(block, weight, start, *args)`` per
        block, reduced by :func:`gmm.blocks.pairwise_sum`."""
        constants = [dask.delayed(a, traverse=False) for a in args]
        task = dask.delayed(function, pure=True)
        add = dask.delayed(add_results, pure=True)
        return pairwise_sum(
            (task(block, weight, start, *constants)
             for block, weight, start in zip(self.blocks, self.weights, self.starts,
                                             strict=True)),
            add=add,
        )

    def map_reduce(self, function, *args):
        """Compute one pass (:meth:`graph`); returns the reduced result."""
        (result,) = dask.compute(self.graph(function, *args))
        return result

    def map_rows(self, function, *args):
        """``function(block, start, *args)`` for every block, as a lazy dask array (one
        task per block; nothing is computed here)."""
        sample = function(np.zeros((1, self.n_features)), 0, *args)
        constants = [dask.delayed(a, traverse=False) for a in args]
        task = dask.delayed(function, pure=True)
        return da.concatenate([
            da.from_delayed(task(block, start, *constants),
                            shape=(stop - start,) + sample.shape[1:], dtype=sample.dtype)
            for block, (start, stop) in zip(self.blocks, self.bounds, strict=True)
        ])

    def sample_rows(self, indices):
        """Rows ``indices`` (sorted) and their weights, computed block by block."""
        from .blocks import block_rows_at

        parts = [
            dask.delayed(block_rows_at, pure=True)(block, weight, start, indices)
            for block, weight, start in zip(self.blocks, self.weights, self.starts,
                                            strict=True)
        ]
        (sample,) = dask.compute(dask.delayed(_concatenate_rows, pure=True)(parts))
        return sample


def _concatenate_rows(parts):
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

"""Figures for the book, so that every chapter draws the same thing the same way.

Component ``k`` has the colour ``COMPONENT_COLORS[k]`` on every page (the Okabe-Ito
palette, readable with every common colour-vision deficiency). Covariance types and
initialisation methods are not components: they have their own colours and markers
(:func:`category_style`, from Paul Tol's "muted" palette), so that a curve for "full" is
never mistaken for component 1. Needs matplotlib (and daft-pgm for the graphical model),
which ``import gmm`` does not.
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.patches import Ellipse

from .likelihood import log_marginal, responsibilities
from .mixture import Mixture

__all__ = [
    "COMPONENT_COLORS",
    "CATEGORY_STYLES",
    "DATA_COLOR",
    "category_style",
    "component_color",
    "responsibility_colors",
    "scatter",
    "plot_ellipses",
    "plot_density_contours",
    "plot_log_likelihood",
    "plot_weighted_densities_1d",
    "plot_responsibilities_1d",
    "simplex_to_cartesian",
    "plot_simplex",
    "label_old_faithful",
    "plot_graphical_model",
    "match_components",
]

#: Component k is drawn in COMPONENT_COLORS[k % 8] everywhere in the book.
COMPONENT_COLORS = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)

#: Points whose component is not known (or not shown).
DATA_COLOR = "#7f7f7f"


def component_color(k: int) -> str:
    """The colour of component ``k``.

    Parameters
    ----------
    k : int
        The component's index (from 0; the palette repeats after its last colour).

    Returns
    -------
    str
        A matplotlib colour (hex string), the same for component ``k`` in every figure.
    """
    return COMPONENT_COLORS[k % len(COMPONENT_COLORS)]


#: Line and marker styles of the covariance types and the initialisation methods (Paul
#: Tol's "muted" colours, none of them a component colour, each with its own marker, so
#: that the curves stay apart in grey print too).
CATEGORY_STYLES = {
    "full": {"color": "#332288", "marker": "o"},  # indigo
    "tied": {"color": "#117733", "marker": "s"},  # green
    "diag": {"color": "#882255", "marker": "D"},  # wine
    "spherical": {"color": "#999933", "marker": "^"},  # olive
    "kmeans": {"color": "#44AA99", "marker": "v"},  # teal
    "k-means++": {"color": "#88CCEE", "marker": "P"},  # cyan
    "random_from_data": {"color": "#CC6677", "marker": "X"},  # rose
    "random": {"color": "#AA4499", "marker": "*"},  # purple
}


def category_style(name: str) -> dict:
    """``color`` and ``marker`` (a fresh dict, for ``ax.plot(..., **style)``) of a covariance
    type (``"full"``, ``"tied"``, ``"diag"``, ``"spherical"``) or an initialisation method
    (``"kmeans"``, ``"k-means++"``, ``"random_from_data"``, ``"random"``).

    Parameters
    ----------
    name : str
        A covariance type or an initialisation method.

    Returns
    -------
    dict
        ``{"color": ..., "marker": ...}``, a new dict at every call.

    Raises
    ------
    ValueError
        If ``name`` is neither.
    """
    try:
        return dict(CATEGORY_STYLES[name])
    except KeyError:
        raise ValueError(
            f"No style for {name!r}: category_style knows the covariance types and the "
            f"initialisation methods {sorted(CATEGORY_STYLES)}."
        ) from None


def match_components(theta: Mixture, reference: Mixture) -> Mixture:
    """``theta`` relabelled so that its components get the colours of the ``reference``
    components they resemble: for figures of several fits (say ``K = 2, 3, 4``) in which the
    same group of points should keep its colour.

    Each of the ``K_ref`` reference components is matched to a different component of
    ``theta``, minimising the sum of the squared Mahalanobis distances between matched means
    (measured with the reference component's covariance, so the units of the features do not
    matter). Matched components come first, in the reference's order; the others follow in
    their own order. The mixture itself is unchanged (:meth:`gmm.Mixture.permuted`).

    Parameters
    ----------
    theta : Mixture
        ``K`` components, ``K >= K_ref``.
    reference : Mixture
        ``K_ref`` components, the same number of features.

    Returns
    -------
    Mixture
    """
    from itertools import permutations
    from math import perm

    n_theta, n_reference = theta.n_components, reference.n_components
    if theta.n_features != reference.n_features:
        raise ValueError(f"theta has {theta.n_features} features and reference "
                         f"{reference.n_features}; they must be the same.")
    if n_theta < n_reference:
        raise ValueError(f"theta has fewer components ({n_theta}) than reference "
                         f"({n_reference}): match the larger mixture to the smaller one.")
    if perm(n_theta, n_reference) > 100_000:
        raise ValueError("too many components to try every matching (at most about 8).")
    cost = np.empty((n_reference, n_theta))
    for j, (mean, covariance) in enumerate(zip(reference.means, reference.covariances_full,
                                               strict=True)):
        difference = theta.means - mean
        cost[j] = np.einsum("kd,kd->k", difference, np.linalg.solve(covariance, difference.T).T)
    rows = np.arange(n_reference)
    best = min(permutations(range(n_theta), n_reference),
               key=lambda chosen: cost[rows, list(chosen)].sum())
    rest = [k for k in range(n_theta) if k not in best]
    return theta.permuted(list(best) + rest)


def responsibility_colors(resp) -> np.ndarray:
    """Each point's colour mixed from the component colours by its responsibilities
    (Bishop's Figure 9.8).

    Parameters
    ----------
    resp : array_like of shape (N, K)
        The responsibilities.

    Returns
    -------
    ndarray of shape (N, 3)
        RGB colours in ``[0, 1]``.
    """
    resp = np.asarray(resp, dtype=np.float64)
    palette = np.array([to_rgb(component_color(k)) for k in range(resp.shape[1])])
    return np.clip(resp @ palette, 0.0, 1.0)


def scatter(ax, X, labels=None, resp=None, *, s=14, alpha=0.85, **kwargs):
    """Scatter the first two columns of ``X``.

    Parameters
    ----------
    ax : matplotlib Axes
    X : array_like, shape (N, D), D >= 2
    labels : array_like of int, shape (N,), optional
        Colour every point by its component (one legend entry per component).
    resp : array_like, shape (N, K), optional
        Colour every point by its responsibilities (mixed colours).
    s, alpha, **kwargs
        Passed to ``ax.scatter``.

    Returns
    -------
    matplotlib Axes
        ``ax``.

    Raises
    ------
    ValueError
        If both ``labels`` and ``resp`` are given.
    """
    X = np.asarray(X, dtype=np.float64)
    if labels is not None and resp is not None:
        raise ValueError("Give labels or resp, not both.")
    if labels is not None:
        labels = np.asarray(labels)
        for k in np.unique(labels):
            members = labels == k
            ax.scatter(X[members, 0], X[members, 1], s=s, alpha=alpha,
                       color=component_color(int(k)), label=f"$z_{{{int(k) + 1}}} = 1$",
                       **kwargs)
        return ax
    colors = DATA_COLOR if resp is None else responsibility_colors(resp)
    ax.scatter(X[:, 0], X[:, 1], s=s, alpha=alpha, c=colors if resp is not None else None,
               color=None if resp is not None else colors, **kwargs)
    return ax


def plot_ellipses(ax, theta: Mixture, n_std=(1.0, 2.0), *, linewidth=2.0, mark_means=True,
                  **kwargs):
    """Draw each component's covariance as ellipses at ``n_std`` standard deviations
    (Mahalanobis distance) around its mean, in the component's colour. Uses the first two
    dimensions.

    Parameters
    ----------
    ax : matplotlib Axes
    theta : Mixture
    n_std : float or sequence of float, default (1, 2)
    linewidth : float
    mark_means : bool
        Also mark each mean with a cross.
    **kwargs
        Passed to each :class:`matplotlib.patches.Ellipse`.

    Returns
    -------
    matplotlib Axes
        ``ax``.
    """
    levels = np.atleast_1d(n_std)
    for k, (mean, covariance) in enumerate(zip(theta.means, theta.covariances_full,
                                               strict=True)):
        covariance = covariance[:2, :2]
        eigenvalues, eigenvectors = np.linalg.eigh(covariance)
        angle = np.degrees(np.arctan2(eigenvectors[1, -1], eigenvectors[0, -1]))
        for level in levels:
            width, height = 2.0 * level * np.sqrt(np.maximum(eigenvalues[::-1], 0.0))
            ax.add_patch(Ellipse(mean[:2], width, height, angle=angle, fill=False,
                                 edgecolor=component_color(k), linewidth=linewidth,
                                 alpha=1.0 if level == levels[0] else 0.6, **kwargs))
        if mark_means:
            ax.plot(mean[0], mean[1], marker="x", markersize=9, markeredgewidth=2.5,
                    color=component_color(k))
    return ax


def plot_density_contours(ax, theta: Mixture, xlim, ylim, *, levels=8, resolution=150,
                          cmap="Greys", filled=False, **kwargs):
    """Contours of the mixture density ``p(x)`` (eq. :eq:`mixture-density`) of a
    two-dimensional mixture over the box ``xlim x ylim``.

    Parameters
    ----------
    ax : matplotlib Axes
        The axes to draw on.
    theta : Mixture
        A mixture with ``D = 2``.
    xlim, ylim : tuple of float
        The box's extent in the first and second feature.
    levels : int or sequence of float, default 8
        Passed to ``ax.contour``.
    resolution : int, default 150
        Grid points along each axis.
    cmap : str, default "Greys"
        The colour map.
    filled : bool, default False
        Filled contours (``ax.contourf``) instead of lines.
    **kwargs
        Passed to ``ax.contour`` or ``ax.contourf``.

    Returns
    -------
    matplotlib.contour.QuadContourSet
        The contour set.

    Raises
    ------
    ValueError
        If ``theta`` is not two-dimensional.
    """
    if theta.n_features != 2:
        raise ValueError("plot_density_contours draws two-dimensional mixtures only.")
    xs = np.linspace(*xlim, resolution)
    ys = np.linspace(*ylim, resolution)
    grid_x, grid_y = np.meshgrid(xs, ys)
    points = np.column_stack([grid_x.ravel(), grid_y.ravel()])
    density = np.exp(log_marginal(points, theta)).reshape(grid_x.shape)
    draw = ax.contourf if filled else ax.contour
    return draw(grid_x, grid_y, density, levels=levels, cmap=cmap, **kwargs)


def plot_log_likelihood(ax, log_likelihoods, *, marker="o", color="black", **kwargs):
    """``ln p(X | theta^(t))`` against the iteration ``t`` (EM never lets it fall).

    Parameters
    ----------
    ax : matplotlib Axes
        The axes to draw on.
    log_likelihoods : array_like of shape (T,)
        ``ln p(X | theta^(t))`` for ``t = 0, ..., T - 1``.
    marker : str, default "o"
    color : str, default "black"
    **kwargs
        Passed to ``ax.plot``.

    Returns
    -------
    matplotlib Axes
        ``ax``.
    """
    values = np.asarray(log_likelihoods, dtype=np.float64)
    ax.plot(np.arange(len(values)), values, marker=marker, color=color, markersize=3,
            **kwargs)
    ax.set_xlabel("EM iteration $t$")
    ax.set_ylabel(r"$\ln p(\mathbf{X} \mid \boldsymbol{\theta}^{(t)})$")
    return ax


def plot_weighted_densities_1d(ax, theta: Mixture, x, *, show_total=True, fill=True):
    """For a one-dimensional mixture: each ``pi_k N(x | mu_k, sigma_k^2)`` in its colour and
    (optionally) their sum ``p(x)`` in black, over the grid ``x``.

    Parameters
    ----------
    ax : matplotlib Axes
        The axes to draw on.
    theta : Mixture
        A mixture with ``D = 1``.
    x : array_like of shape (M,)
        The grid.
    show_total : bool, default True
        Also draw ``p(x)``.
    fill : bool, default True
        Shade the area under each component's curve.

    Returns
    -------
    matplotlib Axes
        ``ax``.

    Raises
    ------
    ValueError
        If ``theta`` is not one-dimensional.
    """
    if theta.n_features != 1:
        raise ValueError("plot_weighted_densities_1d draws one-dimensional mixtures only.")
    x = np.asarray(x, dtype=np.float64).ravel()
    from .likelihood import log_weighted_densities

    weighted = np.exp(log_weighted_densities(x[:, None], theta))
    for k in range(theta.n_components):
        ax.plot(x, weighted[:, k], color=component_color(k), linewidth=2,
                label=rf"$\pi_{k + 1}\,\mathcal{{N}}(x \mid \mu_{k + 1}, \sigma_{k + 1}^2)$")
        if fill:
            ax.fill_between(x, weighted[:, k], color=component_color(k), alpha=0.15)
    if show_total:
        ax.plot(x, weighted.sum(axis=1), color="black", linewidth=1.5, linestyle="--",
                label="$p(x)$")
    ax.set_ylabel("density")
    return ax


def plot_responsibilities_1d(ax, theta: Mixture, x):
    """For a one-dimensional mixture: the responsibility curves ``gamma_k(x)`` over ``x``.

    Parameters
    ----------
    ax : matplotlib Axes
        The axes to draw on.
    theta : Mixture
        A mixture with ``D = 1``.
    x : array_like of shape (M,)
        The grid.

    Returns
    -------
    matplotlib Axes
        ``ax``.

    Raises
    ------
    ValueError
        If ``theta`` is not one-dimensional.
    """
    if theta.n_features != 1:
        raise ValueError("plot_responsibilities_1d draws one-dimensional mixtures only.")
    x = np.asarray(x, dtype=np.float64).ravel()
    resp = responsibilities(x[:, None], theta)
    for k in range(theta.n_components):
        ax.plot(x, resp[:, k], color=component_color(k), linewidth=2,
                label=rf"$\gamma_{k + 1}(x)$")
    ax.set_ylim(-0.05, 1.05)
    ax.set_ylabel("responsibility")
    return ax


def simplex_to_cartesian(weights) -> np.ndarray:
    """Points of the probability simplex for ``K = 3`` as points of an equilateral triangle.

    The barycentric coordinates ``(pi_1, pi_2, pi_3)`` become
    ``(x, y) = (pi_2 + pi_3 / 2, sqrt(3) pi_3 / 2)``: the corners ``pi_k = 1`` are
    ``(0, 0)``, ``(1, 0)`` and ``(1/2, sqrt(3)/2)``, and distances are the same in every
    direction of the simplex.

    Parameters
    ----------
    weights : array_like, shape (..., 3)

    Returns
    -------
    ndarray, shape (..., 2)
    """
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape[-1] != 3:
        raise ValueError(f"simplex_to_cartesian needs 3 coordinates; got shape {weights.shape}.")
    return np.stack(
        [weights[..., 1] + 0.5 * weights[..., 2], 0.5 * np.sqrt(3.0) * weights[..., 2]], axis=-1
    )


def plot_simplex(ax, values_fn, *, resolution=90, levels=12, cmap="viridis", extend="neither",
                 corner_labels=None, **kwargs):
    """A filled contour plot of a function over the simplex ``{pi : pi_k >= 0, sum pi_k = 1}``
    for ``K = 3`` (a ternary plot), drawn with :func:`simplex_to_cartesian`.

    Parameters
    ----------
    ax : matplotlib Axes
    values_fn : callable
        ``values_fn(weights)`` with ``weights`` of shape ``(M, 3)`` (rows strictly inside the
        simplex, so ``ln pi_k`` is finite) returns ``M`` values.
    resolution : int
        Points per side of the triangular grid.
    levels : int or array_like
        Contour levels (as in ``tricontourf``); values below the lowest level are drawn in
        the colour map's "under" colour when ``extend`` is ``"min"`` or ``"both"``.
    cmap, extend, **kwargs
        Passed to ``ax.tricontourf``.
    corner_labels : sequence of 3 str, optional
        Text at the corners; default ``$\\pi_1 = 1$`` etc., in the component colours.

    Returns
    -------
    The contour set (for a colour bar).
    """
    from matplotlib.tri import Triangulation

    counts = [(i, j, resolution - i - j) for i in range(resolution + 1)
              for j in range(resolution + 1 - i)]
    # (a + 1/3) / (resolution + 1): a lattice strictly inside the triangle, summing to 1.
    weights = (np.array(counts, dtype=np.float64) + 1.0 / 3.0) / (resolution + 1)
    xy = simplex_to_cartesian(weights)
    values = np.asarray(values_fn(weights), dtype=np.float64).reshape(-1)
    contours = ax.tricontourf(Triangulation(xy[:, 0], xy[:, 1]), values, levels=levels,
                              cmap=cmap, extend=extend, **kwargs)
    corners = np.eye(3)
    outline = simplex_to_cartesian(np.vstack([corners, corners[:1]]))
    ax.plot(outline[:, 0], outline[:, 1], color="black", linewidth=1.0)
    labels = corner_labels or [rf"$\pi_{k + 1} = 1$" for k in range(3)]
    offsets = [(-0.04, -0.05, "right"), (0.04, -0.05, "left"), (0.0, 0.04, "center")]
    for k, (corner, (dx, dy, align)) in enumerate(zip(simplex_to_cartesian(corners), offsets,
                                                      strict=True)):
        ax.text(corner[0] + dx, corner[1] + dy, labels[k], ha=align, va="center",
                color=component_color(k), fontsize=10)
    ax.set_aspect("equal")
    ax.set_xlim(-0.18, 1.18)
    ax.set_ylim(-0.1, 0.95)
    ax.axis("off")
    return contours


def label_old_faithful(ax, standardized: bool = False):
    """Axis labels (with units) for the Old Faithful data.

    Parameters
    ----------
    ax : matplotlib Axes
        The axes to draw on.
    standardized : bool, default False
        Label the standardised features (no units) instead of minutes.

    Returns
    -------
    matplotlib Axes
        ``ax``.
    """
    if standardized:
        ax.set_xlabel("eruption duration (standardised)")
        ax.set_ylabel("waiting time (standardised)")
    else:
        ax.set_xlabel("eruption duration [min]")
        ax.set_ylabel("waiting time to next eruption [min]")
    return ax


# Grid coordinates (daft's units, 2 cm each) of Bishop's Figure 9.6: the parameters outside
# the plate, z_n above x_n inside it.
_GRAPH_SHAPE = (3.5, 2.6)
_GRAPH_NODES = {
    "pi": (r"$\boldsymbol{\pi}$", 0.45, 1.9, True),
    "z": (r"$\mathbf{z}_n$", 1.6, 1.9, False),
    "x": (r"$\mathbf{x}_n$", 1.6, 0.8, False),
    "mu": (r"$\boldsymbol{\mu}$", 2.95, 1.3, True),
    "Sigma": (r"$\boldsymbol{\Sigma}$", 2.95, 0.5, True),
}
_GRAPH_EDGES = (("pi", "z"), ("z", "x"), ("mu", "x"), ("Sigma", "x"))
_GRAPH_PLATE = (1.05, 0.15, 1.15, 2.35)


def plot_graphical_model(ax=None, *, latent_observed=False):
    """The graphical model of a Gaussian mixture (Bishop's Figure 9.6), drawn with daft.

    Each ``z_n`` points to its ``x_n`` inside a plate over ``n = 1, ..., N``; the
    parameters ``pi``, ``mu`` and ``Sigma`` (small filled dots: fixed, not random) sit
    outside it and point in. Observed variables are shaded: ``x_n`` always, ``z_n`` only
    for the complete data (chapter 4).

    Parameters
    ----------
    ax : matplotlib Axes, optional
        Draw into this axes (its limits and aspect are set; the graph is drawn at its
        natural size of about 3.5 x 2.6 inches, so give it about that much room).
        Default: a new figure of exactly that size.
    latent_observed : bool, default False
        Shade ``z_n`` too: the graph of the complete data ``{X, Z}``.

    Returns
    -------
    matplotlib Axes
    """
    import daft
    from matplotlib import rcParams

    scale = 1.0
    if ax is not None:
        # daft sizes nodes in centimetres and labels in points: scale the labels with
        # the room the axes give the graph, so they fit their nodes at any size.
        ax.set_axis_off()
        engine = ax.figure.get_layout_engine()
        if engine is not None:  # place the axes first, as they will be drawn
            engine.execute(ax.figure)
        width, height = ax.get_position().size * ax.figure.get_size_inches()
        natural = np.array(_GRAPH_SHAPE) * 2.0 / 2.54  # daft's 2 cm grid, in inches
        scale = max(min(width / natural[0], height / natural[1]), 0.5)
    fontsize = rcParams["font.size"] * scale
    pgm = daft.PGM(shape=_GRAPH_SHAPE, origin=(0.0, 0.0))
    for name, (label, x, y, fixed) in _GRAPH_NODES.items():
        observed = name == "x" or (name == "z" and latent_observed)
        # daft lifts a fixed node's label 6 points above the dot: lift it further in scale
        offset = (0.0, 6.0 * (scale - 1.0)) if fixed else (0.0, 0.0)
        pgm.add_node(name, label, x, y, fixed=fixed, observed=observed, fontsize=fontsize,
                     offset=offset)
    for parent, child in _GRAPH_EDGES:
        pgm.add_edge(parent, child)
    pgm.add_plate(list(_GRAPH_PLATE), label=r"$n = 1, \ldots, N$", shift=0.0,
                  fontsize=fontsize)
    if ax is None:
        pgm.render()
        return pgm.ax
    # daft draws only into a figure it makes itself; to draw into the caller's axes we
    # give its rendering context that axes and render the pieces (pinned daft-pgm 0.1.4;
    # tests/test_plotting.py checks every piece is drawn).
    context = pgm._ctx
    context._figure, context._ax = ax.figure, ax
    lower = context.convert(*context.origin)
    upper = context.convert(*(context.origin + context.shape))
    ax.set_xlim(lower[0], upper[0])
    ax.set_ylim(lower[1], upper[1])
    ax.set_aspect("equal")
    ax.set_axis_off()
    for plate in pgm._plates:
        plate.render(context)
    for edge in pgm._edges:
        edge.render(context)
    for node in pgm._nodes.values():
        node.render(context)
    return ax

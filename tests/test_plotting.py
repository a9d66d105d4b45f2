"""Figures (gmm/plotting.py) with matplotlib's Agg backend: every function draws without
error, and component k has the same colour (matplotlib's own parsing of the palette entry)
in every kind of figure."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_rgb, to_rgba
from matplotlib.patches import Ellipse

import gmm
from gmm import plotting


@pytest.fixture
def ax():
    figure, axes = plt.subplots()
    yield axes
    plt.close(figure)


THETA = gmm.Mixture([0.5, 0.3, 0.2], [[0.0, 0.0], [4.0, 2.0], [-2.0, 4.0]],
                    [[[1.0, 0.4], [0.4, 1.5]], [[1.2, -0.3], [-0.3, 0.8]], np.eye(2) * 0.5])


def test_palette_is_distinct_and_cycles():
    colors = [to_rgb(c) for c in plotting.COMPONENT_COLORS]
    assert len(set(colors)) == len(colors)
    assert plotting.component_color(0) == plotting.COMPONENT_COLORS[0]
    assert plotting.component_color(len(colors) + 2) == plotting.COMPONENT_COLORS[2]


def test_scatter_with_labels_uses_component_colors(ax):
    X, z = gmm.sample(THETA, 200, random_state=0)
    plotting.scatter(ax, X, labels=z)
    assert len(ax.collections) == 3
    for collection, k in zip(ax.collections, np.unique(z), strict=True):
        face = collection.get_facecolors()[0]
        np.testing.assert_allclose(face[:3], to_rgb(plotting.component_color(int(k))))
        assert len(collection.get_offsets()) == np.sum(z == k)


def test_scatter_with_responsibilities_mixes_colors(ax):
    X, _ = gmm.sample(THETA, 50, random_state=1)
    resp = gmm.responsibilities(X, THETA)
    plotting.scatter(ax, X, resp=resp)
    faces = ax.collections[0].get_facecolors()[:, :3]
    palette = np.array([to_rgb(plotting.component_color(k)) for k in range(3)])
    np.testing.assert_allclose(faces, np.clip(resp @ palette, 0, 1), atol=1e-12)
    # One-hot responsibilities give exactly the component colours.
    one_hot = plotting.responsibility_colors(np.eye(3))
    np.testing.assert_allclose(one_hot, palette)
    with pytest.raises(ValueError, match="not both"):
        plotting.scatter(ax, X, labels=np.zeros(50, int), resp=resp)


def test_scatter_without_labels_is_grey(ax):
    plotting.scatter(ax, np.zeros((5, 2)))
    np.testing.assert_allclose(ax.collections[0].get_facecolors()[0][:3],
                               to_rgb(plotting.DATA_COLOR))


def test_ellipses_have_component_colors_and_right_axes(ax):
    plotting.plot_ellipses(ax, THETA, n_std=(1, 2))
    ellipses = [p for p in ax.patches if isinstance(p, Ellipse)]
    assert len(ellipses) == 6
    for index, ellipse in enumerate(ellipses):
        k, level = divmod(index, 2)
        np.testing.assert_allclose(ellipse.get_edgecolor()[:3],
                                   to_rgba(plotting.component_color(k))[:3])
        eigenvalues = np.linalg.eigvalsh(THETA.covariances_full[k])
        # width and height are 2 n_std sqrt(eigenvalue), the larger first.
        np.testing.assert_allclose(sorted([ellipse.width, ellipse.height]),
                                   2 * (level + 1) * np.sqrt(eigenvalues), rtol=1e-12)
        np.testing.assert_allclose(ellipse.center, THETA.means[k])
    mean_markers = [line for line in ax.lines if line.get_marker() == "x"]
    assert [to_rgb(m.get_color()) for m in mean_markers] == [
        to_rgb(plotting.component_color(k)) for k in range(3)]


@pytest.mark.parametrize("covariance_type", ["tied", "diag", "spherical"])
def test_ellipses_every_covariance_type(ax, covariance_type):
    covariances = {"tied": np.eye(2), "diag": [[1.0, 2.0]] * 3, "spherical": [1.0, 2.0, 3.0]}
    theta = gmm.Mixture(THETA.weights, THETA.means, covariances[covariance_type],
                        covariance_type)
    plotting.plot_ellipses(ax, theta, n_std=1, mark_means=False)
    assert len(ax.patches) == 3 and not ax.lines


def test_density_contours(ax):
    contours = plotting.plot_density_contours(ax, THETA, (-5, 7), (-3, 7), resolution=40)
    assert len(contours.levels) > 1
    filled = plotting.plot_density_contours(ax, THETA, (-5, 7), (-3, 7), resolution=40,
                                            filled=True)
    assert filled.levels.max() <= 0.2  # a density of this mixture never exceeds ~0.1
    one_d = gmm.Mixture([1.0], [[0.0]], [[[1.0]]])
    with pytest.raises(ValueError, match="two-dimensional"):
        plotting.plot_density_contours(ax, one_d, (0, 1), (0, 1))


def test_log_likelihood_plot(ax):
    plotting.plot_log_likelihood(ax, [-500.0, -420.0, -410.0, -409.5])
    line = ax.lines[0]
    np.testing.assert_array_equal(line.get_xdata(), [0, 1, 2, 3])
    np.testing.assert_array_equal(line.get_ydata(), [-500.0, -420.0, -410.0, -409.5])
    assert "iteration" in ax.get_xlabel()


def test_one_dimensional_plots(ax):
    theta = gmm.Mixture([0.4, 0.6], [[-1.0], [2.0]], [[[0.5]], [[1.0]]])
    x = np.linspace(-4, 5, 101)
    plotting.plot_weighted_densities_1d(ax, theta, x)
    lines = ax.lines
    assert len(lines) == 3
    for k in range(2):
        assert to_rgb(lines[k].get_color()) == to_rgb(plotting.component_color(k))
        expected = theta.weights[k] * np.exp(-(x - theta.means[k, 0]) ** 2 / (
            2 * theta.covariances[k, 0, 0])) / np.sqrt(2 * np.pi * theta.covariances[k, 0, 0])
        np.testing.assert_allclose(lines[k].get_ydata(), expected, rtol=1e-12)
    np.testing.assert_allclose(lines[2].get_ydata(),
                               lines[0].get_ydata() + lines[1].get_ydata(), rtol=1e-12)
    ax.clear()
    plotting.plot_responsibilities_1d(ax, theta, x)
    total = ax.lines[0].get_ydata() + ax.lines[1].get_ydata()
    np.testing.assert_allclose(total, 1.0, atol=1e-12)
    with pytest.raises(ValueError, match="one-dimensional"):
        plotting.plot_responsibilities_1d(ax, THETA, x)


def test_simplex_corners_and_heat_map(ax):
    corners = plotting.simplex_to_cartesian(np.eye(3))
    assert np.allclose(corners, [[0.0, 0.0], [1.0, 0.0], [0.5, np.sqrt(3) / 2]])
    sides = np.linalg.norm(corners - np.roll(corners, 1, axis=0), axis=1)
    assert np.allclose(sides, 1.0)  # equilateral: no direction of the simplex is squeezed
    seen = []
    contours = plotting.plot_simplex(ax, lambda w: seen.append(w) or np.log(w) @ [1.0, 2.0, 3.0],
                                     resolution=20)
    weights = seen[0]
    assert np.all(weights > 0) and np.allclose(weights.sum(axis=1), 1.0)
    assert contours is not None and len(weights) == 21 * 22 // 2
    with pytest.raises(ValueError, match="3 coordinates"):
        plotting.simplex_to_cartesian([0.5, 0.5])


def test_old_faithful_labels(ax):
    plotting.label_old_faithful(ax)
    assert "[min]" in ax.get_xlabel() and "[min]" in ax.get_ylabel()
    plotting.label_old_faithful(ax, standardized=True)
    assert "standardised" in ax.get_xlabel()


def test_figure_renders():
    figure, ax = plt.subplots()
    X = gmm.datasets.load_old_faithful()
    model = gmm.GaussianMixture(2, random_state=0).fit(X)
    plotting.scatter(ax, X, resp=model.predict_proba(X))
    plotting.plot_ellipses(ax, model.mixture_)
    plotting.label_old_faithful(ax)
    figure.canvas.draw()  # the Agg renderer actually draws every artist
    plt.close(figure)


def test_category_styles_are_apart_from_the_component_colours():
    components = {to_rgb(c) for c in plotting.COMPONENT_COLORS}
    names = (*gmm.COVARIANCE_TYPES, *gmm.initialization.INIT_METHODS)
    styles = [plotting.category_style(name) for name in names]
    colors = [to_rgb(style["color"]) for style in styles]
    assert len(set(colors)) == len(names) and not components & set(colors)
    assert len({style["marker"] for style in styles}) == len(names)
    # A fresh dict: a caller's change does not leak into the next figure.
    before = {name: dict(style) for name, style in plotting.CATEGORY_STYLES.items()}
    plotting.category_style("full")["color"] = "red"
    assert plotting.CATEGORY_STYLES == before
    with pytest.raises(ValueError, match="covariance types"):
        plotting.category_style("ful")


# The graph of Bishop's Figure 9.6, written down here independently of gmm/plotting.py:
# label -> (random?, inside the plate?), and the directed edges parent -> child.
GRAPH_NODES = {r"$\mathbf{z}_n$": (True, True), r"$\mathbf{x}_n$": (True, True),
               r"$\boldsymbol{\pi}$": (False, False), r"$\boldsymbol{\mu}$": (False, False),
               r"$\boldsymbol{\Sigma}$": (False, False)}
GRAPH_EDGES = {(r"$\boldsymbol{\pi}$", r"$\mathbf{z}_n$"),
               (r"$\mathbf{z}_n$", r"$\mathbf{x}_n$"),
               (r"$\boldsymbol{\mu}$", r"$\mathbf{x}_n$"),
               (r"$\boldsymbol{\Sigma}$", r"$\mathbf{x}_n$")}


def _drawn_graph(ax):
    """Read the graph back from the artists: node centres (from the labels), which nodes
    are shaded or filled, the plate, and each arrow as (tail node, head node)."""
    from matplotlib.patches import FancyArrow, Rectangle
    from matplotlib.text import Annotation

    children = ax.get_children()
    centres = {a.get_text(): np.asarray(a.xy, dtype=float) for a in children
               if isinstance(a, Annotation) and a.get_text() in GRAPH_NODES}
    assert set(centres) == set(GRAPH_NODES)
    ellipses = [a for a in children if isinstance(a, Ellipse)]
    faces = {label: [to_rgb(e.get_facecolor()) for e in ellipses
                     if np.allclose(e.center, centre) and e.get_facecolor()[3] > 0]
             for label, centre in centres.items()}
    plates = [a for a in children if isinstance(a, Rectangle) and a is not ax.patch]
    arrows = []
    for arrow in (a for a in children if isinstance(a, FancyArrow)):
        xy = arrow.get_xy()
        names = list(centres)
        distance = np.array([[np.linalg.norm(p - centres[n]) for n in names] for p in xy])
        nearest = [names[i] for i in distance.argmin(axis=1)]
        # The head is the end with the widest spread of vertices (the arrowhead).
        ends = {n: np.ptp(xy[[m == n for m in nearest]], axis=0).max() for n in set(nearest)}
        assert len(ends) == 2
        head = max(ends, key=ends.get)
        arrows.append((min(ends, key=ends.get), head))
    return centres, faces, plates, arrows


@pytest.mark.parametrize("latent_observed", [False, True])
@pytest.mark.parametrize("own_axes", [False, True])
def test_graphical_model(latent_observed, own_axes):
    if own_axes:
        figure, ax = plt.subplots(figsize=(4, 3))
        assert plotting.plot_graphical_model(ax, latent_observed=latent_observed) is ax
    else:
        ax = plotting.plot_graphical_model(latent_observed=latent_observed)
        figure = ax.figure
    centres, faces, plates, arrows = _drawn_graph(ax)
    assert sorted(arrows) == sorted(GRAPH_EDGES)
    (plate,) = plates
    corner = np.asarray(plate.get_xy())
    far = corner + [plate.get_width(), plate.get_height()]
    grey, white, black = to_rgb("0.7"), to_rgb("w"), to_rgb("k")
    for label, (random, inside) in GRAPH_NODES.items():
        assert bool(np.all((corner < centres[label]) & (centres[label] < far))) == inside
        observed = label == r"$\mathbf{x}_n$" or (label == r"$\mathbf{z}_n$"
                                                  and latent_observed)
        expected = grey if observed else (white if random else black)
        assert faces[label] == [expected], label
    figure.canvas.draw()
    plt.close(figure)


def test_graphical_model_renders_the_same_every_time():
    import io

    images = []
    for _ in range(2):
        ax = plotting.plot_graphical_model(latent_observed=True)
        buffer = io.BytesIO()
        ax.figure.savefig(buffer, format="png", metadata={"Software": None})
        plt.close(ax.figure)
        images.append(buffer.getvalue())
    assert images[0] == images[1]


def test_match_components_undoes_a_relabelling_and_keeps_the_mixture():
    rng = np.random.default_rng(3)
    means = rng.normal(scale=10.0, size=(4, 2))
    theta = gmm.Mixture(np.full(4, 0.25), means, np.eye(2)[None].repeat(4, axis=0))
    order = [2, 0, 3, 1]
    shuffled = theta.permuted(order)
    matched = plotting.match_components(shuffled, theta)
    np.testing.assert_array_equal(matched.means, theta.means)
    # A reference with fewer components: its two groups keep their colours, the rest follow.
    reference = gmm.Mixture([0.5, 0.5], means[[3, 1]] + 0.1, np.eye(2)[None].repeat(2, axis=0))
    matched = plotting.match_components(shuffled, reference)
    np.testing.assert_array_equal(matched.means[:2], means[[3, 1]])
    assert sorted(map(tuple, matched.means[2:])) == sorted(map(tuple, means[[0, 2]]))
    X = rng.normal(size=(20, 2))
    assert np.isclose(gmm.log_likelihood(X, matched), gmm.log_likelihood(X, theta))


def test_match_components_uses_the_reference_covariance():
    # In units where the second feature is 100 times larger, Euclidean distance would pair
    # by the second coordinate; the Mahalanobis distance of the reference pairs correctly.
    reference = gmm.Mixture([0.5, 0.5], [[0.0, 0.0], [1.0, 100.0]],
                            [np.diag([0.01, 1e4])] * 2)
    theta = gmm.Mixture([0.5, 0.5], [[1.0, 40.0], [0.0, 60.0]], [np.eye(2)] * 2)
    matched = plotting.match_components(theta, reference)
    np.testing.assert_array_equal(matched.means, [[0.0, 60.0], [1.0, 40.0]])
    with pytest.raises(ValueError, match="fewer components"):
        plotting.match_components(reference.permuted([0, 1]).replace(
            weights=[1.0], means=[[0.0, 0.0]], covariances=[np.eye(2)]), theta)

"""Conjugate priors and MAP-EM (gmm/prior.py) against independent computations: the log
prior against scipy.stats densities; the MAP M-step against the stationarity of
Q + ln p(theta) (finite differences of an objective written with scipy.stats) and against
scipy.optimize from another start; EM's monotonicity of the log posterior; the flat limit
(maximum likelihood); a collapsing point mass held open; mclust's default prior by hand."""

import warnings

import numpy as np
import pytest
import scipy.optimize
import scipy.stats
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from oracles import TYPES, expand, random_mixture

import gmm
from gmm.checks import numerical_gradient
from gmm.prior import ConjugatePrior, log_prior

# --- Independent oracles: the objective with scipy.stats ----------------------------------


def oracle_log_prior(weights, means, covariances, covariance_type, prior):
    """ln p(theta) from scipy.stats densities, never through gmm's layouts."""
    K, D = means.shape
    alpha = prior.alphas(K)
    total = scipy.stats.dirichlet.logpdf(weights, alpha)
    kappa, nu, m0 = prior.shrinkage, prior.dof, prior.mean
    if covariance_type in ("full", "tied"):
        matrices = expand(covariances, covariance_type, K, D)
        n_wishart = 1 if covariance_type == "tied" else K
        for k in range(n_wishart):
            total += scipy.stats.invwishart.logpdf(matrices[k], df=nu, scale=prior.scale)
        for k in range(K):
            total += scipy.stats.multivariate_normal.logpdf(means[k], m0, matrices[k] / kappa)
    elif covariance_type == "diag":
        for k in range(K):
            for d in range(D):
                v = covariances[k, d]
                total += scipy.stats.invgamma.logpdf(v, a=nu / 2, scale=prior.scale[d] / 2)
                total += scipy.stats.norm.logpdf(means[k, d], m0[d], np.sqrt(v / kappa))
    else:
        for k in range(K):
            v = covariances[k]
            total += scipy.stats.invgamma.logpdf(v, a=nu / 2, scale=float(prior.scale) / 2)
            total += scipy.stats.multivariate_normal.logpdf(means[k], m0, v / kappa * np.eye(D))
    return float(total)


def oracle_q(X, resp, weights, means, covariances, covariance_type, sample_weight=None):
    """Q(theta, theta_old) = sum_n w_n sum_k gamma_nk [ln pi_k + ln N(x_n | mu_k, Sigma_k)]."""
    K, D = means.shape
    matrices = expand(covariances, covariance_type, K, D)
    w = np.ones(len(X)) if sample_weight is None else sample_weight
    total = 0.0
    for k in range(K):
        log_density = scipy.stats.multivariate_normal.logpdf(X, means[k], matrices[k])
        total += np.sum(w * resp[:, k] * (np.log(weights[k]) + log_density))
    return float(total)


# --- A vector of unconstrained coordinates for the objective ------------------------------


def n_covariance_entries(covariance_type, K, D):
    return {"full": K * D * (D + 1) // 2, "tied": D * (D + 1) // 2, "diag": K * D,
            "spherical": K}[covariance_type]


def unpack(vector, covariance_type, K, D):
    """(weights, means, covariances) from [ln pi (K), mu (K D), covariance entries]: the
    weights through the softmax, symmetric matrices through their lower triangles."""
    logits = vector[:K]
    weights = np.exp(logits - logits.max())
    weights /= weights.sum()
    means = vector[K: K + K * D].reshape(K, D)
    rest = vector[K + K * D:]
    rows, cols = np.tril_indices(D)
    if covariance_type in ("full", "tied"):
        count = K if covariance_type == "full" else 1
        blocks = np.zeros((count, D, D))
        size = D * (D + 1) // 2
        for c in range(count):
            blocks[c][rows, cols] = rest[c * size:(c + 1) * size]
            blocks[c] = blocks[c] + np.tril(blocks[c], -1).T
        covariances = blocks if covariance_type == "full" else blocks[0]
    elif covariance_type == "diag":
        covariances = rest.reshape(K, D)
    else:
        covariances = rest.copy()
    return weights, means, covariances


def pack(theta):
    K, D = theta.means.shape
    parts = [np.log(theta.weights), theta.means.ravel()]
    rows, cols = np.tril_indices(D)
    c = np.asarray(theta.covariances)
    if theta.covariance_type == "full":
        parts += [block[rows, cols] for block in c]
    elif theta.covariance_type == "tied":
        parts.append(c[rows, cols])
    else:
        parts.append(c.ravel())
    return np.concatenate(parts)


def objective(X, resp, covariance_type, prior, K, D, sample_weight=None):
    def f(vector):
        weights, means, covariances = unpack(vector, covariance_type, K, D)
        return (oracle_q(X, resp, weights, means, covariances, covariance_type, sample_weight)
                + oracle_log_prior(weights, means, covariances, covariance_type, prior))
    return f


# --- Fixtures ------------------------------------------------------------------------------


def small_problem(covariance_type, seed=0, K=2, D=2, N=40):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, D)) + rng.choice([-2.0, 2.0], size=(N, 1))
    resp = rng.dirichlet(np.ones(K), size=N)
    return X, resp


def informative_prior(covariance_type, D, K, seed=1):
    """A proper prior far from the data, so that it moves the update visibly."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(D, D))
    scale = {"full": A @ A.T + D * np.eye(D), "tied": A @ A.T + D * np.eye(D),
             "diag": rng.uniform(0.5, 2.0, D), "spherical": 1.3}[covariance_type]
    return ConjugatePrior(mean=rng.normal(size=D), shrinkage=2.5, dof=D + 3.5, scale=scale,
                          covariance_type=covariance_type, alpha=rng.uniform(1.5, 4.0, K))


# --- The log prior --------------------------------------------------------------------------


@pytest.mark.parametrize("covariance_type", TYPES)
def test_log_prior_is_the_product_of_the_scipy_densities(covariance_type):
    rng = np.random.default_rng(3)
    K, D = 3, 2
    theta = random_mixture(rng, covariance_type, K, D)
    prior = informative_prior(covariance_type, D, K)
    expected = oracle_log_prior(np.asarray(theta.weights), np.asarray(theta.means),
                                np.asarray(theta.covariances), covariance_type, prior)
    assert log_prior(theta, prior) == pytest.approx(expected, rel=1e-12, abs=1e-10)


def test_log_prior_of_an_improper_prior_is_its_kernel():
    # Changing a normaliser-only hyperparameter moves nothing but the normaliser: the kernel
    # of an improper prior (kappa = 0) is the same for two scales s I and 2 s I up to the
    # trace term, which is computed here by hand.
    rng = np.random.default_rng(4)
    theta = random_mixture(rng, "full", 2, 2)
    flat = ConjugatePrior(np.zeros(2), 0.0, 1.0, np.eye(2), "full")
    assert not flat.is_proper
    precisions = np.linalg.inv(theta.covariances)
    log_det = np.linalg.slogdet(theta.covariances)[1]
    by_hand = sum(-0.5 * (1.0 + 2 + 1) * ld - 0.5 * np.trace(p) - 0.5 * ld
                  for ld, p in zip(log_det, precisions, strict=True))
    assert log_prior(theta, flat) == pytest.approx(by_hand, rel=1e-12)


# --- The MAP M-step maximises Q + ln p ------------------------------------------------------


@pytest.mark.parametrize("covariance_type", TYPES)
def test_map_m_step_is_a_stationary_point_of_q_plus_log_prior(covariance_type):
    K, D = 2, 2
    X, resp = small_problem(covariance_type)
    weight = np.random.default_rng(5).uniform(0.5, 2.0, len(X))
    prior = informative_prior(covariance_type, D, K)
    theta = gmm.m_step(X, resp, covariance_type, sample_weight=weight, prior=prior)
    f = objective(X, resp, covariance_type, prior, K, D, weight)
    gradient = numerical_gradient(f, pack(theta), step=1e-5)
    assert np.max(np.abs(gradient)) < 1e-5
    # The test bites: at the maximum-likelihood update the same gradient is far from 0.
    ml = gmm.m_step(X, resp, covariance_type, reg_covar=0.0, sample_weight=weight)
    assert np.max(np.abs(numerical_gradient(f, pack(ml), step=1e-5))) > 1e-2


def to_optimiser(theta):
    """Coordinates for scipy.optimize in which every point is a valid theta: logits,
    means, and log-Cholesky factors (log variances for the diagonal types)."""
    K, D = theta.means.shape
    parts = [np.log(theta.weights), theta.means.ravel()]
    c = np.asarray(theta.covariances)
    rows, cols = np.tril_indices(D)
    if theta.covariance_type in ("full", "tied"):
        for block in (c if theta.covariance_type == "full" else c[None]):
            L = np.linalg.cholesky(block)
            L[np.diag_indices(D)] = np.log(np.diag(L))
            parts.append(L[rows, cols])
    else:
        parts.append(np.log(c).ravel())
    return np.concatenate(parts)


def from_optimiser(vector, covariance_type, K, D):
    weights, means, rest = unpack(
        np.concatenate([vector[: K + K * D],
                        np.zeros(n_covariance_entries(covariance_type, K, D))]),
        covariance_type, K, D)
    rest = vector[K + K * D:]
    rows, cols = np.tril_indices(D)
    if covariance_type in ("full", "tied"):
        count = K if covariance_type == "full" else 1
        size = D * (D + 1) // 2
        blocks = []
        for c in range(count):
            L = np.zeros((D, D))
            L[rows, cols] = rest[c * size:(c + 1) * size]
            L[np.diag_indices(D)] = np.exp(np.diag(L))
            blocks.append(L @ L.T)
        covariances = np.array(blocks) if covariance_type == "full" else blocks[0]
    else:
        covariances = np.exp(rest).reshape(K, D) if covariance_type == "diag" else np.exp(rest)
    return weights, means, covariances


@pytest.mark.parametrize("covariance_type", TYPES)
def test_scipy_from_another_start_finds_the_map_m_step(covariance_type):
    K, D = 2, 2
    X, resp = small_problem(covariance_type, seed=7)
    prior = informative_prior(covariance_type, D, K, seed=8)
    theta = gmm.m_step(X, resp, covariance_type, prior=prior)
    start = random_mixture(np.random.default_rng(9), covariance_type, K, D)

    def negative(vector):
        weights, means, covariances = from_optimiser(vector, covariance_type, K, D)
        return -(oracle_q(X, resp, weights, means, covariances, covariance_type)
                 + oracle_log_prior(weights, means, covariances, covariance_type, prior))

    found = scipy.optimize.minimize(negative, to_optimiser(start), method="BFGS",
                                    options={"gtol": 1e-9, "maxiter": 5000})
    weights, means, covariances = from_optimiser(found.x, covariance_type, K, D)
    assert -found.fun == pytest.approx(-negative(to_optimiser(theta)), abs=1e-7)
    np.testing.assert_allclose(weights, theta.weights, atol=1e-5)
    np.testing.assert_allclose(means, theta.means, atol=1e-5)
    np.testing.assert_allclose(covariances, theta.covariances, atol=1e-5)


def test_shrunk_mean_and_the_two_forms_of_the_covariance_agree():
    # (Psi + sum gamma (x - mu)(x - mu)^T + kappa (mu - m)(mu - m)^T) with the shrunk mean
    # equals Psi + W(xbar) + kappa N / (kappa + N) (xbar - m)(xbar - m)^T: the identity of
    # chapter 8, computed here from the data directly.
    X, resp = small_problem("full", seed=11)
    prior = informative_prior("full", 2, 2, seed=12)
    theta = gmm.m_step(X, resp, "full", prior=prior)
    for k in range(2):
        g = resp[:, k]
        n = g.sum()
        xbar = g @ X / n
        scatter = (g[:, None] * (X - xbar)).T @ (X - xbar)
        d = xbar - prior.mean
        kappa = prior.shrinkage
        mu = (n * xbar + kappa * prior.mean) / (n + kappa)
        sigma = (prior.scale + scatter + kappa * n / (kappa + n) * np.outer(d, d)) / (
            prior.dof + n + 2 + 2)
        np.testing.assert_allclose(theta.means[k], mu, rtol=1e-12)
        np.testing.assert_allclose(theta.covariances[k], sigma, rtol=1e-12)


def test_alpha_below_one_with_a_nearly_empty_component_has_no_mode():
    X, resp = small_problem("full")
    resp = np.column_stack([resp[:, 0] + resp[:, 1] - 1e-3, np.full(len(X), 1e-3)])
    prior = ConjugatePrior.default(X, 2, "full", alpha=0.5)
    with pytest.raises(ValueError, match="Component 2.*no mode"):
        gmm.m_step(X, resp, "full", prior=prior)


# --- EM: the engine, monotonicity, the flat limit -------------------------------------------


@pytest.mark.parametrize("covariance_type", TYPES)
def test_engine_em_step_is_the_teaching_map_m_step(covariance_type):
    X, resp = small_problem(covariance_type, seed=13, K=3)
    prior = ConjugatePrior.default(X, 3, covariance_type, shrinkage=0.5, alpha=2.0)
    start = gmm.m_step(X, resp, covariance_type, prior=prior)
    step = gmm.em(X, start, max_iter=1, tol=0.0, prior=prior).mixture
    expected = gmm.m_step(X, gmm.responsibilities(X, start), covariance_type, prior=prior)
    for name in ("weights", "means", "covariances"):
        np.testing.assert_allclose(getattr(step, name), getattr(expected, name), rtol=1e-10)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    covariance_type=st.sampled_from(TYPES),
    K=st.integers(1, 4),
    D=st.integers(1, 3),
    weighted=st.booleans(),
    alpha=st.sampled_from([1.0, 1.5, 5.0]),
)
def test_em_never_decreases_the_log_posterior(seed, covariance_type, K, D, weighted, alpha):
    rng = np.random.default_rng(seed)
    N = int(rng.integers(10, 60))
    X = rng.normal(size=(N, D)) * rng.uniform(0.1, 5.0, D) + rng.normal(scale=3, size=D)
    # Rounded data: repeated values, where maximum likelihood collapses.
    X = np.round(X, int(rng.integers(0, 2)))
    weight = rng.uniform(0.2, 3.0, N) if weighted else None
    try:
        prior = ConjugatePrior.default(X, K, covariance_type, alpha=alpha,
                                       sample_weight=weight)
    except ValueError as error:  # a constant feature: no default prior (tested below)
        assert "constant" in str(error) or "dependent" in str(error)
        assume(False)
    start = gmm.m_step(X, rng.dirichlet(np.ones(K), size=N), covariance_type,
                       sample_weight=weight, prior=prior)
    result = gmm.em(X, start, tol=0.0, max_iter=25, sample_weight=weight, prior=prior,
                    keep_history=True)
    posterior = np.array(result.log_posteriors)
    assert np.all(np.diff(posterior) >= -1e-9 * np.abs(posterior[:-1]).max())
    # The history is ln p(X | theta) + ln p(theta) of the recorded parameters.
    for t in (0, len(result.history) - 1):
        theta = result.history[t]
        expected = gmm.log_likelihood(X, theta, sample_weight=weight) + log_prior(theta, prior)
        assert posterior[t] == pytest.approx(expected, rel=1e-9, abs=1e-9)


def flat_prior(covariance_type, D, K, delta):
    least = {"full": -(D + 2.0), "tied": -(D + 1.0 + K), "diag": -3.0,
             "spherical": -(D + 2.0)}[covariance_type]
    scale = {"full": delta * np.eye(D), "tied": delta * np.eye(D),
             "diag": np.full(D, delta), "spherical": delta}[covariance_type]
    return ConjugatePrior(np.zeros(D), delta, least + delta, scale, covariance_type)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_the_flat_limit_of_the_prior_is_maximum_likelihood(covariance_type):
    K, D = 3, 2
    X, resp = small_problem(covariance_type, seed=17, K=K)
    ml = gmm.m_step(X, resp, covariance_type, reg_covar=0.0)
    errors = []
    for delta in (1e-2, 1e-4, 1e-6):
        theta = gmm.m_step(X, resp, covariance_type, prior=flat_prior(covariance_type, D, K,
                                                                      delta))
        errors.append(max(np.max(np.abs(np.asarray(getattr(theta, name))
                                        - np.asarray(getattr(ml, name))))
                          for name in ("weights", "means", "covariances")))
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 1e-5


# --- The singularity held open --------------------------------------------------------------


def point_mass_data():
    rng = np.random.default_rng(21)
    return np.vstack([rng.normal(size=(60, 2)) * [1.0, 2.0], np.tile([4.0, -3.0], (6, 1))])


def test_a_point_mass_collapses_without_the_prior_and_stays_open_with_it():
    X = point_mass_data()
    start = gmm.Mixture([0.9, 0.1], [[0.0, 0.0], [4.0, -3.0]],
                        [np.diag([1.0, 4.0]), 0.05 * np.eye(2)])
    with pytest.raises(ValueError, match="collapsed|not positive definite"):
        gmm.em(X, start, reg_covar=0.0, max_iter=50)
    prior = ConjugatePrior.default(X, 2, "full")
    result = gmm.em(X, start, prior=prior, max_iter=500, tol=1e-10)
    assert result.converged
    covariance = result.mixture.covariances[1]
    eigenvalues = np.linalg.eigvalsh(covariance)
    # The bound of chapter 8: Sigma_k >= Psi_0 / (nu_0 + N + D + 2) (N_k <= N).
    bound = np.linalg.eigvalsh(prior.scale)[0] / (prior.dof + len(X) + 2 + 2)
    assert eigenvalues[0] >= bound
    # Well conditioned, and the component still holds the point mass.
    assert eigenvalues[-1] / eigenvalues[0] < 10
    assert gmm.responsibilities(X, result.mixture)[-6:, 1].min() > 0.99
    assert not gmm.is_degenerate(result.mixture, 0.0)


# --- mclust's default prior, by hand ---------------------------------------------------------


def test_default_prior_hyperparameters_by_hand():
    # X = (0,0), (1,0), (0,2), (3,2): mean (1, 1); variances 6/3 = 2 and 4/3; covariance
    # (1 + 0 - 1 + 2)/3 = 2/3 (divisor N - 1, as R's var). K = 2, D = 2: (1/K)^(2/D) = 1/2.
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [3.0, 2.0]])
    full = ConjugatePrior.default(X, 2, "full")
    np.testing.assert_allclose(full.mean, [1.0, 1.0])
    assert full.shrinkage == 0.01 and full.dof == 4.0 and np.all(full.alphas(2) == 1.0)
    np.testing.assert_allclose(full.scale, [[1.0, 1 / 3], [1 / 3, 2 / 3]])
    np.testing.assert_allclose(ConjugatePrior.default(X, 2, "tied").scale, full.scale)
    # diag and spherical: (1/2) (2 + 4/3) / 2 = 5/6, one number for every feature.
    np.testing.assert_allclose(ConjugatePrior.default(X, 2, "diag").scale, [5 / 6, 5 / 6])
    assert float(ConjugatePrior.default(X, 2, "spherical").scale) == pytest.approx(5 / 6)
    # One dimension: mclust's univariate var(x) / G^2 with dof 3; x = 0, 1, 2, 5 has mean 2
    # and variance (4 + 1 + 0 + 9) / 3 = 14/3, so with G = 2 the scale is 7/6.
    x = np.array([[0.0], [1.0], [2.0], [5.0]])
    for covariance_type in TYPES:
        one = ConjugatePrior.default(x, 2, covariance_type)
        assert one.dof == 3.0
        np.testing.assert_allclose(np.ravel(one.scale), [7 / 6])
    # N <= D: the diagonal of the variances only. Points (0,0,0), (2,4,6): variances 2, 8, 18.
    few = ConjugatePrior.default(np.array([[0.0, 0, 0], [2, 4, 6]]), 1, "full")
    np.testing.assert_allclose(few.scale, np.diag([2.0, 8.0, 18.0]))
    # Overrides, as priorControl(shrinkage=0, dof=7).
    other = ConjugatePrior.default(X, 2, "full", shrinkage=0.0, dof=7.0)
    assert other.shrinkage == 0.0 and other.dof == 7.0
    with pytest.raises(ValueError, match="Feature 2 of X is constant"):
        ConjugatePrior.default(np.array([[0.0, 1], [1, 1], [2, 1]]), 2, "diag")


# --- The estimator and model selection -------------------------------------------------------


def test_estimator_with_the_default_prior_uses_no_reg_covar_and_records_the_posterior():
    X = point_mass_data()
    model = gmm.GaussianMixture(2, prior="default", random_state=0).fit(X)
    assert model.converged_
    assert isinstance(model.prior_, ConjugatePrior)
    history = np.array(model.log_posterior_history_)
    assert np.all(np.diff(history) >= -1e-9 * np.abs(history).max())
    assert model.lower_bound_ * len(X) == pytest.approx(history[-2], rel=1e-12)
    # reg_covar None -> 0 with a prior: the update is exactly the MAP one.
    expected = gmm.m_step(X, model.predict_proba(X), "full", prior=model.prior_)
    again = gmm.em(X, model.mixture_, max_iter=1, tol=0.0, prior=model.prior_).mixture
    np.testing.assert_allclose(again.covariances, expected.covariances, rtol=1e-10)
    # BIC with a prior is of the log-likelihood at the MAP estimate.
    p = gmm.n_parameters(2, 2, "full")
    log_likelihood = gmm.log_likelihood(X, model.mixture_)
    assert model.bic(X) == pytest.approx(-2 * log_likelihood + p * np.log(len(X)))


def test_select_model_with_the_default_prior_has_no_degenerate_fit_on_rounded_data():
    X = gmm.datasets.standardize(gmm.datasets.load_old_faithful())
    with warnings.catch_warnings():
        warnings.simplefilter("error", gmm.ConvergenceWarning)
        selection = gmm.select_model(X, n_components=range(1, 7), random_state=29,
                                     init_params="random_from_data", prior="default")
    assert not any(row["degenerate"] for row in selection.table)
    assert all(row["converged"] for row in selection.table)
    for row in selection.table:
        model = selection.models[(row["n_components"], row["covariance_type"])]
        assert row["log_likelihood"] == pytest.approx(gmm.log_likelihood(X, model.mixture_))


# --- Clear errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"shrinkage": -1.0}, "shrinkage"),
        ({"dof": -5.0}, "dof"),
        ({"scale": [[1.0, 2.0], [2.0, 1.0]]}, "positive semi-definite"),
        ({"scale": [[1.0, 0.5], [0.0, 1.0]]}, "symmetric"),
        ({"alpha": [1.0, -1.0]}, "alpha"),
        ({"mean": [0.0, np.nan]}, "prior mean"),
    ],
)
def test_bad_hyperparameters_are_named(arguments, message):
    values = {"mean": [0.0, 0.0], "shrinkage": 0.01, "dof": 4.0, "scale": np.eye(2),
              "covariance_type": "full"}
    values.update(arguments)
    with pytest.raises(ValueError, match=message):
        ConjugatePrior(**values)


def test_a_prior_that_does_not_fit_the_mixture_is_refused():
    X, resp = small_problem("full")
    prior = ConjugatePrior.default(X, 2, "full")
    with pytest.raises(ValueError, match="covariance_type='full'.*'diag'"):
        gmm.m_step(X, resp, "diag", prior=prior)
    with pytest.raises(ValueError, match="2 features.*X has 3"):
        gmm.m_step(np.c_[X, X[:, :1]], resp, "full", prior=prior)
    with pytest.raises(ValueError, match="alpha has 3 entries.*2 components"):
        gmm.m_step(X, resp, "full", prior=ConjugatePrior.default(X, 2, alpha=[1, 2, 3]))
    with pytest.raises(ValueError, match="'default' or a gmm.ConjugatePrior"):
        gmm.GaussianMixture(2, prior="mclust").fit(X)

import logging

import numpy as np
import pandas as pd
import pytest

import tsvae
from tests.conftest import tiny_model
from tsvae.generation import AggregateSampler, Latents, PriorSampler

METHODS = ("prior", "posterior", "noisy_posterior", "aggregate")


def test_prior_draws_are_standard_normal(fitted_model):
    _, z = fitted_model.generate(20_000, method="prior", as_array=True, random_state=0,
                                 return_latents=True)
    assert z.shape == (20_000, 3)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=0.03)
    np.testing.assert_allclose(np.cov(z, rowvar=False), np.eye(3), atol=0.04)


def test_noise_scale_zero_is_the_reconstruction(fitted_model, energy_small):
    x = energy_small.iloc[100:160]
    generated = fitted_model.generate(None, method="noisy_posterior", noise_scale=0.0, x=x,
                                      as_array=True, random_state=0, return_latents=True,
                                      observation_noise=False)
    out, z = generated
    mu, _ = fitted_model.encode(x)
    # The sampler picks windows in random order; match each draw to its window by latent.
    order = [int(np.argmin(np.abs(mu - row).sum(axis=1))) for row in z]
    np.testing.assert_allclose(z, mu[order], rtol=0, atol=1e-6)
    rec = fitted_model.reconstruct(x, as_array=True)
    np.testing.assert_allclose(out, rec[order], rtol=1e-5, atol=1e-6)


def test_noise_scale_widens_the_posterior(fitted_model):
    spreads = []
    for scale in (0.0, 1.0, 3.0):
        _, z = fitted_model.generate(3000, method="noisy_posterior", noise_scale=scale,
                                     random_state=0, return_latents=True, as_array=True)
        spreads.append(z.std(axis=0).mean())
    assert spreads[0] < spreads[1] < spreads[2]


def test_aggregate_draws_match_training_latents():
    rng = np.random.default_rng(123)
    mu = rng.multivariate_normal([1.0, -2.0], [[1.0, 0.6], [0.6, 2.0]], size=4000)
    latents = Latents(mu, np.full_like(mu, np.log(0.01)))
    sampler = AggregateSampler(random_state=0).fit(latents)
    z = sampler.sample(20_000, np.random.default_rng(1)).z
    draws = latents.draw(np.random.default_rng(2))
    np.testing.assert_allclose(z.mean(axis=0), draws.mean(axis=0), atol=0.06)
    np.testing.assert_allclose(np.cov(z, rowvar=False), np.cov(draws, rowvar=False), atol=0.12)


def test_aggregate_fits_the_means_or_the_posterior_draws():
    # Codes spread 0.1 around the origin with wide posteriors (std 1), as in the weakly used
    # latent directions of a trained model.
    rng = np.random.default_rng(0)
    latents = Latents(rng.normal(0.0, 0.1, (3000, 2)), np.zeros((3000, 2)))
    spread = {fit_to: AggregateSampler(n_components=1, fit_to=fit_to, random_state=0)
              .fit(latents).sample(5000, np.random.default_rng(1)).z.std(axis=0)
              for fit_to in ("means", "draws")}
    np.testing.assert_allclose(spread["means"], 0.1, rtol=0.1)
    np.testing.assert_allclose(spread["draws"], np.sqrt(1.0 + 0.01), rtol=0.1)
    with pytest.raises(ValueError, match="fit_to='medians' is not known"):
        AggregateSampler(fit_to="medians")


def test_aggregate_picks_components_by_bic():
    rng = np.random.default_rng(0)
    mu = np.concatenate([rng.normal(-4, 0.3, (1500, 2)), rng.normal(4, 0.3, (1500, 2))])
    sampler = AggregateSampler(random_state=0).fit(Latents(mu, np.full_like(mu, -8.0)))
    assert len(sampler.weights_) >= 2
    z = sampler.sample(4000, np.random.default_rng(0)).z
    assert np.mean(np.abs(z[:, 0]) < 2) < 0.02  # nothing in the empty middle


def test_prior_sampler_standalone():
    sampler = PriorSampler().fit(Latents(np.zeros((2, 4)), np.zeros((2, 4))))
    assert sampler.sample(3, np.random.default_rng(0)).z.shape == (3, 4)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_is_deterministic(fitted_model, method):
    a = tsvae.generate_new_data(fitted_model, n=15, method=method, random_state=9,
                                as_array=True)
    b = tsvae.generate_new_data(fitted_model, n=15, method=method, random_state=9,
                                as_array=True)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (15, 12, 6) and np.isfinite(a).all()


def test_save_load_keeps_the_mixture(fitted_model, tmp_path):
    fitted_model.save(tmp_path / "m.tsvae")
    loaded = tsvae.TimeSeriesVAE.load(tmp_path / "m.tsvae")
    for name in ("weights_", "means_", "covariances_"):
        np.testing.assert_array_equal(getattr(loaded.aggregate_sampler_, name),
                                      getattr(fitted_model.aggregate_sampler_, name))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"method": "noisy_posterior", "noise_scale": -1.0}, ValueError, "noise_scale"),
        ({"method": "noisy_posterior", "noise_scale": float("nan")}, ValueError, "noise_scale"),
        ({"method": "vae"}, ValueError, "method='vae'"),
        ({"method": "prior", "x": np.zeros((3, 12, 6))}, ValueError, "x= is what posterior"),
        ({"method": "posterior", "x": np.zeros((3, 10, 6))}, ValueError, "12"),
        ({"method": "posterior", "x": np.zeros((3, 12, 4))}, ValueError, "features"),
        ({"method": "posterior", "x": np.full((3, 12, 6), np.nan)}, ValueError, "NaN"),
        ({"method": "posterior", "x": pd.DataFrame({"a": [1.0] * 20})}, ValueError, "missing"),
        ({"context": np.zeros((12, 6))}, ValueError, "conditional"),
    ],
)
def test_generation_bad_input(fitted_model, kwargs, error, match):
    with pytest.raises(error, match=match):
        fitted_model.generate(5, **kwargs)


def test_conditional_generate_continues_a_context(conditional_model, energy_small):
    context = energy_small.iloc[200:230]
    out = conditional_model.generate(8, context=context, random_state=0, as_array=True)
    assert out.shape == (8, 4, 6)
    other = conditional_model.generate(8, context=energy_small.iloc[400:430], random_state=0,
                                       as_array=True)
    assert not np.allclose(out, other)
    with pytest.raises(ValueError, match="at least 12"):
        conditional_model.generate(3, context=context.iloc[:5])
    with pytest.raises(ValueError, match="missing column"):
        conditional_model.generate(3, context=context.drop(columns="T1"))
    with pytest.raises(ValueError, match="NaN"):
        conditional_model.generate(3, context=context.assign(T1=np.nan))


@pytest.mark.parametrize("method", METHODS)
def test_generate_series_length_columns_frequency_units(conditional_model, energy_small, method):
    series = conditional_model.generate_series(30, method=method, random_state=0)
    assert len(series) == 30 and list(series.columns) == list(energy_small.columns)
    assert isinstance(series.index, pd.DatetimeIndex)
    assert series.index[0] == energy_small.index[-1] + pd.Timedelta("10min")
    assert pd.infer_freq(series.index) == "10min"
    assert np.isfinite(series.to_numpy()).all()
    assert series["T1"].between(energy_small["T1"].min() - 5, energy_small["T1"].max() + 5).all()
    again = conditional_model.generate_series(30, method=method, random_state=0)
    pd.testing.assert_frame_equal(series, again)


def test_generate_series_integer_index_and_context():
    stocks = tsvae.datasets.load_stocks().iloc[:300]
    from tests.conftest import tiny_model

    model = tiny_model(n_future=3, max_epochs=1).fit(stocks)
    out = model.generate_series(7, random_state=0)
    assert list(out.index) == list(range(300, 307))
    from_context = model.generate_series(5, context=stocks.iloc[:50], random_state=0)
    assert list(from_context.index) == list(range(50, 55))


def test_generate_series_errors(fitted_model, conditional_model):
    with pytest.raises(ValueError, match="n_future > 0"):
        fitted_model.generate_series(10)
    for bad in (0, -5):
        with pytest.raises(ValueError, match="length must be a positive integer"):
            conditional_model.generate_series(bad)


def test_panel_series_carry_their_id():
    from tests.conftest import tiny_model

    base = tsvae.datasets.load_etth1().iloc[:400].reset_index()
    panel = pd.concat([base.iloc[:200].assign(site="a"), base.iloc[200:].assign(site="b")])
    model = tiny_model(n_future=4, max_epochs=1).fit(panel, time_col="date", id_col="site")
    out = model.generate_series(6, random_state=0)
    assert list(out["site"]) == ["a"] * 6 + ["b"] * 6
    assert out.index[0] == base["date"].iloc[199] + pd.Timedelta("1h")


def test_latent_diagnostics(fitted_model):
    diag = fitted_model.latent_diagnostics()
    table = diag.per_dimension
    assert len(table) == 3 and (table["kl"] >= 0).all()
    assert diag.summary["active_units"] == int(table["active"].sum())
    assert 0.0 <= diag.summary["prior_hole_score"] <= 1.0
    assert diag.summary["gaussian_kl_from_prior"] >= 0


def test_prior_hole_score_flags_collapsed_latents():
    from tsvae.diagnostics import prior_hole_score

    rng = np.random.default_rng(0)
    wide, _ = prior_hole_score(rng.normal(size=(3000, 3)), rng.normal(size=(1000, 3)))
    narrow, _ = prior_hole_score(0.1 * rng.normal(size=(3000, 3)), rng.normal(size=(1000, 3)))
    assert wide < 0.05 and narrow > 0.9


# noisy_posterior: 0.15, as the second column (lights) snaps to its levels 0, 10, 20, ..., which
# moves its RMS by up to 0.11 (under 0.10 without the mean calibration).
@pytest.mark.parametrize("method, rtol", [("noisy_posterior", 0.15), ("aggregate", 0.2)])
def test_fresh_samples_draw_the_observation_noise(fitted_model, method, rtol):
    noisy = fitted_model.generate(4000, method=method, random_state=4, as_array=True)
    mean = fitted_model.generate(4000, method=method, random_state=4, as_array=True,
                                 observation_noise=False)
    noise = fitted_model.train_latents_.noise
    # The added noise has the size (root mean square) of the training residuals, per feature
    # (by construction for random residual windows; on average for 'aggregate', whose draws
    # pick windows by posterior density where the training latents are).
    expected = noise.residual_rms * fitted_model.scaler_.scale_
    assert expected.shape == (6,) and (expected > 0).all()
    np.testing.assert_allclose(np.sqrt(((noisy - mean) ** 2).mean(axis=(0, 1))), expected,
                               rtol=rtol)



@pytest.mark.parametrize("method", METHODS)
def test_every_method_draws_the_observation_model_by_default(fitted_model, method):
    """One rule for all methods (like with like): noise on unless observation_noise=False."""
    noisy = fitted_model.generate(300, method=method, random_state=4, as_array=True)
    explicit = fitted_model.generate(300, method=method, random_state=4, as_array=True,
                                     observation_noise=True)
    mean = fitted_model.generate(300, method=method, random_state=4, as_array=True,
                                 observation_noise=False)
    np.testing.assert_array_equal(noisy, explicit)
    expected = fitted_model.train_latents_.noise.residual_rms * fitted_model.scaler_.scale_
    np.testing.assert_allclose(np.sqrt(((noisy - mean) ** 2).mean(axis=(0, 1))), expected,
                               rtol=0.25)


def test_default_method_is_aggregate(fitted_model):
    import inspect

    from tsvae.generation.generate import DEFAULT_METHOD, generate_new_data, generate_series

    assert DEFAULT_METHOD == "aggregate"
    for function in (fitted_model.generate, fitted_model.generate_series, generate_new_data,
                     generate_series):
        assert inspect.signature(function).parameters["method"].default == DEFAULT_METHOD
    _, z = fitted_model.generate(50, random_state=3, return_latents=True, as_array=True)
    _, z_aggregate = fitted_model.generate(50, method="aggregate", random_state=3,
                                           return_latents=True, as_array=True)
    np.testing.assert_array_equal(z, z_aggregate)


def _holed_model(model, spread: float):
    """A copy of ``model`` whose training latents are shrunk to ``spread`` (a prior hole
    when small)."""
    import copy

    holed = copy.copy(model)
    stored = copy.copy(model.train_latents_)
    stored.latents = Latents(model.train_latents_.latents.mu * 0 + spread
                             * np.random.default_rng(0).normal(size=stored.latents.mu.shape),
                             np.full_like(stored.latents.mu, np.log(1e-4)))
    holed.train_latents_ = stored
    return holed


def test_prior_on_a_holed_model_warns_and_suggests_aggregate(fitted_model, caplog):
    holed = _holed_model(fitted_model, 0.05)
    with caplog.at_level("WARNING", logger="tsvae.generation.generate"):
        holed.generate(5, method="prior", random_state=0, as_array=True)
    messages = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(messages) == 1
    assert "prior-hole score is 1.00" in messages[0] and "aggregate" in messages[0]
    caplog.clear()
    with caplog.at_level("WARNING", logger="tsvae.generation.generate"):
        holed.generate(5, method="aggregate", random_state=0, as_array=True)
        _holed_model(fitted_model, 1.0).generate(5, method="prior", random_state=0,
                                                  as_array=True)
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


def _var2_windows(n: int, rng: np.random.Generator) -> np.ndarray:
    """Windows of a known VAR(2) with a cross-lag term and skewed (exponential) shocks."""
    a1 = np.array([[0.5, 0.3], [0.0, 0.6]])
    a2 = np.array([[0.2, 0.0], [-0.3, 0.1]])
    burn, steps = 30, 24
    x = np.zeros((n, burn + steps, 2))
    shocks = rng.exponential(size=x.shape) - 1.0
    for t in range(2, burn + steps):
        x[:, t] = x[:, t - 1] @ a1.T + x[:, t - 2] @ a2.T + shocks[:, t]
    return x[:, burn:], np.stack([a1, a2])


def _lag1_cross_cov(w: np.ndarray) -> np.ndarray:
    """``E[w_t[f] * w_{t-1}[g]]`` over windows and steps, ``(F, F)``."""
    return np.einsum("ntf,ntg->fg", w[:, 1:], w[:, :-1]) / (w.shape[0] * (w.shape[1] - 1))


def test_observation_noise_recovers_a_var2_process_and_its_shock_shape():
    from scipy.stats import skew

    from tsvae.generation.observation import ResidualAccumulator

    rng = np.random.default_rng(0)
    windows, coefs = _var2_windows(6000, rng)
    acc = ResidualAccumulator(2, lags=2, expected_windows=len(windows), random_state=0)
    for part in np.array_split(windows, 4):  # streamed in batches, as fit does
        acc.add(part)
    fitted = acc.fit()
    np.testing.assert_allclose(fitted.coefs, coefs, atol=0.03)
    draws = fitted.sample(6000, 24, np.random.default_rng(1))
    # Same spread per step and feature, same lag-1 cross-covariance, same (skewed) shape.
    np.testing.assert_allclose(draws.std(axis=0), windows.std(axis=0), rtol=0.1)
    np.testing.assert_allclose(_lag1_cross_cov(draws), _lag1_cross_cov(windows), atol=0.08)
    assert skew(draws[:, 5:, 0].ravel()) > 0.3 and abs(skew(windows[:, 5:, 0].ravel())
                                                      - skew(draws[:, 5:, 0].ravel())) < 0.3
    # Same seed, same draws.
    np.testing.assert_array_equal(draws, fitted.sample(6000, 24, np.random.default_rng(1)))


def test_observation_noise_keeps_calm_windows_calm_and_busy_windows_busy(tmp_path):
    """Residuals whose scale changes from window to window (volatility regimes): draws take
    a whole window's innovations, so the spread of per-window roughness survives, and a
    window with one jump keeps exactly one."""
    from tsvae.generation.observation import ObservationNoise, ResidualAccumulator

    rng = np.random.default_rng(7)  # not the accumulator's seed: its keep draws would match
    scale = np.where(rng.random((3000, 1, 1)) < 0.8, 0.2, 2.0)  # 80% calm, 20% busy
    windows = rng.normal(size=(3000, 24, 1)) * scale
    acc = ResidualAccumulator(1, lags=1, expected_windows=len(windows), random_state=0)
    acc.add(windows)
    fitted = acc.fit()
    assert fitted.residual_windows.shape[1:] == (24, 1) and fitted.innovation_pool is None
    draws = fitted.sample(3000, 24, np.random.default_rng(1))
    # A window of the training length is one training residual window, whole.
    kept = {w.tobytes() for w in fitted.residual_windows}
    assert all(w.tobytes() in kept for w in draws[:50])
    real_std, draw_std = windows.std(axis=1).ravel(), draws.std(axis=1).ravel()
    # Step-by-step draws would give every window about the pooled std (~0.93, none calm).
    assert abs(np.mean(draw_std < 0.5) - np.mean(real_std < 0.5)) < 0.03
    np.testing.assert_allclose(np.quantile(draw_std, [.1, .5, .9]),
                               np.quantile(real_std, [.1, .5, .9]), rtol=0.15)
    # Other lengths run the VAR on a window's innovations: calm stays calm there too.
    other = fitted.sample(3000, 20, np.random.default_rng(1)).std(axis=1).ravel()
    assert abs(np.mean(other < 0.5) - np.mean(real_std < 0.5)) < 0.05
    # Long series: later stretches switch windows (both regimes along one series).
    long = fitted.sample(200, 24 * 20, np.random.default_rng(2))
    stretch_std = long.reshape(200, 20, 24).std(axis=2)
    assert ((stretch_std < 0.5).any(axis=1) & (stretch_std > 1.0).any(axis=1)).mean() > 0.5
    # Saved and loaded, it draws the same.
    arrays = fitted.to_arrays()
    assert "noise_residual_windows" in arrays and "noise_innovation_pool" not in arrays
    again = ObservationNoise.from_arrays(arrays)
    np.testing.assert_array_equal(again.sample(50, 24, np.random.default_rng(3)),
                                  fitted.sample(50, 24, np.random.default_rng(3)))
    # A one-jump window keeps one jump: its innovations are reordered, not resampled.
    jumps = np.zeros((200, 24, 1))
    jumps[np.arange(200), rng.integers(2, 24, 200), 0] = 5.0  # one jump, anywhere
    acc = ResidualAccumulator(1, lags=1, expected_windows=200, random_state=0)
    acc.add(jumps + rng.normal(scale=0.01, size=jumps.shape))
    draws = acc.fit().sample(500, 30, np.random.default_rng(4))
    assert ((np.abs(draws[:, 1:, 0]) > 2.0).sum(axis=1) >= 1).mean() > 0.95


def test_fresh_draws_take_the_residual_of_a_window_whose_posterior_covers_their_z():
    """Residual windows are matched to z by posterior density q(z | x_j), not by distance:
    a wide posterior at the origin (a window the decoder explains badly) is the nearest
    neighbour of most draws but is picked only in proportion to its density."""
    import torch

    from tsvae.generation.observation import ObservationNoise

    rng = np.random.default_rng(0)
    calm, busy = 0.1 * rng.normal(size=(100, 12, 1)), 3.0 * rng.normal(size=(100, 12, 1))
    mu = np.r_[np.full(100, -2.0), np.full(100, 2.0)][:, None]
    latents = np.stack([mu, np.full_like(mu, np.log(0.1))], axis=1).astype(np.float32)
    noise = ObservationNoise(np.zeros((1, 1, 1)), np.zeros(1), np.eye(1),
                             residual_windows=np.concatenate([calm, busy]),
                             residual_latents=latents)
    z = np.r_[np.full(500, -2.0), np.full(500, 2.0)][:, None] + 0.1 * rng.normal(size=(1000, 1))
    draws = noise.sample(1000, 12, np.random.default_rng(1), latents=z)
    spread = draws.std(axis=1).ravel()
    assert (spread[:500] < 0.5).all() and (spread[500:] > 1.0).all()
    # Without latents (posterior methods, older callers): random windows, both kinds.
    spread = noise.sample(1000, 12, np.random.default_rng(1)).std(axis=1).ravel()
    assert 0.35 < np.mean(spread < 0.5) < 0.65
    # A wide posterior at the origin does not take over the draws near it.
    hub = np.stack([[[0.0]], [[np.log(25.0)]]], axis=1).reshape(1, 2, 1).astype(np.float32)
    noise = ObservationNoise(np.zeros((1, 1, 1)), np.zeros(1), np.eye(1),
                             residual_windows=np.concatenate([calm, busy[:1]]),
                             residual_latents=np.concatenate([latents[:100], hub]))
    draws = noise.sample(1000, 12, np.random.default_rng(2), latents=np.full((1000, 1), -1.5))
    assert np.mean(draws.std(axis=1).ravel() > 1.0) < 0.05
    # Saved and loaded, the match is the same.
    again = ObservationNoise.from_arrays(noise.to_arrays())
    np.testing.assert_array_equal(
        again.sample(50, 12, np.random.default_rng(3), latents=np.zeros((50, 1))),
        noise.sample(50, 12, np.random.default_rng(3), latents=np.zeros((50, 1))))
    assert torch.is_tensor(noise._torch()["residual_mu"])


def test_match_residuals_is_opt_in_and_checked(fitted_model):
    plain = fitted_model.generate(200, method="aggregate", random_state=3, as_array=True)
    again = fitted_model.generate(200, method="aggregate", random_state=3, as_array=True,
                                  match_residuals=False)
    matched = fitted_model.generate(200, method="aggregate", random_state=3, as_array=True,
                                    match_residuals=True)
    np.testing.assert_array_equal(plain, again)
    assert matched.shape == plain.shape and not np.array_equal(matched, plain)
    np.testing.assert_array_equal(matched, fitted_model.generate(
        200, method="aggregate", random_state=3, as_array=True, match_residuals=True))
    # The posterior methods ignore it (matching would return a window's own residual).
    posterior = fitted_model.generate(50, method="noisy_posterior", random_state=3,
                                      as_array=True)
    np.testing.assert_array_equal(posterior, fitted_model.generate(
        50, method="noisy_posterior", random_state=3, as_array=True, match_residuals=True))
    with pytest.raises(ValueError, match="match_residuals must be True or False"):
        fitted_model.generate(5, match_residuals="yes")


def test_observation_noise_without_pools_and_with_identical_features():
    from tsvae.generation.observation import ObservationNoise

    # Gaussian path (files of the older format): AR(1) with std 1 in the stationary state.
    ar1 = ObservationNoise.from_arrays({"noise_phi": np.array([0.9]),
                                        "noise_innovation_cov": np.array([[0.19]])})
    draw = ar1.sample(20_000, 24, np.random.default_rng(0))
    assert abs(draw.std() - 1.0) < 0.05
    lag1 = (draw[:, 1:] * draw[:, :-1]).mean() / draw.var()
    assert abs(lag1 - 0.9) < 0.03
    # Identical features (like energy's rv1 and rv2) give a singular covariance: still samples.
    twin = ObservationNoise(np.diag([0.5, 0.5])[None], np.zeros(2), np.ones((2, 2)))
    draw = twin.sample(10, 5, np.random.default_rng(0))
    np.testing.assert_allclose(draw[..., 0], draw[..., 1], atol=1e-5)


def test_the_linear_map_draws_what_the_step_by_step_recursion_draws(monkeypatch):
    from tsvae.generation import observation

    rng = np.random.default_rng(0)
    windows, _ = _var2_windows(600, rng)
    acc = observation.ResidualAccumulator(2, lags=2, expected_windows=600, random_state=0)
    acc.add(windows + np.array([0.3, -0.2]))  # a non-zero intercept
    fitted = acc.fit()
    fitted.calibrate(np.linspace(0.5, 1.5, 48).reshape(24, 2))  # per-step scale folded in
    gaussian = observation.ObservationNoise(fitted.coefs, fitted.intercept,
                                            fitted.innovation_cov)
    for noise in (fitted, gaussian):
        for steps in (1, 2, 24, 30):  # shorter than p, the training length, another length
            by_map = noise.sample(500, steps, np.random.default_rng(5))
            monkeypatch.setattr(observation, "MAX_MAP_VALUES", 0)
            by_loop = noise.sample(500, steps, np.random.default_rng(5))
            monkeypatch.undo()
            np.testing.assert_allclose(by_map, by_loop, rtol=1e-4, atol=1e-5)


def test_an_explosive_residual_fit_is_stabilised():
    from tsvae.generation.observation import MAX_SPECTRAL_RADIUS, ResidualAccumulator, _companion

    rng = np.random.default_rng(0)
    walk = np.cumsum(rng.normal(size=(500, 24, 1)) + 0.2, axis=1)  # drifting: explosive fit
    acc = ResidualAccumulator(1, lags=2)
    acc.add(walk)
    fitted = acc.fit()
    radius = np.abs(np.linalg.eigvals(_companion(fitted.coefs))).max()
    assert radius <= MAX_SPECTRAL_RADIUS + 1e-9
    assert np.isfinite(fitted.sample(100, 500, np.random.default_rng(0))).all()


def test_batch_size_does_not_change_decoded_windows(fitted_model):
    # Decoded means: the observation model's draws depend on the batch size by design.
    small = fitted_model.generate(300, method="posterior", random_state=0, as_array=True,
                                  batch_size=7, observation_noise=False)
    large = fitted_model.generate(300, method="posterior", random_state=0, as_array=True,
                                  batch_size=4096, observation_noise=False)
    np.testing.assert_allclose(small, large, rtol=1e-4, atol=1e-3)
    again = fitted_model.generate(300, random_state=3, as_array=True, batch_size=7)
    np.testing.assert_array_equal(again, fitted_model.generate(300, random_state=3,
                                                               as_array=True, batch_size=7))


def test_bf16_generation_stays_close_to_float32(fitted_model, energy_small):
    import copy

    # Decoded values, before rounding and snapping to levels (a step of a whole level).
    model = copy.copy(fitted_model).set_params(enforce_types=False, snap_discrete=False)
    exact = model.generate(500, method="posterior", random_state=0, as_array=True)
    fast = model.generate(500, method="posterior", random_state=0, as_array=True,
                          precision="bf16-mixed")
    span = (energy_small.max() - energy_small.min()).to_numpy()
    assert (np.abs(fast - exact).max(axis=(0, 1)) <= 0.02 * span).all()


def test_bf16_on_a_cpu_without_bfloat16_warns_and_runs_in_float32(fitted_model, monkeypatch,
                                                                   caplog):
    # oneDNN raises on a bfloat16 LSTM on such CPUs (AVX2-only machines).
    from tsvae.generation import generate

    monkeypatch.setattr(generate, "_cpu_has_bf16", lambda: False)
    exact = fitted_model.generate(50, method="posterior", random_state=0, as_array=True)
    with caplog.at_level("WARNING", logger="tsvae.generation.generate"):
        fallback = fitted_model.generate(50, method="posterior", random_state=0, as_array=True,
                                         precision="bf16-mixed")
    assert "runs in float32" in caplog.text
    np.testing.assert_array_equal(fallback, exact)


@pytest.mark.parametrize("kwargs, message", [
    ({"batch_size": 0}, "batch_size"), ({"batch_size": 2.5}, "batch_size"),
    ({"precision": "16"}, "precision"),
])
def test_bad_generation_settings_are_named(fitted_model, kwargs, message):
    with pytest.raises(ValueError, match=message):
        fitted_model.generate(10, **kwargs)


def test_fresh_windows_of_a_conditional_panel_model_continue_pasts_of_every_series(
        energy_small):
    from tests.conftest import tiny_model

    frame = energy_small.iloc[:, :2]
    panel = pd.concat([frame.assign(site="A"), frame.assign(site="B")]).reset_index()
    model = tiny_model(n_future=4, max_epochs=1).fit(panel, id_col="site", time_col="date")
    # Two windows at a time: their pasts must be drawn from all training windows, not the
    # first two.
    sites = set()
    for seed in range(12):
        sites |= set(model.generate(2, random_state=seed)["site"])
    assert sites == {"A", "B"}


def _ar1_windows(n: int, phi: float, rng: np.random.Generator) -> np.ndarray:
    x = np.zeros((n, 24 + 20, 1))
    for t in range(1, x.shape[1]):
        x[:, t] = phi * x[:, t - 1] + rng.normal(size=(n, 1)) * np.sqrt(1 - phi**2)
    return x[:, 20:]


def _lag1(w: np.ndarray) -> float:
    return float((w[:, 1:] * w[:, :-1]).mean() / w.var())


def test_observation_noise_is_fitted_per_condition_value_and_saved(tmp_path):
    from safetensors.numpy import load_file, save_file

    from tsvae.generation.observation import (
        ConditionalNoise,
        ConditionalResidualAccumulator,
        noise_from_arrays,
    )

    rng = np.random.default_rng(0)
    slow, fast = _ar1_windows(3000, 0.9, rng), _ar1_windows(3000, -0.5, rng)
    keys = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    acc = ConditionalResidualAccumulator(1, lags=2, expected_windows=6000, random_state=0)
    for part in range(6):  # mixed batches, as fit streams them
        rows = slice(part * 500, (part + 1) * 500)
        acc.add(np.concatenate([slow[rows], fast[rows]]),
                np.repeat(keys, 500, axis=0))
    noise = acc.fit()
    assert isinstance(noise, ConditionalNoise)
    wanted = np.repeat(keys, 2000, axis=0)
    draws = noise.sample(4000, 24, np.random.default_rng(1), conditions=wanted)
    assert abs(_lag1(draws[:2000]) - 0.9) < 0.05 and abs(_lag1(draws[2000:]) + 0.5) < 0.05
    # No condition, or an unseen one: the pooled model of both.
    pooled = noise.sample(4000, 24, np.random.default_rng(1))
    assert 0.1 < _lag1(pooled) < 0.6
    np.testing.assert_array_equal(
        noise.sample(10, 24, np.random.default_rng(2), conditions=np.full((10, 2), 0.5)),
        noise.pooled.sample(10, 24, np.random.default_rng(2)))
    # Saved and loaded through safetensors: the same draws.
    save_file(noise.to_arrays(), tmp_path / "noise.safetensors")
    loaded = noise_from_arrays(load_file(tmp_path / "noise.safetensors"))
    np.testing.assert_array_equal(
        loaded.sample(100, 24, np.random.default_rng(3), conditions=wanted[::40]),
        noise.sample(100, 24, np.random.default_rng(3), conditions=wanted[::40]))


def test_continuous_conditions_get_the_pooled_observation_noise():
    from tsvae.generation.observation import (
        MAX_CONDITION_GROUPS,
        ConditionalResidualAccumulator,
        ObservationNoise,
    )

    rng = np.random.default_rng(0)
    windows = _ar1_windows(2000, 0.5, rng)
    acc = ConditionalResidualAccumulator(1, lags=1, expected_windows=2000)
    acc.add(windows, rng.normal(size=(2000, 1)))  # every window its own value
    assert acc.groups is None and MAX_CONDITION_GROUPS < 2000
    assert isinstance(acc.fit(), ObservationNoise)


def test_mean_calibration_brings_reconstructions_closer_and_leaves_training_alone(
        energy_small, monkeypatch):
    """The map is fitted after training: the network is the same with and without it, and
    the calibrated reconstructions of the training windows are closer to the data (least
    squares over a family that holds the identity) and their residuals nearly uncorrelated
    with them (exactly, on the windows the map was fitted to, when every direction is kept
    and the gain not capped), which is what lets a random residual window be added to a
    fresh mean."""
    import torch

    import tsvae.generation.mean_calibration as mean_calibration

    data = energy_small.iloc[:400]
    plain = tiny_model(max_epochs=3, calibrate_means=False).fit(data)
    calibrated = tiny_model(max_epochs=3).fit(data)
    monkeypatch.setattr(mean_calibration, "MIN_VARIANCE_SHARE", 0.0)
    monkeypatch.setattr(mean_calibration, "MAX_GAIN", np.inf)
    least_squares = tiny_model(max_epochs=3).fit(data)
    assert plain.train_latents_.mean_calibration is None
    torch.testing.assert_close(plain.vae_.state_dict(), calibrated.vae_.state_dict())
    windows = calibrated.scaled_windows(data)
    with torch.inference_mode():
        mu, _ = calibrated.vae_.encode(torch.from_numpy(windows))
        decoded = calibrated.vae_.decode(mu).numpy()
    mapped = calibrated.train_latents_.mean_calibration.apply(decoded)
    exact = least_squares.train_latents_.mean_calibration.apply(decoded)

    def error(mean):
        return ((windows - mean) ** 2).mean()

    assert error(exact) <= error(mapped) < error(decoded)

    def cross_share(mean):
        """|Cov(mean, data - mean)| / Var(mean), per feature (pooled over steps)."""
        m, r = mean - mean.mean(axis=0), windows - mean
        r = r - r.mean(axis=0)
        return np.abs((m * r).mean(axis=(0, 1))) / (m * m).mean(axis=(0, 1))

    # Measured: raw 20-140 (a barely trained decoder is nearly constant), least squares
    # .02-.10 (zero on the 90% of windows it was fitted to, not the validation windows also
    # judged here). The default keeps much of it here: its gain is capped, so a decoder this
    # flat is not stretched to the data's spread.
    assert (cross_share(exact) < 0.15).all()
    gains = np.linalg.svd(calibrated.train_latents_.mean_calibration.weight, compute_uv=False)
    assert gains.max() <= mean_calibration.MAX_GAIN + 1e-4
    np.testing.assert_allclose(calibrated.reconstruct(data.iloc[:40], as_array=True),
                               calibrated.to_output_units(mapped[:29]), rtol=1e-5, atol=1e-5)
    raw = plain.reconstruct(data.iloc[:40], as_array=True)
    np.testing.assert_allclose(raw, plain.to_output_units(decoded[:29]), rtol=1e-5, atol=1e-5)


def test_windows_too_large_for_the_mean_calibration_use_the_decoded_means(
        energy_small, monkeypatch, caplog):
    import tsvae.generation.mean_calibration as mean_calibration

    monkeypatch.setattr(mean_calibration, "MAX_MAP_VALUES", 10)
    with caplog.at_level(logging.INFO, logger="tsvae"):
        model = tiny_model(max_epochs=1).fit(energy_small.iloc[:200])
    assert model.train_latents_.mean_calibration is None
    assert "too large for the mean calibration" in caplog.text
    assert model.generate(4, random_state=0, as_array=True).shape == (4, 12, 6)


def test_calibrate_means_must_be_a_bool(energy_small):
    with pytest.raises(ValueError, match="calibrate_means must be True or False, got 'yes'"):
        tiny_model(calibrate_means="yes").fit(energy_small.iloc[:200])


def test_models_with_a_past_context_keep_their_decoded_means(conditional_model):
    """The map does not read the past context, so models with ``n_future > 0`` are not
    calibrated (their windows decode as before)."""
    assert conditional_model.calibrate_means is True
    assert conditional_model.train_latents_.mean_calibration is None


def test_mean_calibration_maps_the_directions_decoded_windows_vary_in():
    """Least squares on the principal directions with enough variance: a strong direction
    the data amplifies is recovered, a direction the decoded windows barely vary in is left
    to the residual, and the residual is orthogonal to what the map reads."""
    from tsvae.generation.mean_calibration import MeanCalibrationAccumulator

    rng = np.random.default_rng(0)
    n, steps = 20_000, 4
    strong = np.array([1.0, 1.0, 1.0, 1.0]) / 2  # a level shift of the whole window
    weak = np.array([1.0, -1.0, 1.0, -1.0]) / 2  # a zigzag, 1% of the level's variance
    a, b = rng.normal(size=(n, 1)), 0.1 * rng.normal(size=(n, 1))
    decoded = (a * strong + b * weak)[:, :, None]
    data = 1.5 * a * strong + 3.0 * b * weak + 0.05 * rng.normal(size=(n, steps))
    accumulator = MeanCalibrationAccumulator(steps, 1)
    accumulator.add(decoded, data[:, :, None])
    mapped = accumulator.fit().apply(decoded)[:, :, 0]
    level = mapped @ strong
    np.testing.assert_allclose(np.polyfit(a[:, 0], level, 1)[0], 1.5, rtol=0.01)
    assert abs(np.corrcoef(mapped @ weak, b[:, 0])[0, 1]) < 0.05  # left to the residual
    residual = data - mapped
    assert abs(np.mean((level - level.mean()) * (residual @ strong))) < 1e-3
    # Every direction kept (share 0): the zigzag's gain of 3 is capped at MAX_GAIN (2).
    capped = accumulator.fit(share=0.0).apply(decoded)[:, :, 0]
    np.testing.assert_allclose(np.polyfit(b[:, 0], capped @ weak, 1)[0], 2.0, rtol=0.02)


def test_mean_calibration_of_one_step_windows_keeps_the_step():
    """One step (or decoded windows of equal spread in every direction) sits exactly at the
    cut of the average variance: the map keeps it instead of replacing the decoder's output
    by the data's mean."""
    from tsvae.generation.mean_calibration import MeanCalibrationAccumulator

    decoded = np.random.default_rng(0).normal(size=(1_000, 1, 2))
    accumulator = MeanCalibrationAccumulator(1, 2)
    accumulator.add(decoded, 1.5 * decoded)
    np.testing.assert_allclose(accumulator.fit().apply(decoded), 1.5 * decoded, atol=1e-5)


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
    # One decode path: the same values, not merely close ones (issue 31).
    assert np.array_equal(out, rec[order])


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
        # float("1") and float(True) would pass: a real number only (issue 31).
        ({"method": "noisy_posterior", "noise_scale": "1"}, TypeError, "noise_scale"),
        ({"method": "noisy_posterior", "noise_scale": True}, TypeError, "noise_scale"),
        ({"method": "noisy_posterior", "noise_scale": None}, TypeError, "noise_scale"),
        # bool("no") is True: it would turn the noise on.
        ({"observation_noise": "no"}, ValueError, "observation_noise must be True, False"),
        ({"observation_noise": 0}, ValueError, "observation_noise"),
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
    for bad in ("1", True):
        with pytest.raises(TypeError, match="noise_scale must be a number"):
            conditional_model.generate_series(4, noise_scale=bad)
    with pytest.raises(ValueError, match="observation_noise must be True, False"):
        conditional_model.generate_series(4, observation_noise="no")


def test_numpy_numbers_and_bools_are_accepted(fitted_model):
    a = fitted_model.generate(5, method="noisy_posterior", noise_scale=np.float32(0.5),
                              observation_noise=np.bool_(False), random_state=0, as_array=True)
    b = fitted_model.generate(5, method="noisy_posterior", noise_scale=0.5,
                              observation_noise=False, random_state=0, as_array=True)
    np.testing.assert_array_equal(a, b)
    c = fitted_model.generate(5, method="noisy_posterior", noise_scale=np.int64(1),
                              random_state=0, as_array=True)
    np.testing.assert_array_equal(c, fitted_model.generate(
        5, method="noisy_posterior", noise_scale=1, random_state=0, as_array=True))


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


def _training_residual_rms(model, frame) -> np.ndarray:
    """Per-feature RMS (scaled units) of the training windows about their decoded means."""
    import torch

    windows = model.scaled_windows(frame)
    with torch.inference_mode():
        mu, _ = model.vae_.encode(torch.from_numpy(windows))
        decoded = model.vae_.decode(mu).numpy()
    return np.sqrt(((windows - decoded) ** 2).mean(axis=(0, 1)))


@pytest.mark.parametrize("method", ["noisy_posterior", "aggregate"])
def test_fresh_samples_draw_from_the_likelihood(fitted_model, energy_small, method):
    """observation_noise=True draws every value from p(x | z): the windows differ from the
    decoded means by the size of what the decoder leaves unexplained, not by nothing and not
    by the data's whole range."""
    noisy = fitted_model.generate(4000, method=method, random_state=4, as_array=True)
    mean = fitted_model.generate(4000, method=method, random_state=4, as_array=True,
                                 observation_noise=False)
    spread = np.sqrt(((noisy - mean) ** 2).mean(axis=(0, 1))) / fitted_model.scaler_.scale_
    residual = _training_residual_rms(fitted_model, energy_small)
    assert spread.shape == (6,) and (spread > 0).all()
    # A tiny model, 8 epochs: measured ratios .45-1.0; a likelihood ignored (0) or blown up
    # (draws spanning the scaled range) fails.
    assert ((spread > residual / 4) & (spread < residual * 4)).all(), (spread, residual)
    # Same seed, same draws; another seed, other draws.
    np.testing.assert_array_equal(noisy, fitted_model.generate(
        4000, method=method, random_state=4, as_array=True))
    assert not np.array_equal(noisy, fitted_model.generate(
        4000, method=method, random_state=5, as_array=True))


@pytest.mark.parametrize("method", METHODS)
def test_every_method_draws_the_observation_model_by_default(fitted_model, method):
    """One rule for all methods (like with like): draws of p(x|z) unless
    observation_noise=False, which gives the decoded means (the same for every seed)."""
    noisy = fitted_model.generate(300, method=method, random_state=4, as_array=True)
    explicit = fitted_model.generate(300, method=method, random_state=4, as_array=True,
                                     observation_noise=True)
    mean = fitted_model.generate(300, method=method, random_state=4, as_array=True,
                                 observation_noise=False)
    np.testing.assert_array_equal(noisy, explicit)
    assert not np.array_equal(noisy, mean)
    assert (np.abs(noisy - mean).mean(axis=(0, 1)) > 0).all()
    frame = fitted_model.generate(5, method=method, random_state=4)
    assert frame.attrs["tsvae"]["observation_noise"] is True


def test_a_fixed_alpha_model_draws_with_its_fixed_scale(energy_small):
    """alpha * SSE is a Gaussian of standard deviation 1 / sqrt(2 alpha): a model trained
    with a number draws with that scale, whatever the head learned."""
    import torch

    from tsvae.nn.likelihood import fixed_scale

    model = tiny_model(max_epochs=1, alpha=20.0).fit(energy_small.iloc[:300])
    assert model.draw_scale == pytest.approx(fixed_scale(20.0)) == pytest.approx(0.158, abs=1e-3)
    assert tiny_model().draw_scale is None  # learned likelihood by default
    z = torch.zeros(2000, 3)
    with torch.inference_mode():
        fixed = model.vae_.decode(z, noise=True, generator=torch.Generator().manual_seed(0),
                                  scale=model.draw_scale)
        wider = model.vae_.decode(z, noise=True, generator=torch.Generator().manual_seed(0),
                                  scale=2 * model.draw_scale)
        mean = model.vae_.decode(z)
    # The innovations are scaled; the head's stationary AR carries them, so the deviation of
    # every value grows in proportion with the scale.
    np.testing.assert_allclose((wider - mean).numpy(), 2 * (fixed - mean).numpy(),
                               rtol=1e-4, atol=1e-5)
    first = (fixed - mean)[:, 0].numpy()  # the first step: the innovation alone
    np.testing.assert_allclose(first.std(axis=0), model.draw_scale, rtol=0.1)


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


def test_legacy_gaussian_observation_noise_without_pools_and_with_identical_features():
    """The residual process of model files of format 5 and older (loaded, never fitted)."""
    from tsvae.legacy.observation import ObservationNoise

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
    # Values are still put on each column's grid (Appliances and lights: tens), where a
    # difference of 1e-3 can move a value to the next multiple: allow one grid step there.
    steps = np.array([c.step or 0.0 for c in model.output_schema.columns])
    assert (np.abs(fast - exact).max(axis=(0, 1)) <= np.maximum(0.02 * span, steps)).all()


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

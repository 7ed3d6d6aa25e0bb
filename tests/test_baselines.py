import numpy as np
import pandas as pd
import pytest

import tsvae
from tsvae.baselines import VARBaseline


def _ar1(n=3000, phi=0.8, seed=0):
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 2))
    for t in range(1, n):
        x[t] = phi * x[t - 1] + rng.normal(size=2)
    return pd.DataFrame(x, columns=["a", "b"])


def test_var_recovers_the_coefficients_and_simulates():
    var = VARBaseline(lags=1).fit(_ar1())
    np.testing.assert_allclose(np.diag(var.coefs_[0]), 0.8, atol=0.03)
    windows = var.generate(2000, 24, random_state=0)
    lag1 = np.mean([np.corrcoef(w[:-1, 0], w[1:, 0])[0, 1] for w in windows])
    assert windows.shape == (2000, 24, 2) and 0.5 < lag1 < 0.9


@pytest.mark.parametrize("start", ["real", "gaussian"])
def test_var_on_windows_and_real_data(start):
    sines = tsvae.datasets.make_sines(500, random_state=0)
    out = VARBaseline(2, start=start).fit(sines).generate(50, 24, random_state=0)
    assert out.shape == (50, 24, 5) and np.isfinite(out).all()
    stocks = tsvae.datasets.load_stocks()
    out = VARBaseline(2, start=start).fit(stocks).generate(50, 24, random_state=0)
    assert np.isfinite(out).all()
    if start == "gaussian":  # fresh starts are not copies of real rows
        first = out[:, 0, :]
        real = stocks.to_numpy()
        assert np.min(np.abs(real[:, None, 0] - first[None, :, 0]), axis=0).max() > 0


def test_unknown_start():
    with pytest.raises(ValueError, match="start='x'"):
        VARBaseline(start="x")

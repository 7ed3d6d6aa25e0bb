import numpy as np
import pandas as pd
import pytest

from tsvae import datasets


@pytest.mark.parametrize(
    ("loader", "shape", "dated"),
    [
        (datasets.load_stocks, (3685, 6), False),
        (datasets.load_energy, (19734, 28), True),
        (datasets.load_air_quality, (9356, 13), True),
        (datasets.load_etth1, (17420, 7), True),
    ],
)
def test_loaders_return_real_frames(loader, shape, dated):
    frame = loader()
    assert frame.shape == shape
    assert all(pd.api.types.is_numeric_dtype(t) for t in frame.dtypes)
    assert isinstance(frame.index, pd.DatetimeIndex) == dated
    if dated:
        assert frame.index.is_monotonic_increasing and frame.index.is_unique


def test_energy_has_regular_ten_minute_steps():
    index = datasets.load_energy().index
    assert pd.infer_freq(index) == "10min"


def test_air_quality_keeps_real_gaps():
    frame = datasets.load_air_quality()
    assert frame["NMHC(GT)"].isna().mean() > 0.8
    assert (frame.fillna(0) != -200).all().all()


def test_sines_follow_timegan_definition():
    x = datasets.make_sines(200, length=24, n_features=5, random_state=0)
    assert x.shape == (200, 24, 5) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    # sin(f t + p) with f, p in [0, 0.1): the first step is sin(p) mapped to [0.5, 0.55].
    assert np.all((x[:, 0] >= 0.5) & (x[:, 0] <= 0.5 + np.sin(0.1) / 2 + 1e-6))
    np.testing.assert_array_equal(x, datasets.make_sines(200, random_state=0))
    assert not np.array_equal(x, datasets.make_sines(200, random_state=1))


def test_sines_reject_bad_sizes():
    with pytest.raises(ValueError, match="n_samples"):
        datasets.make_sines(0)


def test_provenance_is_shipped():
    assert "CC BY 4.0" in datasets.provenance()

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

import tsvae
from tests.conftest import tiny_model


def test_generate_frame_has_columns_units_and_order(fitted_model, energy_small):
    frame = fitted_model.generate(20, method="prior", random_state=1)
    assert list(frame.columns) == ["sample", "step", *energy_small.columns]
    assert len(frame) == 20 * 12
    assert frame["sample"].tolist() == list(np.repeat(np.arange(20), 12))
    assert frame["step"].tolist() == list(np.tile(np.arange(12), 20))
    # Original units: the synthetic means sit near the real ones, not near [0, 1].
    real_mean, synth_mean = energy_small.mean(), frame[energy_small.columns].mean()
    span = energy_small.max() - energy_small.min()
    assert (((synth_mean - real_mean).abs() / span) < 0.5).all()
    assert synth_mean["T1"] > 10  # degrees Celsius, not a scaled value


def test_generate_array_shape_and_determinism(fitted_model):
    for method in ("prior", "posterior"):
        a = fitted_model.generate(30, method=method, as_array=True, random_state=5)
        b = fitted_model.generate(30, method=method, as_array=True, random_state=5)
        c = fitted_model.generate(30, method=method, as_array=True, random_state=6)
        assert a.shape == (30, 12, 6)
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)


def test_same_seed_same_model(energy_small):
    first = tiny_model(max_epochs=1).fit(energy_small)
    second = tiny_model(max_epochs=1).fit(energy_small)
    np.testing.assert_array_equal(first.generate(5, as_array=True, random_state=0),
                                  second.generate(5, as_array=True, random_state=0))


def test_fit_leaves_the_input_unchanged(energy_small):
    frame = energy_small.copy()
    frame.iloc[5, 2] = np.nan
    before = frame.copy()
    tiny_model(max_epochs=1, missing="interpolate").fit(frame)
    pd.testing.assert_frame_equal(frame, before)


def test_save_load_round_trip(fitted_model, tmp_path):
    path = tmp_path / "energy.tsvae"
    fitted_model.save(path)
    loaded = tsvae.TimeSeriesVAE.load(path)
    assert loaded.get_params() == fitted_model.get_params()
    assert loaded.columns_ == fitted_model.columns_
    for method in ("prior", "aggregate"):  # fresh samples need no training codes
        np.testing.assert_array_equal(
            loaded.generate(7, method=method, as_array=True, random_state=3),
            fitted_model.generate(7, method=method, as_array=True, random_state=3),
        )
    kept = tmp_path / "kept.tsvae"
    fitted_model.save(kept, keep_training_data=True)
    loaded = tsvae.TimeSeriesVAE.load(kept)
    for method in ("prior", "posterior", "noisy_posterior", "aggregate"):
        np.testing.assert_array_equal(
            loaded.generate(7, method=method, as_array=True, random_state=3),
            fitted_model.generate(7, method=method, as_array=True, random_state=3),
        )


def test_get_set_params_and_clone():
    model = tsvae.TimeSeriesVAE(n_past=10, latent_dim=4)
    assert model.get_params()["latent_dim"] == 4
    model.set_params(latent_dim=6)
    copy = clone(model)
    assert copy.latent_dim == 6 and copy is not model
    assert not hasattr(copy, "vae_")


def test_fit_on_window_array():
    x = tsvae.datasets.make_sines(120, length=12, n_features=3, random_state=0)
    model = tiny_model().fit(x)
    out = model.generate(4, as_array=True, random_state=0)
    assert out.shape == (4, 12, 3)
    assert model.columns_ == ["feature_0", "feature_1", "feature_2"]


def test_encode_and_reconstruct(fitted_model, energy_small):
    mu, log_var = fitted_model.encode(energy_small.iloc[:40])
    assert mu.shape == log_var.shape == (40 - 12 + 1, 3)
    rec = fitted_model.reconstruct(energy_small.iloc[:40], as_array=True)
    assert rec.shape == (29, 12, 6)


def test_panel_fit_by_id_col():
    base = tsvae.datasets.load_etth1().iloc[:400].reset_index()
    panel = pd.concat([base.iloc[:200].assign(site="a"), base.iloc[200:].assign(site="b")])
    model = tiny_model(max_epochs=1).fit(panel, time_col="date", id_col="site")
    frame = model.generate(6, method="posterior", random_state=0)
    assert set(frame["site"]) <= {"a", "b"} and list(frame.columns[:3]) == ["sample", "step",
                                                                           "site"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"architecture": "transformer"}, "architecture='transformer'"),
        ({"n_past": 0}, "n_past must be a positive integer"),
        ({"scaler": "robust"}, "scaler='robust'"),
        ({"learning_rate": -1.0}, "learning_rate"),
    ],
)
def test_bad_parameters_fail_at_fit(kwargs, match, energy_small):
    with pytest.raises(ValueError, match=match):
        tiny_model(**kwargs).fit(energy_small)


def test_too_short_series_says_how_many_rows(energy_small):
    with pytest.raises(ValueError, match="needs 12"):
        tiny_model().fit(energy_small.iloc[:8])


def test_generate_errors(fitted_model):
    with pytest.raises(NotFittedError, match="not fitted"):
        tsvae.TimeSeriesVAE().generate(5)
    with pytest.raises(ValueError, match="method='magic'"):
        fitted_model.generate(5, method="magic")
    for bad in (0, -3, 2.5):
        with pytest.raises(ValueError, match="n must be a positive integer"):
            fitted_model.generate(bad)


def test_loading_bad_files(tmp_path, fitted_model):
    not_model = tmp_path / "data.csv"
    not_model.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="not a tsvae model"):
        tsvae.TimeSeriesVAE.load(not_model)
    good = tmp_path / "m.tsvae"
    fitted_model.save(good)
    truncated = tmp_path / "t.tsvae"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ValueError, match="tsvae model|corrupted|truncated"):
        tsvae.TimeSeriesVAE.load(truncated)
    with pytest.raises(ValueError, match="No model file"):
        tsvae.TimeSeriesVAE.load(tmp_path / "missing.tsvae")


def test_identical_columns_are_modelled_once_and_stay_identical():
    stocks = tsvae.datasets.load_stocks().iloc[:400]
    assert (stocks["Close"] == stocks["Adj_Close"]).all()
    model = tiny_model(max_epochs=1).fit(stocks)
    assert model.n_model_features == 5 and model.n_features_ == 6
    for method in ("prior", "posterior", "aggregate"):
        out = model.generate(20, method=method, random_state=0)
        assert list(out.columns[2:]) == list(stocks.columns)
        np.testing.assert_array_equal(out["Close"], out["Adj_Close"])
    mu, _ = model.encode(stocks.iloc[:30])
    assert mu.shape == (30 - 12 + 1, 3)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_fit_on_a_file_path_equals_fit_on_the_frame(tmp_path, energy_small, suffix):
    path = tmp_path / f"energy{suffix}"
    table = energy_small.reset_index()
    table.to_parquet(path) if suffix == ".parquet" else table.to_csv(path, index=False)
    from_file = tiny_model().fit(str(path), time_col="date")
    from_frame = tiny_model().fit(energy_small)
    assert from_file.columns_ == list(energy_small.columns)
    assert from_file.freq_ == from_frame.freq_
    np.testing.assert_allclose(from_file.generate(50, as_array=True, random_state=0),
                               from_frame.generate(50, as_array=True, random_state=0),
                               rtol=1e-5, atol=1e-4)


def test_an_unnamed_index_pandas_stored_in_parquet_is_the_index_not_a_feature(tmp_path):
    """``df[mask].to_parquet(path)`` stores the row labels as ``__index_level_0__``: fit(path)
    trained on it as a feature (and generated it) where pandas reads it back as the index."""
    import tsvae.io

    frame = pd.DataFrame({"a": np.sin(np.arange(120) / 3), "b": np.cos(np.arange(120) / 5)})
    kept = frame[frame.index % 7 != 0]
    stamped = frame.set_axis(pd.date_range("2024-01-01", periods=120, freq="h"))
    for name, table in (("kept", kept), ("stamped", stamped), ("from5", frame.iloc[5:])):
        path = tmp_path / f"{name}.parquet"
        table.to_parquet(path)
        pd.testing.assert_frame_equal(tsvae.io.read_table(path), pd.read_parquet(path),
                                      check_exact=True)
        read, (rows, names) = tsvae.io.read_training_table(path)
        assert list(read.columns) == names == ["a", "b"] and read.index.equals(table.index)
    model = tiny_model(n_past=8, max_epochs=1).fit(tmp_path / "kept.parquet")
    assert model.columns_ == ["a", "b"]
    assert list(model.generate(2, random_state=0).columns) == ["sample", "step", "a", "b"]
    assert tiny_model(n_past=8, max_epochs=1).fit(tmp_path / "stamped.parquet").freq_ == "h"


def test_fit_on_a_missing_file_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="No such file"):
        tiny_model().fit(tmp_path / "nothing.parquet")
    with pytest.raises(ValueError, match="unsupported format"):
        tiny_model().fit(str(tmp_path / "data.xlsx"))

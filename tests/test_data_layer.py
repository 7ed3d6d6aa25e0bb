import numpy as np
import pandas as pd
import pytest

from tsvae.data import (
    MinMaxScaler,
    StandardScaler,
    sliding_windows,
    split_window_starts,
    validate_frame,
)
from tsvae.data.datamodule import WindowDataset


def test_windows_are_views_of_the_base_array():
    base = np.random.default_rng(0).normal(size=(500, 4)).astype(np.float32)
    windows = sliding_windows(base, 24, stride=3)
    assert np.shares_memory(windows, base)
    assert windows.shape == ((500 - 24) // 3 + 1, 24, 4)
    np.testing.assert_array_equal(windows[5], base[15:39])


def test_dataset_items_are_slices_of_one_tensor():
    import torch

    values = torch.arange(200.0).reshape(100, 2)
    ds = WindowDataset(values, np.array([0, 10, 50]), 8)
    assert ds[1].data_ptr() == values[10].data_ptr()  # a view, not a copy
    batch = ds.__getitems__([0, 2])
    torch.testing.assert_close(batch[1], values[50:58])


@pytest.mark.parametrize("stride", [1, 5])
def test_no_window_crosses_split_or_series(stride):
    bounds = [(0, 300), (300, 420), (420, 1000)]
    length = 24
    split = split_window_starts(bounds, length, stride=stride, val_fraction=0.2)
    cuts = [(a, b - int(round((b - a) * 0.2))) for a, b in bounds]
    for start in split.train_starts:
        assert any(a <= start and start + length <= cut for a, cut in cuts)
    for start in split.val_starts:
        assert any(cut <= start and start + length <= b for (_, cut), (_, b) in
                   zip(cuts, bounds, strict=True))
    assert split.train_bounds == cuts


@pytest.mark.parametrize("scaler_cls", [MinMaxScaler, StandardScaler])
def test_scaler_round_trip_and_constant_columns(scaler_cls):
    rng = np.random.default_rng(1)
    x = np.column_stack([rng.normal(50, 10, 300), np.full(300, 7.0), rng.uniform(-1, 1, 300)])
    scaler = scaler_cls().fit([x[:200]])
    scaled = scaler.transform(x.astype(np.float64))
    assert np.isfinite(scaled).all()
    np.testing.assert_allclose(scaler.inverse_transform(scaled), x, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(scaled[:, 1], 0.0)


def test_minmax_is_fitted_on_training_rows_only():
    x = np.arange(10.0).reshape(-1, 1)
    scaler = MinMaxScaler().fit([x[:5]])
    assert scaler.transform(x)[4, 0] == 1.0 and scaler.transform(x)[9, 0] > 1.0


def _frame(n=50):
    return pd.DataFrame({"a": np.arange(n, dtype=float), "b": np.sin(np.arange(n))},
                        index=pd.date_range("2024-01-01", periods=n, freq="h"))


@pytest.mark.parametrize(
    ("make", "kwargs", "error", "match"),
    [
        (lambda f: f.iloc[:0], {}, ValueError, "empty"),
        (lambda f: f.assign(a="x", b="y"), {}, ValueError, "no numeric columns"),
        (lambda f: f.assign(c="text"), {}, TypeError, "'c' is not numeric.*columns="),
        (lambda f: f.assign(a=np.where(f.a > 3, np.nan, f.a)), {}, ValueError,
         "missing value.*interpolate"),
        (lambda f: f.assign(a=np.where(f.a > 3, np.inf, f.a)), {}, ValueError, "infinite"),
        (lambda f: f.assign(a=np.where(f.a > 3, 1.7e308, -1.7e308)), {"affine": "fit"},
         ValueError,
         r"'a' spans from -1.7e\+308 to 1.7e\+308, a range wider than float64"),
        (lambda f: f.iloc[:5], {"min_length": 12}, ValueError, "needs 12"),
        (lambda f: pd.concat([f.iloc[:3], f.iloc[2:]]), {}, ValueError, "Duplicate timestamp"),
        (lambda f: f.iloc[::-1], {}, ValueError, "not sorted"),
        (lambda f: f, {"columns": ["zzz"]}, ValueError, "'zzz' is not in the frame"),
        (lambda f: f, {"missing": "bogus"}, ValueError, "missing='bogus'"),
        (lambda f: f.reset_index(), {"time_col": "when"}, ValueError, "time_col='when'"),
    ],
)
def test_bad_frames_get_clear_errors(make, kwargs, error, match):
    frame = make(_frame())
    before = frame.copy()
    with pytest.raises(error, match=match):
        validate_frame(frame, **kwargs)
    pd.testing.assert_frame_equal(frame, before)


def test_not_a_frame_is_a_type_error():
    with pytest.raises(TypeError, match="DataFrame"):
        validate_frame([[1, 2], [3, 4]])


@pytest.mark.parametrize("missing", ["interpolate", "ffill", "drop"])
def test_missing_policies_fill_without_touching_input(missing):
    frame = _frame()
    frame.iloc[[3, 10], 0] = np.nan
    before = frame.copy()
    data = validate_frame(frame, missing=missing)
    assert np.isfinite(data.values).all()
    assert len(data.values) == (48 if missing == "drop" else 50)
    pd.testing.assert_frame_equal(frame, before)
    if missing == "interpolate":
        assert data.values[3, 0] == pytest.approx(3.0)


def test_panel_frame_is_split_by_id_and_time_col():
    rows = []
    for sid, n in (("x", 30), ("y", 40)):
        rows.append(pd.DataFrame({"id": sid, "t": pd.date_range("2024", periods=n, freq="D"),
                                  "v": np.arange(n, dtype=float)}))
    frame = pd.concat(rows, ignore_index=True)
    data = validate_frame(frame, time_col="t", id_col="id")
    assert data.columns == ["v"] and data.series_ids == ["x", "y"]
    assert data.bounds == [(0, 30), (30, 70)] and data.freq == "D"


def test_validated_values_never_alias_user_data():
    frame = pd.DataFrame({"a": np.arange(20, dtype=np.float32)})
    data = validate_frame(frame)
    data.values[:] = -1
    assert frame["a"].iloc[0] == 0

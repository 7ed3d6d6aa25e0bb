"""Synthetic output keeps the user's schema: precision, bounds and types, names, time zones,
and the validity checks of ``evaluate``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import tiny_model

import tsvae
from tsvae.data.long_format import is_long_format

METHODS = ("prior", "posterior", "noisy_posterior", "aggregate")


def _sines(n: int = 600) -> np.ndarray:
    return np.sin(np.arange(n) / 3)


def test_large_offsets_and_tiny_ranges_keep_their_spread_and_constants_stay_exact():
    t = np.arange(600)
    df = pd.DataFrame({"big": 1e12 + np.sin(t / 3), "tiny": 1e-8 * np.sin(t / 3 + 1),
                       "const": np.full(600, 1e-6), "three": np.full(600, 3.5),
                       "plain": np.sin(t / 3 + 2)})
    model = tiny_model(max_epochs=20, learning_rate=1e-2).fit(df)
    real_std = {"big": (df["big"] - 1e12).std(), "tiny": df["tiny"].std()}
    # The spread is the tiny network's own (within 25%); what fails without float64 scaling is
    # precision: a 1e12 offset in float32 moves in steps of 65,536 and a 1e-8 range collapses,
    # off by orders of magnitude.
    for method in ("aggregate", "posterior"):
        out = model.generate(500, method=method, random_state=0)
        assert (out["big"] - 1e12).std() == pytest.approx(real_std["big"], rel=0.25)
        assert out["tiny"].std() == pytest.approx(real_std["tiny"], rel=0.25)
    outputs = [model.generate(20, method=m, random_state=0, as_array=True)[..., 2:4]
               for m in METHODS]
    outputs.append(model.reconstruct(df, as_array=True)[..., 2:4])
    for out in outputs:
        assert (out[..., 0] == 1e-6).all() and (out[..., 1] == 3.5).all()
    series = tiny_model(n_future=4, max_epochs=1).fit(df).generate_series(10, random_state=0)
    assert (series["const"] == 1e-6).all() and (series["three"] == 3.5).all()
    # Only values beyond float32's range once scaled are refused.
    huge = pd.DataFrame({"x": 1e39 * (1 + _sines(100))})
    tiny_model(max_epochs=1).fit(huge)


def test_bounds_integers_bools_and_levels_are_restored_and_switchable():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"load": np.abs(_sines()) * 50 + rng.random(600),
                       "count": rng.poisson(3, 600),
                       "flag": rng.random(600) > 0.5,
                       "level": rng.choice([0, 10, 20, 30], 600).astype(float),
                       "nullable": pd.array(rng.integers(0, 40, 600), dtype="Int64")})
    model = tiny_model(max_epochs=2).fit(df)
    for method in METHODS:
        out = model.generate(30, method=method, random_state=0)
        assert out["load"].between(df["load"].min(), df["load"].max()).all()
        assert out["count"].dtype == np.int64 and out["flag"].dtype == bool
        assert str(out["nullable"].dtype) == "Int64"
        assert set(out["level"]) <= {0.0, 10.0, 20.0, 30.0}
        array = model.generate(30, method=method, random_state=0, as_array=True)
        assert array.dtype == np.float64 and (array[..., 1] == np.round(array[..., 1])).all()
    assert set(model.reconstruct(df)["level"]) <= {0.0, 10.0, 20.0, 30.0}
    raw = model.set_params(enforce_bounds=False, enforce_types=False, snap_discrete=False)
    out = raw.generate(30, random_state=0)
    assert out["count"].dtype == np.float64 and not set(out["level"]) <= {0, 10, 20, 30}


@pytest.mark.parametrize("name", ["sample", "step"])
def test_reserved_names_are_refused_and_names_keep_their_type(name):
    with pytest.raises(ValueError, match=f"'{name}'.*rename"):
        tiny_model(max_epochs=1).fit(pd.DataFrame({name: _sines(100), "x": _sines(100)}))
    df = pd.DataFrame({0: _sines(200), 1: np.cos(np.arange(200) / 4)})
    model = tiny_model(max_epochs=1).fit(df)
    out = model.generate(4, random_state=0)
    assert list(out.columns) == ["sample", "step", 0, 1]
    for x in (df, out, model.generate(4, random_state=0, layout="multiindex")):
        assert len(model.generate(method="posterior", x=x, random_state=0))
        assert len(model.reconstruct(x)) and len(model.encode(x)[0])
    multi = model.generate(4, random_state=0, layout="multiindex")
    assert multi.index.names == ["sample", "step"] and list(multi.columns) == [0, 1]
    assert is_long_format(multi)
    report = tsvae.evaluate(df, model.generate(20, random_state=1, layout="multiindex"),
                            n_past=12, checks=["boundary_adherence"], plots_in_report=False)
    assert list(report.table["feature"]) == ["0", "1"]


def test_time_zone_survives_save_load_and_windows_can_be_dated(tmp_path):
    index = pd.date_range("2024-03-30", periods=200, freq="h", tz="Europe/Berlin")
    df = pd.DataFrame({"y": _sines(200)}, index=index)
    model = tiny_model(max_epochs=1).fit(df)
    model.save(tmp_path / "m.tsvae")
    loaded = tsvae.TimeSeriesVAE.load(tmp_path / "m.tsvae")
    assert str(loaded.last_index_[0].tz) == "Europe/Berlin"
    out = loaded.generate(2, random_state=0, start="2024-03-31 00:00")
    stamps = out.loc[out["sample"] == 0, "timestamp"]
    assert stamps.iloc[0] == pd.Timestamp("2024-03-31 00:00", tz="Europe/Berlin")
    assert stamps.iloc[3] == pd.Timestamp("2024-03-31 04:00", tz="Europe/Berlin")  # DST
    with pytest.raises(ValueError, match="regular timestamps"):
        tiny_model(max_epochs=1).fit(df.reset_index(drop=True)).generate(2, start="2024-01-01")


def test_validity_checks_score_out_of_range_and_off_level_values():
    rng = np.random.default_rng(0)
    real = np.stack([rng.random((200, 12)), rng.choice([0.0, 10.0, 20.0], (200, 12))], axis=2)
    bad = real + rng.normal(0, 0.3, real.shape)
    good = report = None
    for synth in (real[::-1].copy(), bad):
        report = tsvae.evaluate(real, synth, checks=["validity"], plots_in_report=False)
        good = report if good is None else good
    assert good.table["passed"].all() and (good.table["real_value"] == 1.0).all()
    assert not report.table["passed"].any()
    assert set(report.table["check"]) == {"boundary_adherence", "discrete_adherence"}
    assert "validity" in report.to_markdown()


def test_energy_output_has_no_negative_load_and_lights_on_their_levels(energy_small):
    model = tiny_model(max_epochs=2).fit(energy_small)
    levels = set(energy_small["lights"].unique())
    for method in ("prior", "aggregate"):
        out = model.generate(50, method=method, random_state=0)
        assert (out["Appliances"] >= 0).all() and (out["lights"] >= 0).all()
        assert set(out["lights"]) <= levels
        assert out["lights"].dtype == energy_small["lights"].dtype


# ----------------------------------------------------------------- the data's grid
def test_each_column_resolution_is_detected_at_fit():
    from tsvae.data.schema import OutputSchema

    frame = pd.DataFrame({"load": [30, 50, 1080, 60] * 10,            # multiples of 10
                          "temp": [19.32, 19.5, 21.01, 20.0] * 10,    # two decimals
                          "ratio": np.linspace(0, 1, 40) ** 2})       # no grid
    schema = OutputSchema.from_frame(frame, list(frame.columns))
    grid = {c.name: (c.step, c.decimals) for c in schema.columns}
    assert grid == {"load": (10.0, 0), "temp": (0.01, 2), "ratio": (None, None)}


def test_resolution_reads_long_columns_in_chunks_and_one_off_grid_value_anywhere_counts():
    from tsvae.data.schema import _RESOLUTION_CHUNK, resolution

    n = 2 * _RESOLUTION_CHUNK + 17  # three chunks, the last one short
    tens = (np.arange(n) % 50 * 10.0).astype(np.float32)
    tens[5] = np.nan
    assert resolution(tens) == (10.0, 0)
    tens[-1] = 15.0  # one value off the grid of ten, in the last chunk: the grid is then five
    assert resolution(tens) == (5.0, 0)
    tens[-1] = 15.25
    assert resolution(tens) == (0.25, 2)
    assert resolution(np.full(n, np.nan)) == (None, None)
    assert resolution(np.arange(n, dtype=np.int64) * 3) == (3.0, 0)


def test_an_int64_column_holding_its_minimum_has_no_grid_and_its_model_saves(tmp_path):
    from tsvae.data.schema import resolution

    smallest = np.iinfo(np.int64).min  # abs() of it overflows back to itself in int64
    assert resolution(np.array([smallest, 0, 10])) == (None, None)
    assert resolution(np.array([smallest, 5])) == (None, None)
    frame = pd.DataFrame({"flag": np.zeros(100, dtype=np.int64), "v": _sines(100)})
    frame.loc[5, "flag"] = smallest
    model = tiny_model(n_past=8, max_epochs=1).fit(frame)
    assert (model.output_schema.columns[0].step, model.output_schema.columns[0].decimals) == (
        None, None)
    model.save(tmp_path / "m.tsvae")  # refused before: "step -9.223372036854776e+18"
    assert tsvae.TimeSeriesVAE.load(tmp_path / "m.tsvae").output_schema.columns[0].step is None


def test_output_is_put_on_each_columns_grid_and_the_switch_turns_it_off():
    from tsvae.data.schema import OutputSchema

    frame = pd.DataFrame({"load": np.arange(40) * 10, "temp": np.round(
        np.linspace(15, 25, 40), 2)})
    schema = OutputSchema.from_frame(frame, ["load", "temp"])
    raw = np.array([[34.9, 19.320138778686523], [376.0, 24.999]])
    out = schema.restore(raw.copy())
    assert out.tolist() == [[30.0, 19.32], [380.0, 25.0]]
    untouched = schema.restore(raw.copy(), resolution=False, types=False)
    assert untouched.tolist() == raw.tolist()


def test_schema_dicts_keep_the_grid_and_older_dicts_load_without_one():
    from tsvae.data.schema import OutputSchema

    schema = OutputSchema.from_frame(pd.DataFrame({"v": np.arange(40) * 0.25}), ["v"])
    state = schema.to_dict()
    assert (state["columns"][0]["step"], state["columns"][0]["decimals"]) == (0.25, 2)
    assert OutputSchema.from_dict(state).restore(np.array([[0.3]])).tolist() == [[0.25]]
    older = {"columns": [{k: v for k, v in state["columns"][0].items()
                          if k not in ("step", "decimals")}]}
    assert OutputSchema.from_dict(older).restore(np.array([[0.3]])).tolist() == [[0.3]]
    older["columns"][0].update(step=-1.0, decimals=2)
    with pytest.raises(ValueError, match=r"schema.columns\[0\]: step -1.0"):
        OutputSchema.from_dict(older)


def test_energy_appliances_come_out_in_tens_and_csv_writes_the_columns_digits(energy_small,
                                                                               tmp_path):
    from tsvae.io import write_table

    frame = energy_small.copy()
    frame["T1"] = frame["T1"].round(2)
    model = tiny_model(max_epochs=1).fit(frame)
    out = model.generate(40, method="prior", random_state=0)
    assert (out["Appliances"] % 10 == 0).mean() == 1.0
    model.save(tmp_path / "m.tsvae")
    loaded = tsvae.TimeSeriesVAE.load(tmp_path / "m.tsvae")
    assert loaded.output_schema.columns[0].step == 10.0
    assert (loaded.generate(40, random_state=1)["Appliances"] % 10 == 0).all()
    path = tmp_path / "synth.csv"
    write_table(out, path)
    text = pd.read_csv(path, dtype=str)
    decimals = text["T1"].str.partition(".")[2].str.len()
    assert decimals.max() <= 2

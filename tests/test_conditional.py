"""Conditional generation: a CVAE on labels and static attributes."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tsvae
from tests.conftest import tiny_model

STEPS = 24


def two_class_sines(n_per_class: int, seed: int = 0):
    """Windows of 2 sines: class "slow" (0.1-0.25 rad/step) or "fast" (0.6-0.8), shuffled."""
    rng = np.random.default_rng(seed)
    t = np.arange(STEPS)

    def sines(lo, hi):
        freq = rng.uniform(lo, hi, (n_per_class, 1, 2))
        phase = rng.uniform(0, 2 * np.pi, (n_per_class, 1, 2))
        return np.sin(freq * t[None, :, None] + phase)

    x = np.concatenate([sines(0.1, 0.25), sines(0.6, 0.8)])
    y = np.array(["slow"] * n_per_class + ["fast"] * n_per_class)
    order = rng.permutation(len(x))
    return x[order], y[order]


def dominant_frequency_bin(windows: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(windows - windows.mean(axis=1, keepdims=True), axis=1))
    return float(np.median(spectrum.mean(axis=2).argmax(axis=1)))


def as_long(windows: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    n = len(windows)
    return pd.DataFrame({"sample": np.repeat(np.arange(n), STEPS),
                         "step": np.tile(np.arange(STEPS), n),
                         "feature_0": windows[:, :, 0].ravel(),
                         "feature_1": windows[:, :, 1].ravel(),
                         "condition": np.repeat(labels, STEPS)})


@pytest.fixture(scope="module")
def sines_data():
    return two_class_sines(800)


@pytest.fixture(scope="module", params=["lstm", "conv"])
def sines_model(request, sines_data):
    x, y = sines_data
    # Noiseless curves: head_lags=0, as the docs advise. With autoregressive deviations the
    # head predicts a pure sine exactly from its two previous values, the code need not carry
    # it, and draws (which start the deviations at zero) lose the frequency: the fast class
    # comes back at frequency bin 2 instead of 3 (docs/concepts.md).
    return tsvae.TimeSeriesVAE(
        n_past=STEPS, architecture=request.param, max_epochs=30, batch_size=64,
        learning_rate=3e-3, head_lags=0, progress_bar=False, random_state=0,
        trainer_kwargs={"accelerator": "cpu"}).fit(x, conditions=y)


@pytest.mark.parametrize("method", ["prior", "aggregate", "posterior", "noisy_posterior"])
def test_windows_carry_their_class_frequency(sines_model, sines_data, method):
    x, y = sines_data
    real = {c: dominant_frequency_bin(x[y == c]) for c in ("slow", "fast")}
    assert real["slow"] < real["fast"]
    for label in ("slow", "fast"):
        windows = sines_model.generate(300, method=method, conditions={"condition": label},
                                       random_state=0, as_array=True)
        assert dominant_frequency_bin(windows) == real[label]


def test_condition_fidelity_is_near_the_real_holdout_accuracy(sines_model, sines_data):
    x, y = sines_data
    wanted = pd.DataFrame({"condition": ["slow"] * 300 + ["fast"] * 300})
    synthetic = sines_model.generate(method="aggregate", conditions=wanted, random_state=1)
    assert len(synthetic) == 600 * STEPS
    assert list(synthetic.groupby("sample")["condition"].first()) == list(wanted["condition"])
    report = tsvae.evaluate(as_long(x, y), synthetic, by="condition", checks=["marginal"],
                            plots_in_report=False)
    fidelity = report.fidelity
    assert fidelity["real_holdout_accuracy"] > 0.9
    # 0.2, not tighter: with one noise model per class, lstm scores 0.85 to 0.88 (pooled
    # noise: 0.83 to 0.86), conv 0.82 to 0.86 (pooled: the same), against 1.0 here.
    assert fidelity["synthetic_accuracy"] > fidelity["real_holdout_accuracy"] - 0.2
    assert set(report.table["condition"]) == {"slow", "fast"}
    # The fast class is the harder one: 0.67 to 0.83 over seeds, methods and both
    # architectures (slow: 0.87 to 0.99), pooled or per-condition noise; 0.75 and 0.78 here.
    assert report.table["condition_accuracy"].min() > 0.68
    # Mislabelled synthetic windows are caught: swap the labels.
    swapped = synthetic.assign(condition=synthetic["condition"].map({"slow": "fast",
                                                                      "fast": "slow"}))
    wrong = tsvae.evaluate(as_long(x, y), swapped, by="condition", checks=["marginal"],
                           plots_in_report=False)
    assert wrong.fidelity["synthetic_accuracy"] < 0.2


def test_categorical_condition_round_trips_through_save_and_load(sines_model, tmp_path):
    path = tmp_path / "cvae.tsvae"
    sines_model.save(path)
    loaded = tsvae.TimeSeriesVAE.load(path)
    assert loaded.condition_encoder_.categories == {"condition": ["fast", "slow"]}
    # Saved without the training codes, the fresh-sample methods still draw as fitted: the
    # prior as it is, aggregate from the mixture of that class's codes (a latent summary).
    for method in ("prior", "aggregate"):
        np.testing.assert_allclose(
            loaded.generate(20, method=method, conditions={"condition": "fast"},
                            random_state=3, as_array=True),
            sines_model.generate(20, method=method, conditions={"condition": "fast"},
                                 random_state=3, as_array=True), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="keep_training_data=True"):
        loaded.generate(5, method="posterior", conditions={"condition": "fast"})
    sines_model.save(tmp_path / "kept.tsvae", keep_training_data=True)
    kept = tsvae.TimeSeriesVAE.load(tmp_path / "kept.tsvae")
    for method in ("prior", "aggregate", "posterior"):
        np.testing.assert_allclose(
            kept.generate(20, method=method, conditions={"condition": "fast"},
                          random_state=3, as_array=True),
            sines_model.generate(20, method=method, conditions={"condition": "fast"},
                                 random_state=3, as_array=True), rtol=1e-5, atol=1e-5)


def test_per_class_mixtures_are_saved_as_summaries_and_checked(sines_model, tmp_path):
    import json
    import zipfile

    from tests.test_model_files import INVALID, array_names, refused, rewrite

    path = tmp_path / "cvae.tsvae"
    sines_model.save(path)
    assert array_names(path) == set()  # no codes, no conditions of training windows
    meta = json.loads(zipfile.ZipFile(path).read("model.json"))
    mixtures = meta["condition_mixtures"]
    assert len(mixtures) == 2 and all(len(m["condition"]) == 2 for m in mixtures)
    shifted = rewrite(path, tmp_path / "shape.tsvae", meta=lambda m: m["condition_mixtures"][1][
        "mixture"].update(means=[[0.0]]))
    refused(shifted, INVALID, "condition_mixtures[1].mixture.means")
    short = rewrite(path, tmp_path / "short.tsvae", meta=lambda m: m["condition_mixtures"][0]
                    .update(condition=[1.0]))
    refused(short, INVALID, "condition_mixtures[0].condition")
    many = rewrite(path, tmp_path / "many.tsvae", meta=lambda m: m.update(
        condition_mixtures=m["condition_mixtures"] * 40))
    refused(many, INVALID, "condition_mixtures must be a list of at most 64 entries")


def test_continuous_conditions_generate(energy_small):
    """Every window its own condition value: no per-value mixture, the overall one."""
    frame = energy_small.iloc[:400].assign(level=np.arange(400) // 12 * 0.5)
    model = tiny_model(max_epochs=1).fit(frame, condition_cols=["level"])
    assert model.generate(4, conditions={"level": 1.0}, random_state=0,
                          as_array=True).shape == (4, 12, 6)


FORMAT_5 = Path(__file__).parent / "data" / "format5_conditional.tsvae"


def test_format_5_conditional_file_generates_what_it_generated():
    """Per-class residual processes and mean maps of a format-5 file (tests/data/README.md)
    still apply to their class's windows, exactly as the format-5 code applied them."""
    model = tsvae.TimeSeriesVAE.load(FORMAT_5)
    assert len(model.legacy_.noise.models) == 2 and len(model.legacy_.mean_calibration.maps) == 2
    expected = np.loadtxt(FORMAT_5.with_name("format5_conditional_windows.csv"), delimiter=",")
    rows = []
    for method, noise in [("prior", False), ("aggregate", True), ("posterior", True)]:
        for label in ("slow", "fast"):
            windows = model.generate(2, method=method, conditions={"condition": label},
                                     random_state=0, as_array=True, observation_noise=noise)
            rows.append(windows.reshape(2, -1))
    np.testing.assert_allclose(np.concatenate(rows), expected, rtol=1e-6, atol=1e-7)


def test_tampered_per_class_maps_are_refused(tmp_path):
    from tests.test_model_files import INVALID, refused, rewrite

    missing = rewrite(FORMAT_5, tmp_path / "missing.tsvae",
                      arrays=lambda a: a.pop("mean_calibration_group1_bias"))
    refused(missing, INVALID, "mean_calibration_group1_bias is missing")
    both = rewrite(FORMAT_5, tmp_path / "both.tsvae", arrays=lambda a: a.update(
        mean_calibration_weight=a["mean_calibration_group0_weight"],
        mean_calibration_bias=a["mean_calibration_group0_bias"]))
    refused(both, INVALID, "mean_calibration_weight is stored beside per-condition maps")
    wrong = rewrite(FORMAT_5, tmp_path / "wrong.tsvae", arrays=lambda a: a.update(
        mean_calibration_group0_weight=a["mean_calibration_group0_weight"][:, :3].copy()))
    refused(wrong, INVALID, "mean_calibration_group0_weight")
    unconditioned = rewrite(FORMAT_5, tmp_path / "keys.tsvae", arrays=lambda a: a.update(
        mean_calibration_group_keys=np.zeros((40, 2), np.float32)))
    refused(unconditioned, INVALID, "holds 40 condition values; 1 to 32 are possible")


def test_bad_condition_input_is_named(sines_model):
    with pytest.raises(ValueError, match=r"allowed values: \['fast', 'slow'\]"):
        sines_model.generate(5, conditions={"condition": "medium"})
    with pytest.raises(ValueError, match="lack column 'condition'"):
        sines_model.generate(5, conditions={"colour": "red"})
    with pytest.raises(ValueError, match="is conditional: pass conditions"):
        sines_model.generate(5)
    with pytest.raises(ValueError, match="one row per window"):
        sines_model.generate(5, conditions=pd.DataFrame({"condition": ["fast"] * 3}))
    with pytest.raises(TypeError, match="dict"):
        sines_model.generate(5, conditions=["fast"])


def test_unconditioned_model_refuses_conditions(fitted_model):
    with pytest.raises(ValueError, match="fitted without conditions"):
        fitted_model.generate(5, conditions={"site": "A"})


def test_frame_with_static_attribute_and_label(energy_small):
    # Two sites (a static attribute per series) and a per-row label (day or night).
    frame = energy_small.iloc[:, :3].copy()
    panel = pd.concat([frame.assign(site="A"), (frame * 1.5).assign(site="B")])
    panel["night"] = (panel.index.hour < 6) | (panel.index.hour >= 22)
    panel = panel.reset_index()
    model = tiny_model(n_future=4).fit(panel, id_col="site", time_col="date",
                                       condition_cols=["site", "night"])
    assert model.columns_ == list(frame.columns)
    assert model.condition_encoder_.columns == ["site", "night"]
    out = model.generate(40, conditions={"site": "B", "night": False}, random_state=0)
    assert set(out["site"]) == {"B"} and set(out["night"]) == {False}
    assert out["night"].dtype == bool  # a condition keeps its dtype
    series = model.generate_series(12, conditions={"site": "A", "night": True},
                                   random_state=0)
    assert len(series) == 2 * 12 and set(series["night"]) == {True}
    assert series["night"].dtype == bool
    mine = model.generate(10, method="posterior", random_state=0)
    assert set(mine["site"]) <= {"A", "B"}
    with pytest.raises(ValueError, match="Condition column 'colour' is not in the frame"):
        tiny_model().fit(panel, id_col="site", time_col="date", condition_cols=["colour"])


def test_compare_methods_for_one_condition(sines_model, sines_data):
    x, y = sines_data
    result = tsvae.compare_methods(sines_model, x[y == "fast"], methods=("prior", "posterior"),
                                   n=200, conditions={"condition": "fast"}, checks=["ks"],
                                   plots_in_report=False)
    assert list(result.table.columns) == ["prior", "posterior"]
    assert result.table.loc["ks_mean"].max() < 0.3


#: Numeric (float) condition values per series: 0.0 decodes to -1.19e-07 and 0.1 to
#: 0.0999999 through a float32 standardised code.
LEVELS = [0.0, 0.1, 2.5, 7.3]


@pytest.fixture(scope="module")
def numeric_condition_frames():
    rng = np.random.default_rng(0)
    frame = pd.concat([pd.DataFrame({"unit": unit, "x": rng.normal(size=30), "level": level})
                       for unit, level in enumerate(LEVELS * 2)], ignore_index=True)
    return frame, frame.astype({"level": "float32"})


def test_numeric_condition_comes_back_exactly_as_asked(numeric_condition_frames, tmp_path):
    """The condition column of the output holds the value asked for, in the training
    column's dtype (not it plus float32 error), after a save and load too; drawn from the
    training windows (posterior), the values the training data had."""
    frame, _ = numeric_condition_frames
    model = tiny_model(n_past=6, max_epochs=1, hidden_size=8, latent_dim=2).fit(
        frame, id_col="unit", condition_cols=["level"])
    model.save(tmp_path / "level.tsvae", keep_training_data=True)
    loaded = tsvae.TimeSeriesVAE.load(tmp_path / "level.tsvae")
    for fitted in (model, loaded):
        for level in [*LEVELS, 0.1 + 0.2, 1 / 3]:
            out = fitted.generate(3, conditions={"level": level}, random_state=0)
            assert out["level"].tolist() == [level] * len(out)
            assert out["level"].dtype == np.float64
        drawn = fitted.generate(40, method="posterior", random_state=0)["level"]
        assert drawn.dtype == np.float64 and set(drawn) <= set(LEVELS), set(drawn)
        rows = pd.DataFrame({"level": [0.0, 7.3]})
        assert fitted.generate(conditions=rows, random_state=0).groupby("sample")[
            "level"].first().tolist() == [0.0, 7.3]
    # The kept training values and dtype are checked as every field of a file is.
    for key, value, says in [("levels", {"level": ["x"]}, "conditions.levels['level']"),
                             ("dtypes", {"level": "object"}, "conditions.dtypes['level']")]:
        with zipfile.ZipFile(tmp_path / "level.tsvae") as source, zipfile.ZipFile(
                tmp_path / "bad.tsvae", "w") as out:
            for name in source.namelist():
                data = source.read(name)
                if name == "model.json":
                    meta = json.loads(data)
                    meta["conditions"][key] = value
                    data = json.dumps(meta).encode()
                out.writestr(name, data)
        with pytest.raises(ValueError, match="not a valid tsvae model file") as info:
            tsvae.TimeSeriesVAE.load(tmp_path / "bad.tsvae")
        assert says in str(info.value)


def test_numeric_condition_keeps_its_dtype_in_series(numeric_condition_frames):
    """A float32 condition comes back float32 (its value as that column held it), in
    generate and generate_series."""
    _, frame32 = numeric_condition_frames
    model = tiny_model(n_past=6, n_future=2, max_epochs=1, hidden_size=8, latent_dim=2).fit(
        frame32, id_col="unit", condition_cols=["level"])
    series = model.generate_series(4, conditions={"level": 0.1}, random_state=0)
    assert series["level"].dtype == np.float32
    assert (series["level"] == np.float32(0.1)).all()
    out = model.generate(5, conditions={"level": 0.0}, random_state=0)
    assert out["level"].dtype == np.float32 and (out["level"] == 0.0).all()
    drawn = model.generate(20, method="posterior", random_state=0)["level"]
    assert drawn.dtype == np.float32
    assert set(drawn) <= set(np.float32(LEVELS).tolist()), set(drawn)


def test_condition_encoder_decodes_training_values_in_their_dtype():
    """Codes decode back to the exact training values and dtypes: an integer attribute
    with more than 20 values (a number, not a category) stays an integer."""
    from tsvae.data.conditions import ConditionEncoder

    train = pd.DataFrame({"size": np.arange(100, 160, 2, dtype=np.int64),
                          "temp": np.tile(np.linspace(-3.3, 12.1, 15), 2),
                          "weight": np.tile(np.linspace(0, 1, 15, dtype=np.float32), 2)})
    encoder = ConditionEncoder().fit(train)
    assert "temp" in encoder.levels
    back = encoder.inverse_transform(encoder.transform(train))
    pd.testing.assert_frame_equal(back, train, check_exact=True)
    again = ConditionEncoder.from_dict(encoder.to_dict())
    pd.testing.assert_frame_equal(again.inverse_transform(again.transform(train)), train,
                                  check_exact=True)
    # Asked-for values: the training dtype where it holds them.
    assert encoder.values({"size": 102, "temp": 0.1, "weight": 0.5}).dtypes.tolist() == [
        np.int64, np.float64, np.float32]
    assert encoder.values({"size": 102.5, "temp": 0, "weight": 0.5})["size"].tolist() == [
        102.5]
    # A state saved before dtypes and training values were kept: float64, each value the
    # shortest decimal of its code.
    old = ConditionEncoder.from_dict({k: v for k, v in encoder.to_dict().items()
                                      if k not in ("dtypes", "levels")})
    assert old.inverse_transform(old.transform(train))["size"].tolist() == list(
        np.arange(100.0, 160.0, 2.0))
    # More distinct values than are kept: decimals come back as written.
    many = pd.DataFrame({"load": np.arange(-1500, 1500) / 10})
    encoder = ConditionEncoder().fit(many)
    assert "load" not in encoder.levels
    assert (encoder.inverse_transform(encoder.transform(many))["load"] == many["load"]).all()


def test_asked_numbers_keep_their_value_beyond_what_the_training_dtype_holds():
    """An asked-for number comes back exactly: an integer beyond 2**53 in an int64 column
    (not rounded through float64), and a number a float32 column cannot hold (1e300 would
    be inf, 1e-300 zero) as float64."""
    from tsvae.data.conditions import ConditionEncoder

    train = pd.DataFrame({"size": np.arange(30, dtype=np.int64) * 10**14,
                          "weight": np.linspace(0, 1, 30, dtype=np.float32)})
    encoder = ConditionEncoder().fit(train)
    asked = encoder.values(pd.DataFrame({"size": [2**53 + 1, 2**63 - 1], "weight": [0.5, 0.25]}))
    assert asked["size"].dtype == np.int64
    assert asked["size"].tolist() == [2**53 + 1, 2**63 - 1]  # were 2**53 and a float 2**63
    assert encoder.values({"size": 2**64, "weight": 0.5})["size"].tolist() == [2.0**64]
    for number in (1e300, 1e-300):
        weight = encoder.values({"size": 0, "weight": number})["weight"]
        assert weight.dtype == np.float64 and weight.tolist() == [number]  # were inf and 0.0
    kept = encoder.values({"size": 0, "weight": 0.1})["weight"]
    assert kept.dtype == np.float32 and kept.tolist() == [np.float32(0.1)]


def test_condition_values_near_the_float64_limits_are_encoded_apart_and_decode_back():
    """A numeric condition column of values like 1e300 or 1e-300: its standard deviation was
    inf (codes all 0, NaN decoded, the model unsavable) or 0 (read as 1: codes all 0)."""
    from tsvae.data.conditions import ConditionEncoder

    for scale in (1e300, 1e-300):
        train = pd.DataFrame({"v": np.arange(1.0, 31.0) * scale})
        encoder = ConditionEncoder().fit(train)
        assert np.isfinite(encoder.std["v"]) and encoder.std["v"] > 0
        codes = encoder.transform(train)
        assert len(np.unique(codes)) == 30
        back = encoder.inverse_transform(codes)["v"]
        np.testing.assert_allclose(back, train["v"], rtol=1e-6)


def test_large_numbers_decode_to_their_shortest_decimal():
    """Beyond the kept training values, a code decodes to the shortest decimal that encodes
    to it: 7e14, not 699999996669469."""
    from tsvae.data.conditions import ConditionEncoder

    train = pd.DataFrame({"size": np.arange(30, dtype=np.int64) * 10**14})
    encoder = ConditionEncoder().fit(train)
    assert "size" not in encoder.levels
    back = encoder.inverse_transform(encoder.transform(train))
    pd.testing.assert_frame_equal(back, train, check_exact=True)

"""Hostile and careless inputs to fit, generate and evaluate: each case's exact outcome.

The model-file and CLI-output cases live in test_model_files.py and test_cli_outputs.py.
"""

import re
import signal

import numpy as np
import pandas as pd
import pytest
from pytorch_lightning.callbacks import Callback
from sklearn.exceptions import NotFittedError

import tsvae
from tests.conftest import tiny_model
from tsvae.data.long_format import windows_to_frame
from tsvae.generation import budget
from tsvae.model import TrainingDivergedError


@pytest.fixture(scope="module")
def frame():
    return tsvae.datasets.load_energy().iloc[:300, :3].copy()


@pytest.fixture(scope="module")
def model(frame):
    return tiny_model(max_epochs=1).fit(frame)


def fitted_state(model) -> dict:
    return {k: v for k, v in vars(model).items() if k.endswith("_")}


# --------------------------------------------------------------- diverged or untrained models
def test_a_model_that_blows_up_on_its_last_step_is_refused(frame):
    # The loss before each step is finite; the one step makes the weights explode.
    diverging = tiny_model(learning_rate=1e30, batch_size=512, max_epochs=1)
    with pytest.raises(TrainingDivergedError, match="diverged"):
        diverging.fit(frame)
    with pytest.raises(NotFittedError):
        diverging.generate(2)


def test_a_blow_up_without_validation_is_caught_by_the_reconstructions(frame):
    with pytest.raises(TrainingDivergedError, match="diverged"):
        tiny_model(learning_rate=1e30, batch_size=512, max_epochs=1,
                   val_fraction=0.0).fit(frame)


def test_failed_refit_keeps_the_previous_model(frame, model):
    refit = tiny_model(max_epochs=1).fit(frame)
    before = fitted_state(refit)
    expected = refit.generate(4, as_array=True, random_state=0)
    other = frame.rename(columns=lambda c: f"{c}_other")
    refit.set_params(learning_rate=1e30, batch_size=512)
    with pytest.raises(TrainingDivergedError):
        refit.fit(other)
    assert fitted_state(refit).keys() == before.keys()
    assert all(fitted_state(refit)[k] is v for k, v in before.items())
    assert refit.columns_ == list(frame.columns)
    np.testing.assert_array_equal(refit.generate(4, as_array=True, random_state=0), expected)


def test_failure_after_training_leaves_no_fitted_state(frame, monkeypatch):
    from tsvae.generation.samplers import AggregateSampler

    def fail(self, latents):
        raise ValueError("mixture failed")

    monkeypatch.setattr(AggregateSampler, "fit", fail)
    fresh = tiny_model(max_epochs=1)
    with pytest.raises(ValueError, match="mixture failed"):
        fresh.fit(frame)
    assert fitted_state(fresh) == {}
    with pytest.raises(NotFittedError, match="not fitted"):
        fresh.generate(2)


@pytest.mark.parametrize("max_time", [0, -5, float("nan"), float("inf")])
def test_max_time_must_be_positive_and_finite(frame, max_time):
    with pytest.raises(ValueError, match="max_time must be a finite number > 0"):
        tiny_model(max_time=max_time).fit(frame)


def test_a_model_with_no_optimizer_step_is_not_fitted(frame, monkeypatch):
    # Stop before the first batch, as a max_time spent on start-up would.
    class StopAtOnce(Callback):
        def on_train_start(self, trainer, pl_module):
            trainer.should_stop = True

    untrained = tiny_model(trainer_kwargs={"accelerator": "cpu", "callbacks": [StopAtOnce()]})
    with pytest.raises(RuntimeError, match="before the first optimizer step"):
        untrained.fit(frame)
    assert fitted_state(untrained) == {}


@pytest.mark.parametrize("callbacks", [5, [5], ["EarlyStopping"]])
def test_a_callback_that_is_not_a_callback_is_refused_before_training(frame, callbacks):
    model = tiny_model(trainer_kwargs={"accelerator": "cpu", "callbacks": callbacks})
    with pytest.raises(ValueError, match=r"trainer_kwargs\['callbacks'\] must hold "
                                         "pytorch_lightning Callback objects"):
        model.fit(frame)
    assert fitted_state(model) == {}


def test_ctrl_c_during_fit_is_a_keyboard_interrupt_and_ctrl_c_still_works(frame):
    class Interrupt(Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            raise KeyboardInterrupt

    handler = signal.getsignal(signal.SIGINT)
    model = tiny_model(trainer_kwargs={"accelerator": "cpu", "callbacks": [Interrupt()]})
    with pytest.raises(KeyboardInterrupt):
        model.fit(frame)
    assert signal.getsignal(signal.SIGINT) is handler  # Lightning had set SIG_IGN
    assert fitted_state(model) == {}


# --------------------------------------------------------------- generation
def test_huge_noise_scale_fails_instead_of_returning_nan(model):
    with pytest.raises(ValueError, match="non-finite values.*noise_scale"):
        model.generate(3, method="noisy_posterior", noise_scale=1e300)
    assert np.isfinite(model.generate(3, method="noisy_posterior", noise_scale=1e3,
                                      as_array=True)).all()


@pytest.mark.parametrize("as_array", [True, False])
def test_generate_refuses_what_cannot_fit_in_memory(model, as_array):
    with pytest.raises(ValueError, match=r"1,000,000,000 windows .* GiB of memory .* fewer"):
        model.generate(10**9, as_array=as_array)


def test_generate_series_refuses_what_cannot_fit_in_memory(frame):
    conditional = tiny_model(n_future=4, max_epochs=1).fit(frame)
    with pytest.raises(ValueError, match=r"1 series of 1,000,000,000 rows .* GiB .* context="):
        conditional.generate_series(10**9)


def test_the_memory_estimate_follows_the_available_memory(model, monkeypatch):
    monkeypatch.setattr(budget, "available_memory", lambda: 10_000)
    with pytest.raises(ValueError, match="50 windows"):
        model.generate(50, as_array=True)
    assert model.generate(5, as_array=True).shape == (5, 12, 3)


# --------------------------------------------------------------- parameters, checked up front
@pytest.mark.parametrize(("params", "message"), [
    ({"aggregate_components": 0}, "aggregate_components must be a positive integer"),
    ({"aggregate_components": 2.5}, "aggregate_components"),
    ({"aggregate_fit": "medians"}, "aggregate_fit='medians' is not known"),
    ({"alpha": "20"}, r"alpha must be a finite number > 0 \(or None\), got '20'"),
    ({"learning_rate": None}, "learning_rate must be a finite number > 0, got None"),
    ({"beta": float("inf")}, "beta must be a finite number >= 0"),
    ({"random_state": "0"}, "random_state must be"),
    ({"random_state": -1}, "random_state must be"),
    ({"random_state": 2**40}, "random_state must be an integer >= 0 and <= 4294967295"),
    ({"kl_warmup_epochs": -1}, "kl_warmup_epochs must be an integer >= 0"),
    ({"early_stopping_patience": -1}, "early_stopping_patience must be an integer >= 0"),
    ({"val_fraction": 1.0}, "val_fraction must be a finite number >= 0 and < 1"),
    ({"n_past": True}, "n_past must be a positive integer"),
    ({"progress_bar": "no"}, "progress_bar must be True or False"),
    ({"trainer_kwargs": ["cpu"]}, "trainer_kwargs must be a dict"),
])
def test_bad_parameters_fail_before_any_training(frame, params, message, monkeypatch):
    from tsvae import estimator

    def no_training(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(estimator, "run_training", no_training)
    with pytest.raises(ValueError, match=message):
        tiny_model(**params).fit(frame)


def test_max_time_beyond_a_year_is_refused(frame):
    with pytest.raises(ValueError, match="max_time must be at most"):
        tiny_model(max_time=1e308).fit(frame)


@pytest.mark.parametrize("name", ["enforce_bounds", "enforce_types", "snap_discrete"])
def test_schema_switches_must_be_booleans(frame, name):
    with pytest.raises(ValueError, match=f"{name} must be True or False, got 'no'"):
        tiny_model(**{name: "no"}).fit(frame)


def test_cli_boolean_flags_are_yes_no_switches():
    from tsvae.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["fit", "d.csv", "-o", "m.tsvae", "--no-enforce-bounds",
                              "--no-snap-discrete", "--enforce-types"])
    assert (args.enforce_bounds, args.snap_discrete, args.enforce_types) == (False, False, True)
    with pytest.raises(SystemExit):  # a switch takes no value
        parser.parse_args(["fit", "d.csv", "-o", "m.tsvae", "--enforce-bounds", "maybe"])


def test_one_training_window_is_refused_up_front(frame, monkeypatch):
    from tsvae import estimator

    monkeypatch.setattr(estimator, "run_training", lambda *a: pytest.fail("trained"))
    with pytest.raises(ValueError, match="gives 1 training window.*needs at least 2"):
        tiny_model(n_past=len(frame)).fit(frame)


# --------------------------------------------------------------- messages that say what is wrong
def test_all_nan_column_with_drop_names_the_column(frame):
    data = frame.assign(empty=np.nan)
    with pytest.raises(ValueError, match="Column 'empty' has no values at all"):
        tiny_model(missing="drop").fit(data)


def test_nat_in_the_time_index_is_called_missing_not_unsorted(frame):
    data = frame.copy()
    data.index = data.index.insert(5, pd.NaT)[: len(data)]
    with pytest.raises(ValueError, match=r"missing timestamp \(NaT\) at row 5"):
        tiny_model().fit(data)


def test_generate_before_fit_raises_not_fitted_error():
    with pytest.raises(NotFittedError, match="not fitted yet"):
        tiny_model().generate(3)
    assert issubclass(NotFittedError, ValueError)  # the CLI's one-line user error


# --------------------------------------------------------------- evaluate
def test_evaluate_refuses_duplicate_steps():
    windows = tsvae.datasets.make_sines(20, length=6, n_features=2, random_state=0)
    synthetic = windows_to_frame(windows, ["feature_0", "feature_1"])
    synthetic.loc[1, "step"] = 0
    with pytest.raises(ValueError, match="step 0 of sample 0 more than once"):
        tsvae.evaluate(windows, synthetic, checks=["marginal"], plots_in_report=False)


def test_identical_constant_data_passes():
    constant = np.ones((300, 12, 2))
    report = tsvae.evaluate(constant, constant.copy(), fast=True, plots_in_report=False)
    failed = report.table[~report.table["passed"]]
    assert failed.empty, failed[["check", "feature"]].to_string()
    assert {"minirocket", "feature_discriminative"} <= set(report.table["check"])


def test_checks_the_data_cannot_support_are_skipped_and_said():
    real = tsvae.datasets.make_sines(30, length=12, n_features=2, random_state=0)
    report = tsvae.evaluate(real, real[::-1].copy(), checks=["detection", "marginal"],
                            plots_in_report=False)
    assert set(report.meta["skipped"]) == {"minirocket", "feature_discriminative"}
    assert "Too few real windows (30)" in report.meta["skipped"]["minirocket"]
    assert "not run: feature_discriminative, minirocket" in repr(report)
    assert "Not run on this data" in report.to_html()
    assert set(report.table["group"]) == {"marginal"}


@pytest.mark.parametrize("steps", [1, 2])
def test_one_and_two_step_windows_run_what_they_can(steps):
    real = tsvae.datasets.make_sines(60, length=12, n_features=2, random_state=0)[:, :steps]
    other = tsvae.datasets.make_sines(60, length=12, n_features=2, random_state=1)[:, :steps]
    report = tsvae.evaluate(real, other, fast=True, plots_in_report=False)
    # (The predictive score, which also needs 2 steps, is opt-in: not in the default.)
    expected = {"minirocket", "feature_discriminative"} | (
        {"authenticity"} if steps == 1 else set())
    assert set(report.meta["skipped"]) == expected
    assert not expected & set(report.table["check"])


def test_duplicate_steps_with_duplicate_index_labels_are_refused():
    windows = tsvae.datasets.make_sines(20, length=6, n_features=2, random_state=0)
    frame = windows_to_frame(windows, ["feature_0", "feature_1"])
    with pytest.raises(ValueError, match="step 0 of sample 0 more than once"):
        tsvae.evaluate(windows, pd.concat([frame, frame.iloc[:1]]), checks=["marginal"],
                       plots_in_report=False)


@pytest.mark.parametrize("n_past", [0, -3, 2.5, True])
def test_evaluate_needs_a_positive_window_length(frame, n_past):
    with pytest.raises(ValueError, match="n_past must be a positive integer"):
        tsvae.evaluate(frame, frame, n_past=n_past, checks=["marginal"])


def test_evaluate_with_two_step_windows_runs_the_temporal_checks(frame):
    report = tsvae.evaluate(frame, frame, n_past=2, checks=["temporal"], fast=True,
                            plots_in_report=False)
    assert set(report.table["check"]) >= {"kpss", "adf", "acf"}


# --------------------------------------------------------------- the output schema at its edges
def test_integers_at_the_int64_limit_keep_their_sign():
    t = np.arange(200)
    data = pd.DataFrame({"top": np.full(200, 2**63 - 1, dtype=np.int64),
                         "unsigned": np.full(200, 2**64 - 1, dtype=np.uint64),
                         "near": 2**62 + (t % 3), "x": np.sin(t / 4)})
    out = tiny_model(max_epochs=1).fit(data).generate(3)
    assert out["top"].dtype == np.int64 and (out["top"] > 2**62).all()
    assert out["unsigned"].dtype == np.uint64 and (out["unsigned"] > 2**63).all()
    assert (out["near"] > 0).all()


def test_a_model_with_levels_that_collapse_in_float64_saves_and_loads(tmp_path):
    t = np.arange(200)
    data = pd.DataFrame({"big": 2**62 + (t % 3), "x": np.sin(t / 4)})
    path = tmp_path / "big.tsvae"
    tiny_model(max_epochs=1).fit(data).save(path)
    assert tsvae.TimeSeriesVAE.load(path).generate(2)["big"].dtype == np.int64


def test_start_names_its_column_without_clashing(frame):
    dated = frame.rename(columns={frame.columns[0]: "timestamp"})
    dated.index.name = None
    out = tiny_model(max_epochs=1).fit(dated).generate(2, start="2025-01-01")
    assert out.columns.is_unique
    assert out["timestamp_1"].dtype.kind == "M" and out["timestamp"].dtype.kind in "if"


def test_start_must_be_a_timestamp(model):
    with pytest.raises(ValueError, match="start=5 is not a timestamp"):
        model.generate(2, start=5)


@pytest.mark.parametrize("where", ["index", "time_col"])
def test_reserved_names_are_refused_for_the_time_index_too(frame, where):
    data = frame.copy()
    data.index.name = "sample"
    kwargs = {}
    if where == "time_col":
        data = data.reset_index()
        kwargs = {"time_col": "sample"}
    with pytest.raises(ValueError, match="Column 'sample' has a name tsvae reserves"):
        tiny_model(max_epochs=1).fit(data, **kwargs)


@pytest.mark.parametrize("seed", [-1, "0", 2**40])
def test_generate_names_a_bad_seed(model, seed):
    with pytest.raises(ValueError, match="random_state must be"):
        model.generate(2, random_state=seed)


@pytest.mark.parametrize("value", [["a", "b"], {"a": 1}, np.array(["a"])])
def test_a_condition_value_must_be_one_value(value):
    from tsvae.data.conditions import ConditionEncoder

    encoder = ConditionEncoder().fit(pd.DataFrame({"lab": ["a", "b", "a"]}))
    with pytest.raises(ValueError, match=r"conditions\['lab'\] must be one value .* got a "):
        encoder.transform({"lab": value})


# ------------------------------------------------------------ issue 31: evaluate edge cases
def test_an_empty_synthetic_frame_is_called_empty():
    windows = tsvae.datasets.make_sines(20, length=6, n_features=2, random_state=0)
    empty = windows_to_frame(windows, ["feature_0", "feature_1"]).iloc[:0]
    message = ("synthetic is empty (a frame with 0 rows); evaluate needs at least 10 windows "
               "on each side")
    with pytest.raises(ValueError, match=re.escape(message)):
        tsvae.evaluate(windows, empty, checks=["marginal"], plots_in_report=False)
    with pytest.raises(ValueError, match=re.escape("synthetic is empty (an array of shape "
                                                   "(0, 6, 2))")):
        tsvae.evaluate(windows, np.empty((0, 6, 2)), checks=["marginal"], plots_in_report=False)
    labelled = windows_to_frame(windows, ["feature_0", "feature_1"]).assign(lab="a")
    with pytest.raises(ValueError, match=re.escape(message)):
        tsvae.evaluate(labelled, labelled.iloc[:0], by="lab", checks=["marginal"],
                       plots_in_report=False)


@pytest.mark.parametrize("checks", [[], ()])
def test_an_empty_list_of_checks_says_which_exist(checks):
    windows = tsvae.datasets.make_sines(20, length=6, n_features=2, random_state=0)
    with pytest.raises(ValueError, match=r"checks is empty, so nothing would be evaluated; "
                                         r"pass None for the default checks, or names from "
                                         r"checks \['ks', .*groups \['detection', .*"
                                         r"the sets \['default', 'timegan'\]"):
        tsvae.evaluate(windows, windows.copy(), checks=checks, plots_in_report=False)


@pytest.mark.parametrize(("values", "reason"), [
    (lambda n: np.arange(n) % 25, "it holds 25 distinct values (at most 20 make classes)"),
    (lambda n: (np.arange(n) % 3) / 2, "it holds non-integer numbers (e.g. 0.5)"),
])
def test_evaluate_by_a_continuous_column_is_refused(monkeypatch, values, reason):
    from tsvae.evaluation import conditional

    def no_work(*args, **kwargs):
        raise AssertionError("the condition classifier was trained")

    monkeypatch.setattr(conditional, "condition_fidelity", no_work)
    windows = tsvae.datasets.make_sines(100, length=6, n_features=2, random_state=0)
    frame = windows_to_frame(windows, ["feature_0", "feature_1"])
    frame["level"] = np.repeat(values(100), 6)
    with pytest.raises(ValueError, match=re.escape(
            f"by='level' is a continuous column: {reason}, and by= runs the checks once per "
            "value. Pass a column of classes: bin it first")):
        tsvae.evaluate(frame, frame.copy(), by="level", checks=["marginal"],
                       plots_in_report=False)


def test_json_report_is_strict_json(tmp_path):
    import json

    windows = tsvae.datasets.make_sines(30, length=6, n_features=2, random_state=0)
    report = tsvae.evaluate(windows, windows[::-1].copy(), checks=["ks"], plots_in_report=False)
    report.meta["odd"] = [np.float32("nan"), np.inf, -np.inf]
    text = report.to_json(tmp_path / "r.json")

    def refuse(constant):
        raise AssertionError(f"bare {constant} in the JSON")

    parsed = json.loads(text, parse_constant=refuse)
    assert parsed == json.loads((tmp_path / "r.json").read_text(), parse_constant=refuse)
    assert parsed["key_figures"]["discriminative"] is None  # not run: was NaN
    assert parsed["meta"]["odd"] == [None, None, None]
    assert parsed["key_figures"]["ks_mean"] == pytest.approx(report.score("ks"))


def test_conditional_json_report_is_strict_json():
    import json

    from tsvae.evaluation.conditional import ConditionalReport

    table = pd.DataFrame({"lab": ["a"], "passed": [None], "pass_rate": [float("nan")]})
    report = ConditionalReport(table, {}, {"gap": float("nan"), "real_holdout_accuracy": 0.5})

    def refuse(constant):
        raise AssertionError(f"bare {constant} in the JSON")

    parsed = json.loads(report.to_json(), parse_constant=refuse)
    assert parsed["fidelity"] == {"gap": None, "real_holdout_accuracy": 0.5}
    assert parsed["conditions"] == [{"lab": "a", "passed": None, "pass_rate": None}]


# --------------------------------------------------------- issue 31: long series, DST starts
def test_a_long_series_logs_its_estimate_and_progress(frame, caplog, monkeypatch):
    from tsvae.generation import generate

    forecaster = tiny_model(n_future=4, max_epochs=1).fit(frame)
    monkeypatch.setattr(generate, "PROGRESS_SECONDS", 0.0, raising=False)  # any run is long
    with caplog.at_level("INFO", logger="tsvae.generation.generate"):
        out = forecaster.generate_series(200, random_state=0)
    assert len(out) == 200
    messages = [r.getMessage() for r in caplog.records
                if r.name == "tsvae.generation.generate"]
    assert re.fullmatch(r"generate_series: 200 rows x 1 series in 50 chunks; the first took "
                        r"\d+\.\d{3} s, about \d+\.\d s in all", messages[0]), messages
    progress = [m for m in messages[1:] if m.startswith("generate_series: ")]
    assert [m.split("%")[0] for m in progress] == [f"generate_series: {p}"
                                                   for p in range(10, 101, 10)], progress
    assert progress[-1].startswith("generate_series: 100% (50 of 50 chunks), about 0.0 s left")


def test_a_start_in_a_daylight_saving_gap_names_start():
    index = pd.date_range("2024-03-28", periods=120, freq="h", tz="Europe/Berlin")
    data = pd.DataFrame({"y": np.sin(np.arange(120) / 5), "x": np.cos(np.arange(120) / 7)},
                        index=index)
    berlin = tiny_model(max_epochs=1).fit(data)
    with pytest.raises(ValueError, match=re.escape(
            "start='2024-03-31 02:30' does not exist (the clocks skip it when daylight saving "
            "time starts) in the time zone 'Europe/Berlin'")) as info:
        berlin.generate(2, start="2024-03-31 02:30")
    assert "pick a local time that exists once, or pass a UTC timestamp" in str(info.value)
    assert "nonexistent" not in str(info.value)
    with pytest.raises(ValueError, match=re.escape(
            "start='2024-10-27 02:30' is ambiguous (it happens twice when daylight saving "
            "time ends) in the time zone 'Europe/Berlin'")):
        berlin.generate(2, start="2024-10-27 02:30")
    times = berlin.generate(2, start="2024-03-31 01:30")["timestamp"]
    assert str(times.iloc[1]) == "2024-03-31 03:30:00+02:00"  # the gap is skipped


def test_wide_data_beyond_memory_is_refused_before_training(monkeypatch):
    """Wide data: the training estimate (weights, Adam's moments, a batch of the likelihood
    head's outputs) is checked before any training, with the figure and what to do."""
    trained = []
    monkeypatch.setattr(budget, "available_memory", lambda: 200 * 2**20)
    monkeypatch.setattr("tsvae.estimator.run_training", lambda *a, **k: trained.append(1))
    wide = pd.DataFrame(np.random.default_rng(0).normal(size=(60, 2_000)),
                        columns=[f"c{i}" for i in range(2_000)])
    model = tsvae.TimeSeriesVAE(n_past=24, max_epochs=1, progress_bar=False)
    with pytest.raises(ValueError, match=r"Training a network of [\d,]+ parameters on batches "
                                         r"of 128 windows of 24 steps x 2000 features needs "
                                         r"about .* GiB .*fit fewer columns per model"):
        model.fit(wide)
    assert not trained and not hasattr(model, "vae_")

"""One command-line vocabulary (one seed flag, --x/--no-x switches, listed choices, help on
every argument, interrupts), and the commands that read their settings from a model file:
``tsvae check`` and ``tsvae evaluate --model``."""

from __future__ import annotations

import argparse
import json
import os
import signal
import time

import pandas as pd
import pytest
from conftest import tiny_model

import tsvae
from tsvae.cli import build_parser, main

COMMANDS = ("fit", "generate", "evaluate", "check", "compare", "demo")


def _subparsers(parser=None) -> dict:
    parser = parser or build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _run(capsys, *args):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


# ------------------------------------------------------------------ vocabulary
def test_one_seed_flag_with_the_old_name_as_alias():
    parser = build_parser()
    fit = parser.parse_args(["fit", "d.csv", "-o", "m.tsvae", "--seed", "3"])
    assert fit.random_state == 3
    assert parser.parse_args(["fit", "d.csv", "-o", "m", "--random-state", "4"]).random_state == 4
    for command in ("generate", "evaluate", "check", "compare"):
        positional = {"generate": ["m.tsvae", "-o", "x.csv"], "evaluate": ["r.csv", "s.csv"],
                      "check": ["m.tsvae", "r.csv"], "compare": ["m.tsvae", "r.csv"]}[command]
        for flag in ("--seed", "--random-state"):
            assert parser.parse_args([command, *positional, flag, "5"]).seed == 5, (command,
                                                                                    flag)


def test_every_switch_is_a_yes_no_pair():
    for name, sub in _subparsers().items():
        for action in sub._actions:
            if action.nargs == 0 and not isinstance(action, argparse._HelpAction):
                assert isinstance(action, argparse.BooleanOptionalAction), (name,
                                                                            action.dest)
    args = build_parser().parse_args(["fit", "d.csv", "-o", "m", "--no-enforce-bounds",
                                      "--snap-discrete", "--no-progress"])
    assert (args.enforce_bounds, args.snap_discrete, args.progress) == (False, True, False)
    args = build_parser().parse_args(["evaluate", "r.csv", "s.csv", "--fast", "--no-fast"])
    assert args.fast is False


def test_choices_are_listed_and_match_the_estimator():
    from tsvae.data.scaling import SCALERS
    from tsvae.data.validate import MISSING_POLICIES
    from tsvae.generation.samplers import FIT_TO
    from tsvae.nn import ARCHITECTURES

    fit = _subparsers()["fit"]
    expected = {"architecture": set(ARCHITECTURES), "scaler": set(SCALERS),
                "missing": set(MISSING_POLICIES), "aggregate_fit": set(FIT_TO)}
    for action in fit._actions:
        if action.dest in expected:
            assert set(action.choices) == expected.pop(action.dest)
    assert not expected
    text = fit.format_help()
    assert "--architecture {lstm,conv}" in text
    assert "--missing {error,interpolate,ffill,drop}" in text
    for command in ("generate", "check"):
        assert "--method {aggregate,prior,posterior,noisy_posterior}" in _subparsers()[
            command].format_help()
    with pytest.raises(SystemExit):
        build_parser().parse_args(["fit", "d.csv", "-o", "m", "--architecture", "gru"])


def test_a_value_outside_the_choices_names_them(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["generate", "m.tsvae", "-n", "5", "--method", "magic", "-o", "x.csv"])
    assert stop.value.code == 2
    assert ("invalid choice: 'magic' (choose from 'aggregate', 'prior', 'posterior', "
            "'noisy_posterior')") in capsys.readouterr().err


def test_every_argument_has_a_help_line():
    for name, sub in _subparsers().items():
        for action in sub._actions:
            assert action.help and action.help != argparse.SUPPRESS, (name, action.dest)


def test_interrupt_turned_into_a_library_error_says_interrupted(monkeypatch, capsys,
                                                                   tmp_path):
    """numba, compiling MiniRocket's kernels, turns Ctrl-C into an error of its own."""
    from tsvae.evaluation.evaluate import CHECKS

    class CompilerError(Exception):
        pass

    def interrupted_compile(data, options):
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)  # the CLI's handler raises KeyboardInterrupt here
        except KeyboardInterrupt:
            raise CompilerError("Failed in nopython mode pipeline") from None
        return []

    monkeypatch.setattr(CHECKS["ks"], "run", interrupted_compile)
    real = tsvae.datasets.make_sines(40, length=8, n_features=2, random_state=0)
    frame = pd.DataFrame(real.reshape(-1, 2), columns=["a", "b"])
    frame.insert(0, "step", list(range(8)) * 40)
    frame.insert(0, "sample", [i // 8 for i in range(320)])
    path = tmp_path / "w.csv"
    frame.to_csv(path, index=False)
    code, _, err = _run(capsys, "evaluate", path, path, "--checks", "ks")
    assert code == 130
    assert "tsvae: interrupted" in err and "Traceback" not in err


def test_interrupt_while_reading_the_arguments_says_interrupted(monkeypatch, capsys):
    import tsvae.cli

    def parser():
        raise KeyboardInterrupt

    monkeypatch.setattr(tsvae.cli, "build_parser", parser)
    code, _, err = _run(capsys, "fit", "--help")
    assert code == 130 and "tsvae: interrupted" in err


# ------------------------------------------------------------- settings from the model
@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("check")
    frame = tsvae.datasets.load_etth1().iloc[:500].reset_index()
    frame.to_csv(folder / "etth.csv", index=False)
    model = tiny_model(max_epochs=1).fit(frame, time_col="date")
    model.save(folder / "m.tsvae")
    return folder


def test_check_samples_and_evaluates_with_the_models_settings(fitted, capsys, caplog):
    page, summary = fitted / "check.html", fitted / "check.json"
    code, out, err = _run(capsys, "check", fitted / "m.tsvae", fitted / "etth.csv",
                          "--method", "aggregate", "-n", 40, "--fast", "--checks", "marginal",
                          "--report", page, "--json", summary, "--seed", 2, "--fail-on-fail")
    result = json.loads(summary.read_text())
    assert code == (0 if result["passed"] else 1), err
    assert result["meta"]["synthetic_windows"] == 40 and result["meta"]["steps"] == 12
    assert result["meta"]["method"] == "aggregate" and result["meta"]["generation_seed"] == 2
    inputs = result["meta"]["inputs"]
    assert inputs["model"]["file"] == "m.tsvae" and len(inputs["model"]["sha256"]) == 64
    assert inputs["real data"]["bytes"] == (fitted / "etth.csv").stat().st_size
    assert "EvaluationReport(" in out and page.read_text().startswith("<!DOCTYPE html>")
    # not interactive: every check logs its start and its time (at INFO, which the CLI shows)
    assert "running check ks (marginal), 1 of 3" in caplog.text
    assert "check ks done in" in caplog.text


def test_check_errors_are_one_line_exit_2(fitted, capsys):
    frame = pd.read_csv(fitted / "etth.csv").drop(columns=["OT"])
    frame.to_csv(fitted / "less.csv", index=False)
    code, _, err = _run(capsys, "check", fitted / "m.tsvae", fitted / "less.csv", "--fast")
    assert code == 2 and "The real data has no column 'OT'" in err
    assert len(err.strip().splitlines()) == 1


def test_evaluate_reads_window_length_and_time_column_from_the_model(fitted, capsys):
    model = tsvae.TimeSeriesVAE.load(fitted / "m.tsvae")
    model.generate(30, random_state=0).to_csv(fitted / "synth.csv", index=False)
    summary = fitted / "eval.json"
    code, _, err = _run(capsys, "evaluate", fitted / "etth.csv", fitted / "synth.csv",
                        "--model", fitted / "m.tsvae", "--fast", "--checks", "marginal",
                        "--json", summary)
    assert code == 0, err
    meta = json.loads(summary.read_text())["meta"]
    assert (meta["steps"], meta["real_windows"]) == (12, 500 - 12 + 1)
    assert set(meta["inputs"]) == {"real data", "synthetic data", "model"}


def test_check_of_a_conditional_model_draws_the_real_conditions_and_checks_per_value(
        tmp_path, capsys):
    frame = tsvae.datasets.load_energy().iloc[:1500, :3]
    frame["weekend"] = frame.index.dayofweek >= 5
    frame = frame.reset_index()
    frame.to_csv(tmp_path / "energy.csv", index=False)
    model = tiny_model(max_epochs=1).fit(frame, time_col="date", condition_cols=["weekend"])
    model.save(tmp_path / "c.tsvae")
    summary = tmp_path / "c.json"
    code, out, err = _run(capsys, "check", tmp_path / "c.tsvae", tmp_path / "energy.csv",
                          "-n", 80, "--fast", "--checks", "marginal", "--json", summary)
    assert code == 0, err
    result = json.loads(summary.read_text())
    assert "ConditionalReport" in out and "real_holdout_accuracy" in result["fidelity"]
    assert {row["weekend"] for row in result["conditions"]} == {False, True}

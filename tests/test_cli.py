"""The command-line tool end to end, through subprocess, on a slice of real data."""

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tsvae

ENV = {**os.environ, "PYTHONWARNINGS": "ignore"}


def run_inprocess(capsys, *args):
    """Run the CLI in this process (fast); returns (exit code, stdout, stderr)."""
    from tsvae.cli import main

    try:
        code = main([str(a) for a in args])
    except SystemExit as exit_:
        code = exit_.code
    out = capsys.readouterr()
    return code, out.out, out.err


def run(*args, check=True):
    result = subprocess.run([sys.executable, "-m", "tsvae.cli", *map(str, args)],
                            capture_output=True, text=True, env=ENV, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    frame = tsvae.datasets.load_etth1().iloc[:800].reset_index()
    frame.to_csv(folder / "etth.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def model_file(workdir):
    out = workdir / "m.tsvae"
    run("fit", workdir / "etth.csv", "--time-col", "date", "--n-past", 12, "--max-epochs", 2,
        "--hidden-size", 8, "--latent-dim", 3, "--random-state", 0, "--no-progress", "-o", out)
    return out


def test_fit_generate_evaluate(workdir, model_file):
    synth = workdir / "synth.csv"
    run("generate", model_file, "-n", 200, "--method", "aggregate", "--seed", 1, "-o", synth)
    frame = pd.read_csv(synth)
    assert list(frame.columns[:2]) == ["sample", "step"] and len(frame) == 200 * 12
    again = workdir / "again.parquet"
    run("generate", model_file, "-n", 200, "--method", "aggregate", "--seed", 1, "-o", again)
    pd.testing.assert_frame_equal(pd.read_parquet(again), frame)

    report, summary = workdir / "report.html", workdir / "summary.json"
    result = run("evaluate", workdir / "etth.csv", synth, "--time-col", "date", "--n-past", 12,
                 "--fast", "--checks", "marginal", "acf", "--report", report, "--json", summary,
                 "--no-progress")
    assert "EvaluationReport" in result.stdout
    assert report.read_text().startswith("<!DOCTYPE html>")
    assert '"passed"' in summary.read_text()


def test_fail_on_fail_sets_exit_code(workdir):
    real = workdir / "etth.csv"
    noise = tsvae.datasets.load_etth1().iloc[:800].reset_index()
    noise.iloc[:, 1:] = noise.iloc[:, 1:].sample(frac=1.0, random_state=0).to_numpy()
    noise.to_csv(workdir / "shuffled.csv", index=False)
    result = run("evaluate", real, workdir / "shuffled.csv", "--time-col", "date", "--n-past",
                 12, "--fast", "--checks", "temporal", "--fail-on-fail", "--no-progress",
                 check=False)
    assert result.returncode == 1, result.stderr


def test_series_generation_from_conditional_model(workdir, capsys):
    out = workdir / "c.tsvae"
    # Continuing the training series needs its last rows, kept only when asked for.
    # In this process: the subprocess path is covered by test_fit_generate_evaluate.
    code, _, err = run_inprocess(
        capsys, "fit", workdir / "etth.csv", "--time-col", "date", "--n-past", 12,
        "--n-future", 4, "--max-epochs", 1, "--hidden-size", 8, "--no-progress",
        "--keep-training-data", "-o", out)
    assert code == 0, err
    code, _, err = run_inprocess(capsys, "generate", out, "--series-length", 30, "--seed", 0,
                                 "-o", workdir / "series.csv")
    assert code == 0, err
    series = pd.read_csv(workdir / "series.csv", index_col=0, parse_dates=True)
    assert len(series) == 30 and series.index[0] == pd.Timestamp("2016-08-03 08:00:00")
    plain = workdir / "plain.tsvae"
    code, _, err = run_inprocess(
        capsys, "fit", workdir / "etth.csv", "--time-col", "date", "--n-past", 12,
        "--n-future", 4, "--max-epochs", 1, "--hidden-size", 8, "--no-progress", "-o", plain)
    assert code == 0, err
    code, _, err = run_inprocess(capsys, "generate", plain, "--series-length", 30,
                                 "-o", workdir / "none.csv")
    assert code == 2 and "keep_training_data=True" in err and "--context FILE" in err
    # The past to continue given as a file: the series starts after its last row.
    code, _, err = run_inprocess(capsys, "generate", plain, "--series-length", 30, "--context",
                                 workdir / "etth.csv", "--seed", 0, "-o",
                                 workdir / "continued.csv")
    assert code == 0, err
    continued = pd.read_csv(workdir / "continued.csv", index_col=0, parse_dates=True)
    assert len(continued) == 30 and continued.index[0] == pd.Timestamp("2016-08-03 08:00:00")
    code, _, err = run_inprocess(capsys, "generate", plain, "-n", 5, "--context",
                                 workdir / "etth.csv", "-o", workdir / "windows.csv")
    assert code == 0, err
    assert len(pd.read_csv(workdir / "windows.csv")) == 5 * 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["fit", "missing.csv", "-o", "x.tsvae"], "No such file"),
        (["fit", "{dir}/etth.csv", "--columns", "nope", "-o", "{dir}/x.tsvae"],
         "'nope' is not in the frame"),
        (["fit", "{dir}/etth.txt", "-o", "{dir}/x.tsvae"], "unsupported format"),
        (["fit", "{dir}/etth.csv", "-o", "{dir}/x.tsvae"], "not numeric"),
        (["generate", "{dir}/etth.csv", "-n", "5", "-o", "{dir}/o.csv"], "not a tsvae model"),
        (["generate", "{model}", "-n", "5", "--start", "soon", "-o", "{dir}/o.csv"],
         "start='soon' is not a timestamp"),
        (["generate", "{model}", "--series-length", "5", "--start", "2030-01-01", "-o",
          "{dir}/o.csv"], "Drop one of them"),
    ],
)
def test_user_errors_are_one_line_exit_2(workdir, model_file, args, message, capsys):
    (workdir / "etth.txt").write_text("x")
    args = [a.format(dir=workdir, model=model_file) for a in args]
    code, _, err = run_inprocess(capsys, *args, "--no-progress")
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_start_dates_the_windows(workdir, model_file, capsys):
    out = workdir / "dated.csv"
    code, _, err = run_inprocess(capsys, "generate", model_file, "-n", 3, "--seed", 0,
                                 "--start", "2030-01-01 05:00", "-o", out)
    assert code == 0, err
    frame = pd.read_csv(out, parse_dates=["date"])
    first = frame[frame["sample"] == 1]["date"]
    assert list(first) == list(pd.date_range("2030-01-01 05:00", periods=12, freq="h"))


def test_debug_shows_the_traceback(workdir, capsys):
    with pytest.raises(FileNotFoundError):
        run_inprocess(capsys, "--debug", "fit", "missing.csv", "-o", workdir / "x.tsvae")


def test_existing_output_is_not_clobbered(workdir, model_file, capsys):
    target = workdir / "keep.csv"
    target.write_text("precious\n")
    code, _, err = run_inprocess(capsys, "generate", model_file, "-n", 5, "-o", target)
    assert code == 2 and "--overwrite" in err
    assert target.read_text() == "precious\n"
    assert run_inprocess(capsys, "generate", model_file, "-n", 5, "-o", target,
                         "--overwrite")[0] == 0
    assert target.read_text().startswith("sample,step")


def test_pickle_payload_is_refused_and_never_executed(workdir, capsys):
    marker = workdir / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    raw = workdir / "evil.tsvae"
    raw.write_bytes(pickle.dumps(Payload()))
    import torch

    zipped = workdir / "evil_torch.tsvae"
    torch.save({"x": Payload()}, zipped)  # torch's zip format with a pickled data.pkl
    # One through a fresh CLI process, one in this process (the same code, seconds faster).
    result = run("generate", raw, "-n", 5, "-o", workdir / "o.csv", check=False)
    assert result.returncode == 2 and "not a tsvae model" in result.stderr
    code, _, err = run_inprocess(capsys, "generate", zipped, "-n", 5, "-o", workdir / "o.csv")
    assert code == 2 and "not a tsvae model" in err
    for path in (raw, zipped):
        with pytest.raises(ValueError, match="not a tsvae model"):
            tsvae.TimeSeriesVAE.load(path)
    assert not marker.exists()


def _rewritten(model_file, target, edit_meta, edit_arrays=None):
    """A copy of ``model_file`` with its model.json (and arrays) passed through edits."""
    import json
    import zipfile

    from safetensors.numpy import load, save

    with zipfile.ZipFile(model_file) as src, zipfile.ZipFile(target, "w") as dst:
        meta = json.loads(src.read("model.json"))
        edit_meta(meta)
        for name in src.namelist():
            data = src.read(name)
            if name == "model.json":
                data = json.dumps(meta).encode()
            if name == "arrays.safetensors" and edit_arrays is not None:
                data = save(edit_arrays(load(data), meta))
            dst.writestr(name, data)
    return target


def test_newer_format_is_refused(workdir, model_file):
    newer = _rewritten(model_file, workdir / "newer.tsvae",
                       lambda meta: meta.update(format_version=99))
    with pytest.raises(ValueError, match="newer than this tsvae"):
        tsvae.TimeSeriesVAE.load(newer)


def test_format_1_file_with_ar1_noise_still_loads(workdir):
    def as_format_1(meta):
        meta["format_version"] = 1
        del meta["params"]["noise_lags"]  # a parameter format 1 did not have

    def ar1_noise(arrays, meta):
        arrays = {k: v for k, v in arrays.items() if not k.startswith("noise_")}
        n_features = max(meta["feature_map"]) + 1
        arrays["noise_phi"] = np.full(n_features, 0.5)
        arrays["noise_innovation_cov"] = 0.01 * np.eye(n_features)
        return arrays

    # From a file with the format 1-2 weight layout (the LSTM decoder without step positions).
    format_2 = Path(__file__).parent / "data" / "format2_lstm.tsvae"
    older = _rewritten(format_2, workdir / "format1.tsvae", as_format_1, ar1_noise)
    model = tsvae.TimeSeriesVAE.load(older)
    noisy = model.generate(2000, random_state=0, as_array=True)
    mean = model.generate(2000, random_state=0, as_array=True, observation_noise=False)
    # AR(1) with phi 0.5 and innovation variance 0.01: stationary std 0.115 (scaled units).
    residual = (noisy - mean) / model.scaler_.scale_
    np.testing.assert_allclose(residual.std(axis=(0, 1)), 0.1 / np.sqrt(0.75), rtol=0.1)


def test_format_2_lstm_file_decodes_as_it_did(tmp_path):
    """A file written before the LSTM decoder read step positions (tsvae 0.x, format 2) loads
    and decodes the same windows that tsvae wrote down when it saved the file."""
    data = Path(__file__).parent / "data"
    model = tsvae.TimeSeriesVAE.load(data / "format2_lstm.tsvae")
    means = model.generate(4, method="prior", random_state=0, as_array=True,
                           observation_noise=False)
    expected = np.loadtxt(data / "format2_lstm_prior_means.csv", delimiter=",")
    np.testing.assert_allclose(means.reshape(len(means), -1), expected, rtol=1e-5, atol=1e-6)
    # Its generation pastes stored residuals: it is not written again in the current format.
    with pytest.raises(ValueError, match="format 5 or older.*Refit it"):
        model.save(tmp_path / "format6.tsvae")
    assert not (tmp_path / "format6.tsvae").exists()


def test_config_file_and_help(workdir, capsys):
    config = workdir / "params.yaml"
    config.write_text("n_past: 12\nmax_epochs: 1\nhidden_size: 8\nbogus: 1\n")
    code, _, err = run_inprocess(capsys, "fit", workdir / "etth.csv", "--time-col", "date",
                                 "--config", config, "-o", workdir / "cfg.tsvae")
    assert code == 2 and "'bogus'" in err
    config.write_text("n_past: 12\nmax_epochs: 1\nhidden_size: 8\nlatent_dim: 2\n")
    code, out, err = run_inprocess(capsys, "fit", workdir / "etth.csv", "--time-col", "date",
                                   "--config", config, "--max-epochs", "2", "--no-progress",
                                   "-o", workdir / "cfg.tsvae")
    assert code == 0, err
    loaded = tsvae.TimeSeriesVAE.load(workdir / "cfg.tsvae")
    assert (loaded.latent_dim, loaded.max_epochs, loaded.n_past) == (2, 2, 12)
    for command in ("fit", "generate", "evaluate", "compare", "demo"):
        code, out, _ = run_inprocess(capsys, command, "--help")
        assert code == 0 and "Example:" in out


def test_estimator_defaults_are_not_repeated_in_the_cli(capsys):
    code, out, _ = run_inprocess(capsys, "fit", "--help")
    import inspect

    for name, param in inspect.signature(tsvae.TimeSeriesVAE.__init__).parameters.items():
        if name in ("self", "trainer_kwargs", "progress_bar"):
            continue
        assert f"--{name.replace('_', '-')}" in out
        assert f"default: {param.default!r}" in out


def test_conditional_fit_generate_evaluate(workdir, capsys):
    frame = pd.read_csv(workdir / "etth.csv")
    frame["weekend"] = pd.to_datetime(frame["date"]).dt.dayofweek >= 5
    data = workdir / "etth_weekend.parquet"
    frame.to_parquet(data)
    model = workdir / "cond.tsvae"
    code, out, err = run_inprocess(
        capsys, "fit", data, "--time-col", "date", "--condition-cols", "weekend",
        "--n-past", 12, "--max-epochs", 2, "--hidden-size", 8, "--latent-dim", 3,
        "--random-state", 0, "--no-progress", "--keep-training-data", "-o", model)
    assert code == 0, err
    synth = workdir / "weekend.csv"
    code, out, err = run_inprocess(capsys, "generate", model, "-n", 50, "--condition",
                                   "weekend=True", "--seed", 0, "-o", synth)
    assert code == 0, err
    assert set(pd.read_csv(synth)["weekend"]) == {True}
    code, out, err = run_inprocess(capsys, "generate", model, "-n", 5, "--condition",
                                   "weekend=maybe", "-o", workdir / "bad.csv")
    assert code == 2 and "allowed values are ['False', 'True']" in err
    mixed = workdir / "mixed.csv"
    code, out, err = run_inprocess(capsys, "generate", model, "-n", 60, "--method",
                                   "posterior", "--seed", 0, "-o", mixed)
    assert code == 0, err  # posterior without data: the codes kept by --keep-training-data
    summary, page = workdir / "by.json", workdir / "by.html"
    code, out, err = run_inprocess(capsys, "evaluate", data, mixed, "--time-col", "date",
                                   "--n-past", 12, "--by", "weekend", "--fast", "--checks",
                                   "marginal", "--json", summary, "--report", page,
                                   "--no-progress")
    assert code == 0, err
    assert "ConditionalReport" in out and "real_holdout_accuracy" in summary.read_text()
    text = page.read_text()
    assert text.startswith("<!DOCTYPE html>") and "Condition True" in text
    assert "http://" not in text and "https://" not in text
